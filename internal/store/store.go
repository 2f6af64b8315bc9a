package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
	// Versions are immutable snapshots of what the hook runs, oldest first;
	// a new one is made whenever the source (or its content) or the
	// arguments change. DefaultVersion is the one that runs, and the hook's
	// hookSourceID and arguments always equal it.
	Versions       []HookVersion `json:"versions,omitempty"`
	DefaultVersion string        `json:"defaultVersion,omitempty"`
}

// HookVersion is one immutable version of an execution hook.
type HookVersion struct {
	Version           string   `json:"version"`
	HookSourceID      string   `json:"hookSourceID"`
	SourceMD5Checksum string   `json:"sourceMD5Checksum"`
	Arguments         []string `json:"arguments"`
	Created           string   `json:"created"`
}

// Default returns the version that runs, or nil for a record written before
// versions existed.
func (r *HookRecord) Default() *HookVersion {
	for i := range r.Versions {
		if r.Versions[i].Version == r.DefaultVersion {
			return &r.Versions[i]
		}
	}
	return nil
}

// Version returns the named version.
func (r *HookRecord) Version(v string) (*HookVersion, bool) {
	for i := range r.Versions {
		if r.Versions[i].Version == v {
			return &r.Versions[i], true
		}
	}
	return nil, false
}

// addVersion makes a new default version from the hook's current source
// checksum and arguments, unless the default version already is that.
func (r *HookRecord) addVersion(checksum, now string) {
	if d := r.Default(); d != nil && d.HookSourceID == r.Hook.HookSourceID && d.SourceMD5Checksum == checksum && slices.Equal(d.Arguments, r.Hook.Arguments) {
		return
	}
	next := "1.0.0"
	if n := len(r.Versions); n > 0 {
		next = bumpPatch(r.Versions[n-1].Version)
	}
	r.Versions = append(r.Versions, HookVersion{
		Version: next, HookSourceID: r.Hook.HookSourceID, SourceMD5Checksum: checksum,
		Arguments: slices.Clone(r.Hook.Arguments), Created: now,
	})
	r.DefaultVersion = next
}

// bumpPatch returns MAJOR.MINOR.(PATCH+1) of a semantic version.
func bumpPatch(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) != 3 {
		return v + ".1"
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil {
		return v + ".1"
	}
	return parts[0] + "." + parts[1] + "." + strconv.Itoa(n+1)
}

// SourceRecord is a stored hook source.
type SourceRecord struct {
	Source   executor.HookSource `json:"source"`
	Metadata Metadata            `json:"metadata"`
}

// App is a registered application: either a static app, whose container
// inventory is written by hand (cluster "local"), or an Astra app 2.x whose
// containers are discovered at every stage from its cluster, namespaces and
// label selectors.
type App struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Containers is a static app's inventory: what hooks are matched
	// against when a lifecycle event carries none. Empty for discovered apps.
	Containers []events.Container `json:"containers"`

	// ClusterID is the cluster of an app 2.x (cluster.IDOf its name); empty
	// for a static app.
	ClusterID string `json:"clusterID,omitempty"`
	// NamespaceScopedResources are the app 2.x's namespaces and selectors.
	NamespaceScopedResources []events.NamespaceSelector `json:"namespaceScopedResources,omitempty"`
	// ClusterScopedResources are kept as given (Hookshot runs no hook on them).
	ClusterScopedResources []json.RawMessage `json:"clusterScopedResources,omitempty"`
	// Version is the app 2.x version it was created with ("2.0"–"2.2");
	// empty for a static app.
	Version string `json:"version,omitempty"`
	// State of an app 2.x: discovering, ready, unavailable or failed, with
	// StateDetails saying why when not ready.
	State        string               `json:"state,omitempty"`
	StateDetails []events.StateDetail `json:"stateDetails,omitempty"`
	// LastResourceCollection is when its containers were last discovered.
	LastResourceCollection time.Time `json:"lastResourceCollectionTimestamp,omitzero"`

	Metadata Metadata `json:"metadata"`
}

