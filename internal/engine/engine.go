package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/metrics"
	"github.com/hookshot-dev/hookshot/internal/pull"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"
)

// Config of an Engine.
type Config struct {
	// JS is the JetStream context; streams and buckets must be provisioned
	// (events.Provision). Required.
	JS jetstream.JetStream
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// Metrics records executions, stages and redeliveries; nil records nothing.
	Metrics *metrics.Metrics
	// Matcher configures criteria evaluation (the compiled-pattern cache).
	Matcher matcher.Config
	// AckWait is how long the engine's consumers wait for an ack before
	// redelivering. Defaults to 30s.
	AckWait time.Duration
	// PairingTimeout is how long after a pre stage dispatched hooks the engine
	// waits for the post stage before running it itself. Defaults to 2h;
	// negative disables the watchdog.
	PairingTimeout time.Duration
	// PairingInterval is how often the watchdog looks. Defaults to 30s.
	PairingInterval time.Duration
	// Clusters finds the containers of apps 2.x (discovered from a
	// cluster) at every stage. Nil: a stage of such an app fails, saying
	// that no cluster is configured.
	Clusters Clusters
	// DiscoveryTimeout bounds one discovery. Defaults to 30s.
	DiscoveryTimeout time.Duration
}

// Clusters is what the engine needs of a cluster.Registry.
type Clusters interface {
	// Resolve finds a cluster by name or id.
	Resolve(nameOrID string) (cluster.Info, bool)
	// Discover returns the running containers of the namespaces and
	// selectors in the cluster; its errors name the cluster.
	Discover(ctx context.Context, nameOrID string, scopes []events.NamespaceSelector) ([]events.Container, error)
}

func (c Config) withDefaults() Config {
	c.Logger = cmp.Or(c.Logger, zap.NewNop())
	c.AckWait = cmp.Or(c.AckWait, 30*time.Second)
	c.PairingTimeout = cmp.Or(c.PairingTimeout, 2*time.Hour)
	c.PairingInterval = cmp.Or(c.PairingInterval, 30*time.Second)
	c.DiscoveryTimeout = cmp.Or(c.DiscoveryTimeout, 30*time.Second)
	return c
}

func (c Config) validate() error {
	if c.JS == nil {
		return errors.New("engine: Config.JS is required")
	}
	if c.AckWait < time.Second {
		return fmt.Errorf("engine: AckWait %s is under 1s", c.AckWait)
	}
	return nil
}

// Engine turns lifecycle events into jobs and execution results into stage
// results. Several engines may run against one NATS system: they share the
// durable consumers, and every write that must happen once is a
// create-if-absent in KV.
type Engine struct {
	cfg   Config
	log   *zap.Logger
	js    jetstream.JetStream
	store *store.Store
	index *matcher.Index
	runs  runs

	// hooksSeen and overridesSeen are how far the index has followed its buckets.
	hooksSeen, overridesSeen *watermark

	pinnedMu sync.Mutex
	pinned   map[string]store.HookVersion // default version by <account>.<hookID>

	overridesMu sync.Mutex
	overrides   map[string]store.Override // by <account>.<id>

	lifecycleHealth, resultsHealth *pull.Health

	plansMu sync.Mutex
	plans   map[string]*StageRecord // immutable plans by stage key

	mu      sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// New checks cfg and binds the engine to the provisioned buckets.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	st, rs, err := openState(ctx, cfg.JS)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return &Engine{
		cfg: cfg, log: cfg.Logger, js: cfg.JS, store: st,
		index: matcher.NewIndex(cfg.Matcher), runs: rs, plans: map[string]*StageRecord{},
		overrides: map[string]store.Override{}, pinned: map[string]store.HookVersion{},
		hooksSeen: newWatermark(), overridesSeen: newWatermark(),
		lifecycleHealth: pull.NewHealth(), resultsHealth: pull.NewHealth(),
	}, nil
}

// Ready returns nil while the engine consumes lifecycle events and results,
// else why it does not.
func (e *Engine) Ready() error {
	return errors.Join(e.lifecycleHealth.Check("lifecycle consumer"), e.resultsHealth.Check("results consumer"))
}

// Store is the resource store the engine reads hooks and sources from.
func (e *Engine) Store() *store.Store { return e.store }

// Index is the engine's in-memory index of hooks, fed by a KV watch.
func (e *Engine) Index() *matcher.Index { return e.index }

