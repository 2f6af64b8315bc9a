package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/matcher"
)

// Metadata is Astra's resource metadata, set by the server.
type Metadata struct {
	Labels                []events.Label `json:"labels"`
	CreationTimestamp     string         `json:"creationTimestamp"`
	ModificationTimestamp string         `json:"modificationTimestamp"`
	CreatedBy             string         `json:"createdBy"`
	ModifiedBy            string         `json:"modifiedBy,omitempty"`
}

// Timestamp formats t as Astra's type_astra_time.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// touch sets creation fields on a new record and modification fields always.
func (m *Metadata) touch(now time.Time, by string) {
	ts := Timestamp(now)
	if m.CreationTimestamp == "" {
		m.CreationTimestamp, m.CreatedBy = ts, by
	}
	if m.Labels == nil {
		m.Labels = []events.Label{}
	}
	m.ModificationTimestamp = ts
	if by != m.CreatedBy {
		m.ModifiedBy = by
	}
}

// HookRecord is a stored execution hook.
type HookRecord struct {
	Hook     matcher.ExecutionHook `json:"hook"`
	Metadata Metadata              `json:"metadata"`
}

// SourceRecord is a stored hook source.
type SourceRecord struct {
	Source   executor.HookSource `json:"source"`
	Metadata Metadata            `json:"metadata"`
}

// App is a registered application and its container inventory: what hooks
// are matched against when a lifecycle event carries no inventory.
type App struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Containers []events.Container `json:"containers"`
	Metadata   Metadata           `json:"metadata"`
}

// Override enables or disables an execution hook (of type netapp) for one
// app: Astra's executionHookOverride.
type Override struct {
	ID              string   `json:"id"`
	AppID           string   `json:"appID"`
	ExecutionHookID string   `json:"executionHookID"`
	Enabled         string   `json:"enabled"`
	Metadata        Metadata `json:"metadata"`
}

// Store is the JetStream KV store of sources, hooks and apps.
type Store struct {
	Sources   collection[SourceRecord]
	Hooks     collection[HookRecord]
	Apps      collection[App]
	Overrides collection[Override]
	names     jetstream.KeyValue
	now       func() time.Time
}

// Open binds the store to the provisioned buckets (see events.Provision).
func Open(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	s := &Store{now: time.Now}
	for _, b := range []struct {
		name string
		kv   *jetstream.KeyValue
	}{
		{events.BucketSources, &s.Sources.kv},
		{events.BucketHooks, &s.Hooks.kv},
		{events.BucketApps, &s.Apps.kv},
		{events.BucketOverrides, &s.Overrides.kv},
		{events.BucketNames, &s.names},
	} {
		kv, err := js.KeyValue(ctx, b.name)
		if err != nil {
			return nil, fmt.Errorf("open bucket %s (is it provisioned?): %w", b.name, err)
		}
		*b.kv = kv
	}
	s.Sources.kind, s.Hooks.kind, s.Apps.kind, s.Overrides.kind = "hook source", "execution hook", "app", "execution hook override"
	return s, nil
}

// NewID returns a fresh Astra identifier (UUIDv4).
func NewID() string { return uuid.NewString() }

// Resource kinds, as used in name reservations.
const (
	KindSource = "source"
	KindHook   = "hook"
	KindApp    = "app"
	// An override's "name" is its app and hook: one override per pair.
	KindOverride = "override"
)

// prepareSource validates src and fills what the server computes.
func prepareSource(src *executor.HookSource) error {
	src.ApplyDefaults()
	src.SourceMD5Checksum = ""
	src.Seal()
	if src.ID == "" {
		src.ID = NewID()
	}
	return src.Validate()
}

// CreateSource stores a new hook source; its name must be unique in the account.
func (s *Store) CreateSource(ctx context.Context, account string, rec SourceRecord, by string) (*Entry[SourceRecord], error) {
	if err := prepareSource(&rec.Source); err != nil {
		return nil, err
	}
	return create(ctx, s, &s.Sources, KindSource, account, rec.Source.ID, rec.Source.Name, &rec, by)
}