// Discovered reports whether the app's containers are discovered from a
// cluster (an app 2.x) rather than listed by hand.
func (a *App) Discovered() bool { return a.ClusterID != "" }

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
	scripts   jetstream.KeyValue
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
		{events.BucketScripts, &s.scripts},
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
	if err := s.keepScript(ctx, account, &rec.Source); err != nil {
		return nil, err
	}
	return create(ctx, s, &s.Sources, KindSource, account, rec.Source.ID, rec.Source.Name, &rec, by)
}

// UpdateSource replaces a hook source at revision rev (0: whatever is stored).
func (s *Store) UpdateSource(ctx context.Context, account string, rec SourceRecord, rev uint64, by string) (*Entry[SourceRecord], error) {
	if err := prepareSource(&rec.Source); err != nil {
		return nil, err
	}
	if err := s.keepScript(ctx, account, &rec.Source); err != nil {
		return nil, err
	}
	e, err := update(ctx, s, &s.Sources, KindSource, account, rec.Source.ID, rec.Source.Name, &rec, rev, by,
		func(old *SourceRecord) string { return old.Source.Name })
	if err != nil {
		return nil, err
	}
	return e, s.reversionHooks(ctx, account, rec.Source.ID, rec.Source.SourceMD5Checksum, by)
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

// prepareHook validates h, fills defaults, checks its source exists and
// returns the source's checksum.
func (s *Store) prepareHook(ctx context.Context, account string, h *matcher.ExecutionHook) (string, error) {
	h.ApplyDefaults()
	if h.ID == "" {
		h.ID = NewID()
	}
	if err := h.Validate(); err != nil {
		return "", err
	}
	src, err := s.Sources.Get(ctx, account, h.HookSourceID)
	if errors.Is(err, ErrNotFound) {
		return "", &matcher.ValidationError{Fields: []matcher.FieldError{{Field: "hookSourceID", Reason: "no hook source with this id in the account", Extended: true}}}
	}
	if err != nil {
		return "", err
	}
	return src.Value.Source.SourceMD5Checksum, nil
}

// CreateHook stores a new execution hook, version 1.0.0; its name must be
// unique in the account.
func (s *Store) CreateHook(ctx context.Context, account string, rec HookRecord, by string) (*Entry[HookRecord], error) {
	sum, err := s.prepareHook(ctx, account, &rec.Hook)
	if err != nil {
		return nil, err
	}
	rec.Versions, rec.DefaultVersion = nil, ""
	rec.addVersion(sum, Timestamp(s.now()))
	return create(ctx, s, &s.Hooks, KindHook, account, rec.Hook.ID, hookNameKey(&rec.Hook), &rec, by)
}

// UpdateHook replaces an execution hook at revision rev (0: whatever is
// stored), keeping its versions and adding one if what it runs changed.
func (s *Store) UpdateHook(ctx context.Context, account string, rec HookRecord, rev uint64, by string) (*Entry[HookRecord], error) {
	sum, err := s.prepareHook(ctx, account, &rec.Hook)
	if err != nil {
		return nil, err
	}
	old, err := s.Hooks.Get(ctx, account, rec.Hook.ID)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		rev = old.Revision
	}
	rec.Versions, rec.DefaultVersion = old.Value.Versions, old.Value.DefaultVersion
	rec.addVersion(sum, Timestamp(s.now()))
	return update(ctx, s, &s.Hooks, KindHook, account, rec.Hook.ID, hookNameKey(&rec.Hook), &rec, rev, by,
		func(old *HookRecord) string { return hookNameKey(&old.Hook) })
}

// PatchHook changes a hook in place with change, at revision rev (0: the
// current one): the RFS metadata update. change may set the default version
// (SetDefault); it must not add versions.
func (s *Store) PatchHook(ctx context.Context, account, id string, rev uint64, by string, change func(*HookRecord) error) (*Entry[HookRecord], error) {
	old, err := s.Hooks.Get(ctx, account, id)
	if err != nil {
		return nil, err
	}
	if rev != 0 && rev != old.Revision {
		return nil, fmt.Errorf("execution hook %s is at revision %d, not %d: %w", id, old.Revision, rev, ErrConflict)
	}
	rec := old.Value
	rec.Versions = slices.Clone(rec.Versions)
	if err := change(&rec); err != nil {
		return nil, err
	}
	if err := rec.Hook.Validate(); err != nil {
		return nil, err
	}
	return update(ctx, s, &s.Hooks, KindHook, account, id, hookNameKey(&rec.Hook), &rec, old.Revision, by,
		func(old *HookRecord) string { return hookNameKey(&old.Hook) })
}

