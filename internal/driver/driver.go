package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// Driver runs actions through their plans and keeps them in KV. Several
// drivers (server replicas) may share one NATS system: each watches the
// actions bucket and drives what it can claim; a lease keeps two of them
// from driving one action at once.
type Driver struct {
	cfg Config
	log *zap.Logger
	js  jetstream.JetStream
	kv  jetstream.KeyValue

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	running map[string]struct{}  // keys of actions driven here now
	cooling map[string]time.Time // keys not to try again before a time
	wake    chan struct{}
}

// New checks cfg and binds the driver to the actions bucket. It drives
// nothing until Start.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	kv, err := cfg.JS.KeyValue(ctx, events.BucketActions)
	if err != nil {
		return nil, fmt.Errorf("driver: open bucket %s (is it provisioned?): %w", events.BucketActions, err)
	}
	if cfg.Names == nil {
		st, err := store.Open(ctx, cfg.JS)
		if err != nil {
			return nil, fmt.Errorf("driver: names: %w", err)
		}
		cfg.Names = st
	}
	return &Driver{
		cfg: cfg, log: cfg.Logger.With(zap.String("driver", cfg.Owner)), js: cfg.JS, kv: kv,
		running: map[string]struct{}{}, cooling: map[string]time.Time{}, wake: make(chan struct{}, 1),
	}, nil
}

// Owner is the name this driver writes into the leases it holds.
func (d *Driver) Owner() string { return d.cfg.Owner }

// Start watches the actions bucket and drives every action that is not
// terminal and not leased by another live driver: those left by a previous
// run resume from their recorded step, new ones start as they are created.
// It returns once every stored action has been seen.
func (d *Driver) Start(ctx context.Context) error {
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return errors.New("driver: already started")
	}
	// The watch lives as long as the driver runs, so it is bound to runCtx.
	runCtx, cancel := context.WithCancel(context.Background())
	w, err := d.kv.WatchAll(runCtx)
	if err != nil {
		cancel()
		d.mu.Unlock()
		return fmt.Errorf("driver: watch %s: %w", events.BucketActions, err)
	}
	d.cancel, d.started = cancel, true
	d.mu.Unlock()

	ready := make(chan struct{})
	var once sync.Once
	d.wg.Go(func() { d.schedule(runCtx, w, func() { once.Do(func() { close(ready) }) }) })
	select {
	case <-ready:
		d.wg.Go(func() { d.backfillNames(runCtx) })
		d.log.Info("driver started")
		return nil
	case <-ctx.Done():
		_ = d.Stop(context.Background())
		return fmt.Errorf("driver: start: %w", ctx.Err())
	}
}

// Stop stops driving at once: waits for stage results and running
// performers are canceled (an outcome already in hand is still recorded),
// leases are released, and every unfinished action stays recorded at its
// step, to be resumed by the next driver that starts (or one already
// running). It returns when every goroutine has ended, or with ctx's error.
func (d *Driver) Stop(ctx context.Context) error {
	d.mu.Lock()
	if !d.started {
		d.mu.Unlock()
		return nil
	}
	d.started = false
	d.cancel()
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("driver: stop: %w", ctx.Err())
	}
}

// Create stores a as a new pending action and returns it with its KV
// revision. It assigns ID (a UUIDv4) when empty, RunID (= ID) and Name when
// empty, validates the rest (a *ValidationError names every bad field), and
// fails with ErrExists when the id is taken. by is recorded as createdBy.
// Any started driver on the same NATS picks the action up, usually this one.
func (d *Driver) Create(ctx context.Context, a Action, by string) (*Action, uint64, error) {
	now := time.Now().UTC()
	named := a.Name != ""
	if err := a.prepare(now); err != nil {
		return nil, 0, err
	}
	taken, err := d.reserveName(ctx, &a, named)
	if err != nil {
		return nil, 0, err
	}
	release := func() {
		if taken {
			d.cfg.Names.ReleaseName(context.WithoutCancel(ctx), nameKind(a.Kind), a.Account, nameInApp(&a), a.ID)
		}
	}
	ts := store.Timestamp(now)
	a.Metadata.CreationTimestamp, a.Metadata.ModificationTimestamp, a.Metadata.CreatedBy = ts, ts, by
	a.Metadata.ModifiedBy = ""
	if a.Metadata.Labels == nil {
		a.Metadata.Labels = []events.Label{}
	}
	a.State, a.StateUnready, a.Step = StatePending, []string{}, 0
	a.HookState, a.HookStateDetails, a.Stages = "", nil, nil
	a.StepStarted, a.Lease, a.Finished = nil, nil, nil
	a.Created, a.Updated = now, now
	raw, err := json.Marshal(&a)
	if err != nil {
		release()
		return nil, 0, fmt.Errorf("driver: encode action %s: %w", a.ID, err)
	}
	rev, err := d.kv.Create(ctx, key(a.Account, a.ID), raw)
	if errors.Is(err, jetstream.ErrKeyExists) {
		release()
		return nil, 0, fmt.Errorf("action %s: %w", a.ID, ErrExists)
	}
	if err != nil {
		release()
		return nil, 0, fmt.Errorf("driver: create action %s: %w", a.ID, err)
	}
	d.log.Info("action created", zap.String("action_id", a.ID), zap.String("app_id", a.AppID),
		zap.String("kind", string(a.Kind)), zap.String("run_id", a.RunID))
	return &a, rev, nil
}

// Get returns the action and its KV revision; ErrNotFound when there is none.
func (d *Driver) Get(ctx context.Context, account, id string) (*Action, uint64, error) {
	if !events.ValidToken(account) || !events.ValidToken(id) {
		return nil, 0, fmt.Errorf("action %q/%q: %w", account, id, ErrNotFound)
	}
	return d.get(ctx, key(account, id))
}