// UpdateSource replaces a hook source at revision rev (0: whatever is stored).
func (s *Store) UpdateSource(ctx context.Context, account string, rec SourceRecord, rev uint64, by string) (*Entry[SourceRecord], error) {
	if err := prepareSource(&rec.Source); err != nil {
		return nil, err
	}
	return update(ctx, s, &s.Sources, KindSource, account, rec.Source.ID, rec.Source.Name, &rec, rev, by,
		func(old *SourceRecord) string { return old.Source.Name })
}

// SaveSource creates or replaces a hook source (loading from files).
func (s *Store) SaveSource(ctx context.Context, account string, src executor.HookSource, by string) (*SourceRecord, error) {
	if err := prepareSource(&src); err != nil {
		return nil, err
	}
	e, err := s.UpdateSource(ctx, account, SourceRecord{Source: src}, 0, by)
	if errors.Is(err, ErrNotFound) {
		e, err = s.CreateSource(ctx, account, SourceRecord{Source: src}, by)
	}
	if err != nil {
		return nil, err
	}
	return &e.Value, nil
}

// DeleteSource removes a hook source at revision rev (0: any) unless an
// execution hook of the account refers to it (ErrReferenced).
func (s *Store) DeleteSource(ctx context.Context, account, id string, rev uint64) error {
	hooks, err := s.Hooks.List(ctx, account)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if h.Value.Hook.HookSourceID == id {
			return fmt.Errorf("hook source %s is used by execution hook %s: %w", id, h.ID, ErrReferenced)
		}
	}
	return remove(ctx, s, &s.Sources, KindSource, account, id, rev, func(r *SourceRecord) string { return r.Source.Name })
}

// prepareHook validates h, fills defaults and checks its source exists.
func (s *Store) prepareHook(ctx context.Context, account string, h *matcher.ExecutionHook) error {
	h.ApplyDefaults()
	if h.ID == "" {
		h.ID = NewID()
	}
	if err := h.Validate(); err != nil {
		return err
	}
	if _, err := s.Sources.Get(ctx, account, h.HookSourceID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return &matcher.ValidationError{Fields: []matcher.FieldError{{Field: "hookSourceID", Reason: "no hook source with this id in the account", Extended: true}}}
		}
		return err
	}
	return nil
}

// CreateHook stores a new execution hook; its name must be unique in the account.
func (s *Store) CreateHook(ctx context.Context, account string, rec HookRecord, by string) (*Entry[HookRecord], error) {
	if err := s.prepareHook(ctx, account, &rec.Hook); err != nil {
		return nil, err
	}
	return create(ctx, s, &s.Hooks, KindHook, account, rec.Hook.ID, rec.Hook.Name, &rec, by)
}

// UpdateHook replaces an execution hook at revision rev (0: whatever is stored).
func (s *Store) UpdateHook(ctx context.Context, account string, rec HookRecord, rev uint64, by string) (*Entry[HookRecord], error) {
	if err := s.prepareHook(ctx, account, &rec.Hook); err != nil {
		return nil, err
	}
	return update(ctx, s, &s.Hooks, KindHook, account, rec.Hook.ID, rec.Hook.Name, &rec, rev, by,
		func(old *HookRecord) string { return old.Hook.Name })
}

// SaveHook creates or replaces an execution hook (loading from files).
func (s *Store) SaveHook(ctx context.Context, account string, h matcher.ExecutionHook, by string) (*HookRecord, error) {
	if err := s.prepareHook(ctx, account, &h); err != nil {
		return nil, err
	}
	e, err := s.UpdateHook(ctx, account, HookRecord{Hook: h}, 0, by)
	if errors.Is(err, ErrNotFound) {
		e, err = s.CreateHook(ctx, account, HookRecord{Hook: h}, by)
	}
	if err != nil {
		return nil, err
	}
	return &e.Value, nil
}