// Start loads every stored hook into the index, then starts consuming
// lifecycle events and execution results. It returns once consuming.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("engine: already started")
	}
	lifecycle, err := e.js.CreateOrUpdateConsumer(ctx, events.StreamLifecycle, jetstream.ConsumerConfig{
		Durable:       events.ConsumerLifecycle,
		Description:   "Hookshot engine: lifecycle events to jobs",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       e.cfg.AckWait,
		MaxDeliver:    -1,
		FilterSubject: events.SubjectsLifecycle,
	})
	if err != nil {
		return fmt.Errorf("engine: lifecycle consumer: %w", err)
	}
	results, err := e.js.CreateOrUpdateConsumer(ctx, events.StreamResults, jetstream.ConsumerConfig{
		Durable:       events.ConsumerAggregator,
		Description:   "Hookshot engine: execution results to stage results",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       e.cfg.AckWait,
		MaxDeliver:    -1,
		FilterSubject: events.SubjectExecutionResults + ".>",
	})
	if err != nil {
		return fmt.Errorf("engine: results consumer: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	hooksReady, overridesReady := make(chan struct{}), make(chan struct{})
	watchErr := make(chan error, 2)
	e.wg.Go(func() {
		var once sync.Once
		ready := func(rev uint64) { e.hooksSeen.advance(rev); once.Do(func() { close(hooksReady) }) }
		if err := e.store.WatchHooks(runCtx, e.applyHook, ready); err != nil {
			watchErr <- err
		}
	})
	e.wg.Go(func() {
		var once sync.Once
		ready := func(rev uint64) { e.overridesSeen.advance(rev); once.Do(func() { close(overridesReady) }) }
		if err := e.store.WatchOverrides(runCtx, e.applyOverride, ready); err != nil {
			watchErr <- err
		}
	})
	for _, ready := range []chan struct{}{hooksReady, overridesReady} {
		select {
		case <-ready:
		case err := <-watchErr:
			cancel()
			e.wg.Wait()
			return fmt.Errorf("engine: %w", err)
		case <-ctx.Done():
			cancel()
			e.wg.Wait()
			return ctx.Err()
		}
	}

	e.wg.Go(func() {
		// Apps are planned concurrently, each app's stages in order.
		plan := newKeyedSerial(lifecyclePlanners, oneByOne(e.handleLifecycle(runCtx)))
		pull.Loop(runCtx, lifecycle, e.log, e.lifecycleHealth, plan.want, func(msg jetstream.Msg) {
			plan.submit(lifecycleKey(msg.Subject()), msg)
		}, nil)
		plan.wait()
	})
	e.wg.Go(func() {
		// Runs are recorded concurrently, each run's results in order and,
		// when several are waiting, together.
		record := newKeyedSerial(resultRecorders, e.handleResults(runCtx))
		pull.Loop(runCtx, results, e.log, e.resultsHealth, record.want, func(msg jetstream.Msg) {
			record.submit(resultRunKey(msg.Subject()), msg)
		}, nil)
		record.wait()
	})
	if e.cfg.PairingTimeout > 0 {
		e.wg.Go(func() { e.pairingWatchdog(runCtx) })
	}
	e.cancel, e.started = cancel, true
	e.log.Info("engine started", zap.Int("hooks", e.index.Len()))
	return nil
}

// lifecyclePlanners bounds how many lifecycle events are being planned at
// once (each of another app), and so how many are fetched ahead.
const lifecyclePlanners = 16

// resultRecorders bounds how many execution results are being recorded at
// once, and so how many are fetched ahead.
const resultRecorders = 256

// Stop stops consuming and waits for the loops to end or ctx to expire.
// Work in flight is not lost: what was not acked is redelivered.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.started {
		return nil
	}
	e.cancel()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		e.started = false
		return nil
	case <-ctx.Done():
		return fmt.Errorf("engine: stop: %w", ctx.Err())
	}
}

// pinnedVersion is the default version of a hook, as the index last saw it.
func (e *Engine) pinnedVersion(account, hookID string) (store.HookVersion, bool) {
	e.pinnedMu.Lock()
	defer e.pinnedMu.Unlock()
	v, ok := e.pinned[account+"."+hookID]
	return v, ok
}

// SyncIndex waits until the index has applied every hook and override
// written before the call.
func (e *Engine) SyncIndex(ctx context.Context) error { return e.syncIndex(ctx) }

// syncIndex waits until the index has applied every hook and override
// written before the call.
func (e *Engine) syncIndex(ctx context.Context) error {
	for _, b := range []struct {
		last func(context.Context) (uint64, error)
		seen *watermark
	}{{e.store.Hooks.LastRevision, e.hooksSeen}, {e.store.Overrides.LastRevision, e.overridesSeen}} {
		last, err := b.last(ctx)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = b.seen.wait(ctx, last)
		cancel()
		if err != nil {
			return fmt.Errorf("index behind its bucket: %w", err)
		}
	}
	return nil
}

// applyOverride keeps the index's overrides in step with the overrides
// bucket. A deletion only names the override, so the engine remembers which
// app and hook each one concerns.
func (e *Engine) applyOverride(account, id string, o *store.Override, rev uint64) {
	defer e.overridesSeen.advance(rev)
	e.overridesMu.Lock()
	defer e.overridesMu.Unlock()
	key := account + "." + id
	if old, ok := e.overrides[key]; ok {
		e.index.ClearOverride(account, old.AppID, old.ExecutionHookID)
		delete(e.overrides, key)
	}
	if o != nil {
		e.index.SetOverride(account, o.AppID, o.ExecutionHookID, o.Enabled == matcher.EnabledTrue)
		e.overrides[key] = *o
	}
}

// applyHook keeps the index in step with the hooks bucket.
func (e *Engine) applyHook(account, id string, rec *store.HookRecord, rev uint64) {
	defer e.hooksSeen.advance(rev)
	e.pinnedMu.Lock()
	delete(e.pinned, account+"."+id)
	if rec != nil {
		if v := rec.Default(); v != nil {
			e.pinned[account+"."+id] = *v
		}
	}
	e.pinnedMu.Unlock()
	if rec == nil {
		e.index.Delete(account, id)
		return
	}
	h := rec.Hook
	if err := e.index.Put(account, &h); err != nil {
		// Stored hooks were validated on write; one that no longer validates
		// (an older, looser version wrote it) is left out and said so.
		e.log.Error("stored hook not indexed", zap.String("account", account), zap.String("hook_id", id), zap.Error(err))
		e.index.Delete(account, id)
	}
}
