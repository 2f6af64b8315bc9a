package store

import (
	"context"
	"errors"
	"fmt"
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

// Store is the JetStream KV store of sources, hooks and apps.
type Store struct {
	Sources collection[SourceRecord]
	Hooks   collection[HookRecord]
	Apps    collection[App]
	now     func() time.Time
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
	} {
		kv, err := js.KeyValue(ctx, b.name)
		if err != nil {
			return nil, fmt.Errorf("open bucket %s (is it provisioned?): %w", b.name, err)
		}
		*b.kv = kv
	}
	s.Sources.kind, s.Hooks.kind, s.Apps.kind = "hook source", "execution hook", "app"
	return s, nil
}

// NewID returns a fresh Astra identifier (UUIDv4).
func NewID() string { return uuid.NewString() }

// SaveSource validates src, computes its checksum, assigns an id when it has
// none, and creates or replaces it. by is the identity recorded in metadata.
func (s *Store) SaveSource(ctx context.Context, account string, src executor.HookSource, by string) (*SourceRecord, error) {
	src.ApplyDefaults()
	src.SourceMD5Checksum = ""
	src.Seal()
	if src.ID == "" {
		src.ID = NewID()
	}
	if err := src.Validate(); err != nil {
		return nil, err
	}
	rec := SourceRecord{Source: src}
	if err := save(ctx, &s.Sources, account, src.ID, &rec, s.now(), by); err != nil {
		return nil, err
	}
	return &rec, nil
}

// SaveHook validates h, checks that its source exists in the account,
// assigns an id when it has none, and creates or replaces it.
func (s *Store) SaveHook(ctx context.Context, account string, h matcher.ExecutionHook, by string) (*HookRecord, error) {
	h.ApplyDefaults()
	if h.ID == "" {
		h.ID = NewID()
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.Sources.Get(ctx, account, h.HookSourceID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, &matcher.ValidationError{Fields: []matcher.FieldError{{Field: "hookSourceID", Reason: "no hook source with this id in the account"}}}
		}
		return nil, err
	}
	rec := HookRecord{Hook: h}
	if err := save(ctx, &s.Hooks, account, h.ID, &rec, s.now(), by); err != nil {
		return nil, err
	}
	return &rec, nil
}

// SaveApp creates or replaces an app and its inventory.
func (s *Store) SaveApp(ctx context.Context, account string, app App, by string) (*App, error) {
	if app.ID == "" {
		app.ID = NewID()
	}
	ev := events.LifecycleEvent{RunID: "check", AccountID: account, AppID: app.ID, Action: events.ActionSnapshot, Stage: events.StagePre, Containers: app.Containers}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("app %s: %w", app.ID, err)
	}
	events.SortContainers(app.Containers)
	if err := save(ctx, &s.Apps, account, app.ID, &app, s.now(), by); err != nil {
		return nil, err
	}
	return &app, nil
}

// record is a stored resource type with Astra metadata.
type record[T any] interface {
	*T
	metadata() *Metadata
}

func (r *SourceRecord) metadata() *Metadata { return &r.Metadata }
func (r *HookRecord) metadata() *Metadata   { return &r.Metadata }
func (a *App) metadata() *Metadata          { return &a.Metadata }

// save creates v, or replaces the stored value keeping its creation metadata
// (and its labels unless v sets some), with compare-and-set: a concurrent
// writer makes it fail with ErrConflict or ErrExists rather than be lost.
func save[T any, P record[T]](ctx context.Context, c *collection[T], account, id string, v P, now time.Time, by string) error {
	meta := v.metadata()
	old, err := c.Get(ctx, account, id)
	if errors.Is(err, ErrNotFound) {
		meta.touch(now, by)
		_, err = c.Create(ctx, account, id, *v)
		return err
	}
	if err != nil {
		return err
	}
	labels := meta.Labels
	*meta = *P(&old.Value).metadata()
	if labels != nil {
		meta.Labels = labels
	}
	meta.touch(now, by)
	_, err = c.Update(ctx, account, id, *v, old.Revision)
	return err
}

// WatchHooks calls fn with every stored hook and then with every change
// (nil for a deletion) until ctx ends; ready is called once the stored hooks
// have all been delivered.
func (s *Store) WatchHooks(ctx context.Context, fn func(account, id string, rec *HookRecord), ready func()) error {
	return s.Hooks.Watch(ctx, fn, ready)
}