// DeleteHook removes an execution hook at revision rev (0: any).
func (s *Store) DeleteHook(ctx context.Context, account, id string, rev uint64) error {
	return remove(ctx, s, &s.Hooks, KindHook, account, id, rev, func(r *HookRecord) string { return r.Hook.Name })
}

// prepareApp validates an app's inventory and sorts it.
func prepareApp(account string, app *App) error {
	if app.ID == "" {
		app.ID = NewID()
	}
	if n := len([]rune(app.Name)); n < 1 || n > 63 {
		return &matcher.ValidationError{Fields: []matcher.FieldError{{Field: "name", Reason: "must be 1 to 63 characters"}}}
	}
	ev := events.LifecycleEvent{RunID: "check", AccountID: account, AppID: app.ID, Action: events.ActionSnapshot, Stage: events.StagePre, Containers: app.Containers}
	if err := ev.Validate(); err != nil {
		var de *events.DecodeError
		if errors.As(err, &de) {
			ve := &matcher.ValidationError{}
			for _, f := range de.Fields {
				ve.Fields = append(ve.Fields, matcher.FieldError{Field: strings.TrimPrefix(f.Field, "data."), Reason: f.Reason})
			}
			return ve
		}
		return err
	}
	if app.Containers == nil {
		app.Containers = []events.Container{}
	}
	events.SortContainers(app.Containers)
	return nil
}

// CreateApp registers an app; its name must be unique in the account.
func (s *Store) CreateApp(ctx context.Context, account string, app App, by string) (*Entry[App], error) {
	if err := prepareApp(account, &app); err != nil {
		return nil, err
	}
	return create(ctx, s, &s.Apps, KindApp, account, app.ID, app.Name, &app, by)
}

// UpdateApp replaces an app at revision rev (0: whatever is stored).
func (s *Store) UpdateApp(ctx context.Context, account string, app App, rev uint64, by string) (*Entry[App], error) {
	if err := prepareApp(account, &app); err != nil {
		return nil, err
	}
	return update(ctx, s, &s.Apps, KindApp, account, app.ID, app.Name, &app, rev, by, func(old *App) string { return old.Name })
}

// SaveApp creates or replaces an app and its inventory (loading from files).
func (s *Store) SaveApp(ctx context.Context, account string, app App, by string) (*App, error) {
	if err := prepareApp(account, &app); err != nil {
		return nil, err
	}
	e, err := s.UpdateApp(ctx, account, app, 0, by)
	if errors.Is(err, ErrNotFound) {
		e, err = s.CreateApp(ctx, account, app, by)
	}
	if err != nil {
		return nil, err
	}
	return &e.Value, nil
}

// DeleteApp removes an app at revision rev (0: any).
func (s *Store) DeleteApp(ctx context.Context, account, id string, rev uint64) error {
	return remove(ctx, s, &s.Apps, KindApp, account, id, rev, func(a *App) string { return a.Name })
}

// prepareOverride checks an override: its hook must exist and be of type netapp.
func (s *Store) prepareOverride(ctx context.Context, account string, o *Override) error {
	if o.ID == "" {
		o.ID = NewID()
	}
	ve := &matcher.ValidationError{}
	if o.Enabled != matcher.EnabledTrue && o.Enabled != matcher.EnabledFalse {
		ve.Fields = append(ve.Fields, matcher.FieldError{Field: "enabled", Reason: `must be "true" or "false"`})
	}
	if !matcher.ValidIdentifier(o.ExecutionHookID) {
		ve.Fields = append(ve.Fields, matcher.FieldError{Field: "executionHookID", Reason: "must conform to the Astra Identifier Schema"})
	} else if h, err := s.Hooks.Get(ctx, account, o.ExecutionHookID); errors.Is(err, ErrNotFound) {
		ve.Fields = append(ve.Fields, matcher.FieldError{Field: "executionHookID", Reason: "no execution hook with this id in the account", Extended: true})
	} else if err != nil {
		return err
	} else if h.Value.Hook.HookType != matcher.HookTypeNetApp {
		ve.Fields = append(ve.Fields, matcher.FieldError{Field: "executionHookID", Reason: "only hooks of hookType netapp can be overridden", Extended: true})
	} else if h.Value.Hook.AppID != o.AppID {
		ve.Fields = append(ve.Fields, matcher.FieldError{Field: "executionHookID", Reason: "the hook belongs to another app", Extended: true})
	}
	if len(ve.Fields) > 0 {
		return ve
	}
	return nil
}