// List returns the account's actions, ordered by ID, of one app when appID
// is not empty and of one kind when kind is not empty.
func (d *Driver) List(ctx context.Context, account, appID string, kind Kind) ([]*Action, error) {
	if !events.ValidToken(account) {
		return nil, &ValidationError{Fields: []FieldError{{Field: "account", Reason: "must be 1–128 characters of A–Z a–z 0–9 _ -"}}}
	}
	lister, err := d.kv.ListKeysFiltered(ctx, account+".*")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return []*Action{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("driver: list actions: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	sort.Strings(keys) // keys share the account prefix: sorted by ID
	out := make([]*Action, 0, len(keys))
	for _, k := range keys {
		a, _, err := d.get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue // deleted while listing
		}
		if err != nil {
			return nil, err
		}
		if (appID == "" || a.AppID == appID) && (kind == "" || a.Kind == kind) {
			out = append(out, a)
		}
	}
	return out, nil
}

// CountByState counts the actions of every account by state, for the
// hookshot_actions gauge.
func (d *Driver) CountByState(ctx context.Context) (map[string]int, error) {
	out := map[string]int{StatePending: 0, StateRunning: 0, StateCompleted: 0, StateFailed: 0}
	lister, err := d.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("driver: count actions: %w", err)
	}
	for k := range lister.Keys() {
		a, _, err := d.get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[a.State]++
	}
	return out, nil
}

// Delete removes a terminal action at revision rev (0: the one it reads),
// as a compare-and-set: ErrConflict when the action is at another revision
// or moves before the delete. A pending or running one is refused with
// ErrRunning: its post stages are still owed. Its name is free again after.
func (d *Driver) Delete(ctx context.Context, account, id string, rev uint64) error {
	a, cur, err := d.Get(ctx, account, id)
	if err != nil {
		return err
	}
	if rev != 0 && rev != cur {
		return fmt.Errorf("action %s is at revision %d, not %d: %w", id, cur, rev, ErrConflict)
	}
	if !a.Terminal() {
		return fmt.Errorf("action %s is %s: %w", id, a.State, ErrRunning)
	}
	if err := d.kv.Delete(ctx, key(account, id), jetstream.LastRevision(cur)); err != nil {
		if isRevisionMismatch(err) {
			return fmt.Errorf("action %s: %w", id, ErrConflict)
		}
		return fmt.Errorf("driver: delete action %s: %w", id, err)
	}
	d.cfg.Names.ReleaseName(ctx, nameKind(a.Kind), account, nameInApp(a), id)
	return nil
}

// Wait returns the action once it is terminal, watching its key (no
// polling). It fails with ErrNotFound when the action does not exist or is
// deleted meanwhile, and with ctx's error when ctx ends first.
func (d *Driver) Wait(ctx context.Context, account, id string) (*Action, error) {
	if !events.ValidToken(account) || !events.ValidToken(id) {
		return nil, fmt.Errorf("action %q/%q: %w", account, id, ErrNotFound)
	}
	k := key(account, id)
	w, err := d.kv.Watch(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("driver: watch action %s: %w", id, err)
	}
	defer func() { _ = w.Stop() }()
	seen := false
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for action %s: %w", id, ctx.Err())
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				if ctx.Err() != nil {
					return nil, fmt.Errorf("wait for action %s: %w", id, ctx.Err())
				}
				return nil, fmt.Errorf("driver: watch of action %s ended", id)
			case e == nil:
				if seen {
					continue
				}
				// The watch saw nothing stored. That can also be a write racing
				// the watch's start (its value then follows): ask the key.
				a, _, err := d.get(ctx, k)
				if err != nil {
					return nil, err
				}
				if a.Terminal() {
					return a, nil
				}
			case e.Operation() != jetstream.KeyValuePut:
				return nil, fmt.Errorf("action %s deleted: %w", id, ErrNotFound)
			default:
				seen = true
				a, err := decode(e.Key(), e.Value())
				if err != nil {
					return nil, err
				}
				if a.Terminal() {
					return a, nil
				}
			}
		}
	}
}

func key(account, id string) string { return account + "." + id }

func (d *Driver) get(ctx context.Context, k string) (*Action, uint64, error) {
	e, err := d.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		_, id, _ := strings.Cut(k, ".")
		return nil, 0, fmt.Errorf("action %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("driver: get action %s: %w", k, err)
	}
	a, err := decode(k, e.Value())
	if err != nil {
		return nil, 0, err
	}
	return a, e.Revision(), nil
}

// update writes a over revision rev: ErrConflict when the key moved.
func (d *Driver) update(ctx context.Context, a *Action, rev uint64) (uint64, error) {
	raw, err := json.Marshal(a)
	if err != nil {
		return 0, fmt.Errorf("driver: encode action %s: %w", a.ID, err)
	}
	newRev, err := d.kv.Update(ctx, key(a.Account, a.ID), raw, rev)
	if err != nil {
		if isRevisionMismatch(err) {
			return 0, fmt.Errorf("action %s: %w", a.ID, ErrConflict)
		}
		return 0, fmt.Errorf("driver: update action %s: %w", a.ID, err)
	}
	if a.Terminal() {
		d.cfg.Metrics.ActionFinished(string(a.Kind), a.State)
	}
	return newRev, nil
}

func decode(k string, raw []byte) (*Action, error) {
	var a Action
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("driver: decode action %s: %w", k, err)
	}
	return &a, nil
}

func isRevisionMismatch(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