// SetDefault makes version v the one that runs: the hook's source and
// arguments become v's. ErrNoVersion when the hook has no such version.
func (r *HookRecord) SetDefault(v string) error {
	ver, ok := r.Version(v)
	if !ok {
		return fmt.Errorf("version %q: %w", v, ErrNoVersion)
	}
	r.DefaultVersion = v
	r.Hook.HookSourceID = ver.HookSourceID
	r.Hook.Arguments = slices.Clone(ver.Arguments)
	return nil
}

// reversionHooks gives every hook of the account that runs source a new
// default version with the source's new checksum.
func (s *Store) reversionHooks(ctx context.Context, account, sourceID, checksum, by string) error {
	hooks, err := s.Hooks.List(ctx, account)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if h.Value.Hook.HookSourceID != sourceID {
			continue
		}
		rec := h.Value
		rec.addVersion(checksum, Timestamp(s.now()))
		if rec.DefaultVersion == h.Value.DefaultVersion {
			continue
		}
		if _, err := update(ctx, s, &s.Hooks, KindHook, account, h.ID, hookNameKey(&rec.Hook), &rec, h.Revision, by,
			func(old *HookRecord) string { return hookNameKey(&old.Hook) }); err != nil {
			return fmt.Errorf("new version of hook %s: %w", h.ID, err)
		}
	}
	return nil
}

// keepScript stores a source's content under its checksum, once.
func (s *Store) keepScript(ctx context.Context, account string, src *executor.HookSource) error {
	if !events.ValidToken(account) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, account)
	}
	_, err := s.scripts.Create(ctx, account+"."+src.SourceMD5Checksum, []byte(src.Source))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("keep script %s: %w", src.SourceMD5Checksum, err)
	}
	return nil
}

// Script returns the hook source content with checksum sum, as saved.
func (s *Store) Script(ctx context.Context, account, sum string) (*executor.HookSource, error) {
	if !events.ValidToken(account) || !events.ValidToken(sum) {
		return nil, fmt.Errorf("%w: %q/%q", ErrInvalidKey, account, sum)
	}
	e, err := s.scripts.Get(ctx, account+"."+sum)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("script %s: %w", sum, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("script %s: %w", sum, err)
	}
	src := &executor.HookSource{Type: executor.TypeHookSource, Version: executor.VersionHookSource, Name: "script " + sum,
		SourceType: executor.SourceTypeScript, Source: string(e.Value()), SourceMD5Checksum: sum}
	return src, nil
}