// CreateOverride stores a new override; one per app and hook.
func (s *Store) CreateOverride(ctx context.Context, account string, o Override, by string) (*Entry[Override], error) {
	if err := s.prepareOverride(ctx, account, &o); err != nil {
		return nil, err
	}
	return create(ctx, s, &s.Overrides, KindOverride, account, o.ID, o.AppID+"/"+o.ExecutionHookID, &o, by)
}

// UpdateOverride replaces an override at revision rev (0: whatever is stored).
func (s *Store) UpdateOverride(ctx context.Context, account string, o Override, rev uint64, by string) (*Entry[Override], error) {
	if err := s.prepareOverride(ctx, account, &o); err != nil {
		return nil, err
	}
	return update(ctx, s, &s.Overrides, KindOverride, account, o.ID, o.AppID+"/"+o.ExecutionHookID, &o, rev, by,
		func(old *Override) string { return old.AppID + "/" + old.ExecutionHookID })
}

// DeleteOverride removes an override at revision rev (0: any).
func (s *Store) DeleteOverride(ctx context.Context, account, id string, rev uint64) error {
	return remove(ctx, s, &s.Overrides, KindOverride, account, id, rev, func(o *Override) string { return o.AppID + "/" + o.ExecutionHookID })
}

// WatchOverrides is WatchHooks for overrides.
func (s *Store) WatchOverrides(ctx context.Context, fn func(account, id string, o *Override, rev uint64), ready func()) error {
	return s.Overrides.WatchRevisions(ctx, fn, ready)
}

// record is a stored resource type with Astra metadata.
type record[T any] interface {
	*T
	metadata() *Metadata
}

func (r *SourceRecord) metadata() *Metadata { return &r.Metadata }
func (r *HookRecord) metadata() *Metadata   { return &r.Metadata }
func (a *App) metadata() *Metadata          { return &a.Metadata }
func (o *Override) metadata() *Metadata     { return &o.Metadata }

// create reserves name, then stores v under a new id.
func create[T any, P record[T]](ctx context.Context, s *Store, c *collection[T], kind, account, id, name string, v P, by string) (*Entry[T], error) {
	if err := s.reserveName(ctx, kind, account, name, id); err != nil {
		return nil, err
	}
	meta := v.metadata()
	labels := meta.Labels
	*meta = Metadata{Labels: labels}
	meta.touch(s.now(), by)
	rev, err := c.Create(ctx, account, id, *v)
	if err != nil {
		s.releaseName(ctx, kind, account, name, id)
		return nil, err
	}
	return &Entry[T]{Account: account, ID: id, Value: *v, Revision: rev}, nil
}