// SaveHook creates or replaces an execution hook (loading from files).
func (s *Store) SaveHook(ctx context.Context, account string, h matcher.ExecutionHook, by string) (*HookRecord, error) {
	if _, err := s.prepareHook(ctx, account, &h); err != nil {
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
	return remove(ctx, s, &s.Hooks, KindHook, account, id, rev, func(r *HookRecord) string { return hookNameKey(&r.Hook) })
}

// hookNameKey is what must be unique about a hook's name: a custom hook's
// name is unique within its app (NetApp's tooling copies an app's hooks to
// another app under the same names), a netapp hook's within the account.
func hookNameKey(h *matcher.ExecutionHook) string {
	if h.HookType == matcher.HookTypeCustom {
		return h.AppID + "/" + h.Name
	}
	return h.Name
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
func (s *Store) WatchOverrides(ctx context.Context, fn func(account, id string, o *Override, rev uint64), ready func(rev uint64)) error {
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
	taken, err := s.reserveName(ctx, kind, account, name, id)
	if err != nil {
		return nil, err
	}
	meta := v.metadata()
	labels := meta.Labels
	*meta = Metadata{Labels: labels}
	meta.touch(s.now(), by)
	rev, err := c.Create(ctx, account, id, *v)
	if err != nil {
		if taken {
			s.releaseName(ctx, kind, account, name, id)
		}
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
	taken := false
	if oldName != name {
		if taken, err = s.reserveName(ctx, kind, account, name, id); err != nil {
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
		if taken {
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
	for attempt := 1; ; attempt++ {
		old, err := c.Get(ctx, account, id)
		if err != nil {
			return err
		}
		if rev != 0 && rev != old.Revision {
			return fmt.Errorf("%s %s is at revision %d, not %d: %w", kind, id, old.Revision, rev, ErrConflict)
		}
		at := old.Revision
		if rev == 0 && attempt == removeAttempts {
			// No revision was asked for and the resource kept moving under
			// the delete (a collector writing an app's state): delete it
			// whatever its revision. Should a rename have slipped in, the
			// new name's reservation is left to an owner that no longer
			// exists, which reserveName takes over.
			at = 0
		}
		err = c.Delete(ctx, account, id, at)
		if errors.Is(err, ErrConflict) && rev == 0 && attempt < removeAttempts {
			// No revision was asked for: the resource moved between the
			// read and the delete, so delete what is there now.
			continue
		}
		if err != nil {
			return err
		}
		s.releaseName(ctx, kind, account, nameOf(&old.Value), id)
		return nil
	}
}

// removeAttempts bounds how often a delete without a revision reads again
// after the resource moved under it; the last attempt deletes whatever
// revision is there.
const removeAttempts = 5

// nameKey is the reservation key of a resource name: names may hold any
// character, so the key holds a hash of it.
func nameKey(kind, account, name string) string {
	sum := sha256.Sum256([]byte(name))
	return kind + "." + account + "." + hex.EncodeToString(sum[:20])
}

// reserveName makes id the owner of name in the account. A reservation left
// by a resource that no longer exists (a writer died between reserving and
// storing, or deleting and releasing) is taken over. taken is true when this
// call made the reservation (and so may undo it), false when id already held
// it.
func (s *Store) reserveName(ctx context.Context, kind, account, name, id string) (taken bool, err error) {
	return s.reserve(ctx, kind, account, name, id, func(ctx context.Context, owner string) (bool, error) {
		return s.exists(ctx, kind, account, owner)
	})
}

// reservationGrace is how long a fresh reservation counts as held even
// though its owner does not exist yet: its writer is storing it right now.
const reservationGrace = 10 * time.Second

// reserve is reserveName with live telling whether a reservation's owner
// still exists. A reservation younger than reservationGrace is never taken
// over: otherwise a concurrent create that finds the name reserved but its
// owner not yet stored would take the name too.
func (s *Store) reserve(ctx context.Context, kind, account, name, id string, live func(ctx context.Context, owner string) (bool, error)) (taken bool, err error) {
	key := nameKey(kind, account, name)
	for {
		_, err := s.names.Create(ctx, key, []byte(id))
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return false, fmt.Errorf("reserve %s name: %w", kind, err)
		}
		e, err := s.names.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return false, fmt.Errorf("reserve %s name: %w", kind, err)
		}
		owner := string(e.Value())
		if owner == id {
			return false, nil
		}
		if time.Since(e.Created()) < reservationGrace {
			return false, fmt.Errorf("%s name %q is being taken by %s: %w", kind, name, owner, ErrNameTaken)
		}
		if alive, err := live(ctx, owner); err != nil || alive {
			if err != nil {
				return false, err
			}
			return false, fmt.Errorf("%s name %q is used by %s: %w", kind, name, owner, ErrNameTaken)
		}
		if _, err := s.names.Update(ctx, key, []byte(id), e.Revision()); err == nil {
			return true, nil
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
func (s *Store) WatchHooks(ctx context.Context, fn func(account, id string, rec *HookRecord, rev uint64), ready func(rev uint64)) error {
	return s.Hooks.WatchRevisions(ctx, fn, ready)
}