// update replaces the value at rev (0: the current one), keeping creation
// metadata (and labels unless v sets some) and moving the name reservation
// when the name changed.
func update[T any, P record[T]](ctx context.Context, s *Store, c *collection[T], kind, account, id, name string, v P, rev uint64, by string, nameOf func(*T) string) (*Entry[T], error) {
	old, err := c.Get(ctx, account, id)
	if err != nil {
		return nil, err
	}
	if rev != 0 && rev != old.Revision {
		return nil, fmt.Errorf("%s %s is at revision %d, not %d: %w", kind, id, old.Revision, rev, ErrConflict)
	}
	oldName := nameOf(&old.Value)
	if oldName != name {
		if err := s.reserveName(ctx, kind, account, name, id); err != nil {
			return nil, err
		}
	}
	meta := v.metadata()
	labels := meta.Labels
	*meta = *P(&old.Value).metadata()
	if labels != nil {
		meta.Labels = labels
	}
	meta.touch(s.now(), by)
	newRev, err := c.Update(ctx, account, id, *v, old.Revision)
	if err != nil {
		if oldName != name {
			s.releaseName(ctx, kind, account, name, id)
		}
		return nil, err
	}
	if oldName != name {
		s.releaseName(ctx, kind, account, oldName, id)
	}
	return &Entry[T]{Account: account, ID: id, Value: *v, Revision: newRev}, nil
}

// remove deletes the value at rev (0: any) and releases its name.
func remove[T any](ctx context.Context, s *Store, c *collection[T], kind, account, id string, rev uint64, nameOf func(*T) string) error {
	old, err := c.Get(ctx, account, id)
	if err != nil {
		return err
	}
	if rev != 0 && rev != old.Revision {
		return fmt.Errorf("%s %s is at revision %d, not %d: %w", kind, id, old.Revision, rev, ErrConflict)
	}
	if err := c.Delete(ctx, account, id, old.Revision); err != nil {
		return err
	}
	s.releaseName(ctx, kind, account, nameOf(&old.Value), id)
	return nil
}

// nameKey is the reservation key of a resource name: names may hold any
// character, so the key holds a hash of it.
func nameKey(kind, account, name string) string {
	sum := sha256.Sum256([]byte(name))
	return kind + "." + account + "." + hex.EncodeToString(sum[:20])
}

// reserveName makes id the owner of name in the account. A reservation left
// by a resource that no longer exists (a writer died between reserving and
// storing, or deleting and releasing) is taken over.
func (s *Store) reserveName(ctx context.Context, kind, account, name, id string) error {
	key := nameKey(kind, account, name)
	for {
		_, err := s.names.Create(ctx, key, []byte(id))
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("reserve %s name: %w", kind, err)
		}
		e, err := s.names.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return fmt.Errorf("reserve %s name: %w", kind, err)
		}
		owner := string(e.Value())
		if owner == id {
			return nil
		}
		if live, err := s.exists(ctx, kind, account, owner); err != nil || live {
			if err != nil {
				return err
			}
			return fmt.Errorf("%s name %q is used by %s: %w", kind, name, owner, ErrNameTaken)
		}
		if _, err := s.names.Update(ctx, key, []byte(id), e.Revision()); err == nil {
			return nil
		}
		// Somebody else moved it: look again.
	}
}

// releaseName drops the reservation of name if id still owns it. Failures
// leave a stale reservation, which reserveName takes over later.
func (s *Store) releaseName(ctx context.Context, kind, account, name, id string) {
	key := nameKey(kind, account, name)
	e, err := s.names.Get(ctx, key)
	if err != nil || string(e.Value()) != id {
		return
	}
	_ = s.names.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
}

func (s *Store) exists(ctx context.Context, kind, account, id string) (bool, error) {
	var err error
	switch kind {
	case KindSource:
		_, err = s.Sources.Get(ctx, account, id)
	case KindHook:
		_, err = s.Hooks.Get(ctx, account, id)
	case KindApp:
		_, err = s.Apps.Get(ctx, account, id)
	case KindOverride:
		_, err = s.Overrides.Get(ctx, account, id)
	default:
		return false, fmt.Errorf("unknown kind %q", kind)
	}
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// WatchHooks calls fn with every stored hook and then with every change
// (nil for a deletion) until ctx ends; ready is called once the stored hooks
// have all been delivered.
func (s *Store) WatchHooks(ctx context.Context, fn func(account, id string, rec *HookRecord, rev uint64), ready func()) error {
	return s.Hooks.WatchRevisions(ctx, fn, ready)
}
