package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// DetailClusterUnknown is the stateDetail type of an app 2.x whose cluster
// is not (or no longer) configured, or is the static one.
const DetailClusterUnknown = "urn:hookshot:detail:cluster-unknown"

// CollectorConfig configures a Collector.
type CollectorConfig struct {
	// Store holds the apps. Required.
	Store *store.Store
	// Registry discovers their containers. Required.
	Registry *Registry
	// Interval is how often every app 2.x is collected again. Defaults to 60s.
	Interval time.Duration
	// Timeout bounds one app's discovery. Defaults to 30s.
	Timeout time.Duration
	// Concurrency is how many apps are collected at once. Defaults to 4.
	Concurrency int
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
}

func (c CollectorConfig) withDefaults() CollectorConfig {
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

// Collector keeps the state of every app 2.x (Astra's resource
// collection): it discovers an app's containers soon after the app is
// created (it watches the apps bucket for apps in state discovering, and
// Trigger asks for one at once) and then every Interval, and records
// ready with lastResourceCollectionTimestamp, unavailable when the cluster
// does not answer, or failed when the app's cluster is not configured.
//
// A state is written with a compare-and-set on the revision it read, so a
// concurrent change of the app (a rename, another server's collection) is
// never overwritten: the app is collected again instead. Several servers
// may each run a Collector; they only repeat each other's work.
type Collector struct {
	cfg CollectorConfig
	log *zap.Logger

	mu      sync.Mutex
	known   map[appKey]struct{} // apps 2.x seen by the watch
	pending map[appKey]struct{} // to collect
	running map[appKey]struct{} // being collected
	wake    chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type appKey struct{ account, id string }

// NewCollector checks cfg; Start starts collecting.
func NewCollector(cfg CollectorConfig) (*Collector, error) {
	if cfg.Store == nil || cfg.Registry == nil {
		return nil, errors.New("cluster: collector: Store and Registry are required")
	}
	cfg = cfg.withDefaults()
	return &Collector{
		cfg: cfg, log: cfg.Logger,
		known: map[appKey]struct{}{}, pending: map[appKey]struct{}{}, running: map[appKey]struct{}{},
		wake: make(chan struct{}, 1),
	}, nil
}

// Start watches the apps and collects them until Stop. ctx bounds nothing
// after Start returns; Stop ends the collector.
func (c *Collector) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		return errors.New("cluster: collector already started")
	}
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	c.wg.Go(func() { c.watch(run) })
	c.wg.Go(func() { c.tick(run) })
	for range c.cfg.Concurrency {
		c.wg.Go(func() { c.work(run) })
	}
	return nil
}

// Stop ends collecting: running discoveries are cancelled and Stop waits
// for them until ctx ends.
func (c *Collector) Stop(ctx context.Context) error {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster: collector stop: %w", ctx.Err())
	}
}

// Trigger asks for the app to be collected soon (at once when a worker is
// free); a trigger of an app already waiting is merged with it.
func (c *Collector) Trigger(account, appID string) {
	c.mu.Lock()
	c.pending[appKey{account, appID}] = struct{}{}
	c.mu.Unlock()
	c.signal()
}

func (c *Collector) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// watch follows the apps bucket: it learns the apps 2.x to collect every
// Interval and triggers those in state discovering (just created).
func (c *Collector) watch(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.cfg.Store.Apps.Watch(ctx, func(account, id string, app *store.App) {
			k := appKey{account, id}
			c.mu.Lock()
			if app == nil || !app.Discovered() {
				delete(c.known, k)
				c.mu.Unlock()
				return
			}
			c.known[k] = struct{}{}
			c.mu.Unlock()
			if app.State == store.AppStateDiscovering {
				c.Trigger(account, id)
			}
		}, func() { c.all() })
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("app watch ended; watching again", zap.Error(err))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// tick collects every known app each Interval.
func (c *Collector) tick(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.all()
		}
	}
}

func (c *Collector) all() {
	c.mu.Lock()
	for k := range c.known {
		c.pending[k] = struct{}{}
	}
	c.mu.Unlock()
	c.signal()
}

// work collects pending apps, one at a time, each app by one worker at once.
func (c *Collector) work(ctx context.Context) {
	for {
		k, ok := c.next(ctx)
		if !ok {
			return
		}
		c.collect(ctx, k)
		c.mu.Lock()
		delete(c.running, k)
		_, again := c.pending[k]
		c.mu.Unlock()
		if again {
			c.signal()
		}
	}
}

// next takes a pending app no other worker is collecting.
func (c *Collector) next(ctx context.Context) (appKey, bool) {
	for {
		c.mu.Lock()
		for k := range c.pending {
			if _, busy := c.running[k]; busy {
				continue
			}
			delete(c.pending, k)
			c.running[k] = struct{}{}
			more := len(c.pending) > 0
			c.mu.Unlock()
			if more {
				c.signal() // another worker may take the rest
			}
			return k, true
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return appKey{}, false
		case <-c.wake:
		}
	}
}

// collect discovers one app's containers and records its state.
func (c *Collector) collect(ctx context.Context, k appKey) {
	log := c.log.With(zap.String("account", k.account), zap.String("app_id", k.id))
	e, err := c.cfg.Store.Apps.Get(ctx, k.account, k.id)
	if errors.Is(err, store.ErrNotFound) {
		c.forget(k)
		return
	}
	if err != nil {
		log.Warn("read app", zap.Error(err))
		return
	}
	if !e.Value.Discovered() {
		c.forget(k)
		return
	}
	status, ok := c.discover(ctx, &e.Value)
	if !ok {
		return // stopping
	}
	if status.State != e.Value.State {
		log.Info("app state", zap.String("from", e.Value.State), zap.String("to", status.State))
	}
	_, err = c.cfg.Store.SetAppStatus(ctx, k.account, k.id, e.Revision, status)
	switch {
	case errors.Is(err, store.ErrConflict):
		c.Trigger(k.account, k.id) // it changed meanwhile: collect what it is now
	case errors.Is(err, store.ErrNotFound):
		c.forget(k)
	case err != nil && ctx.Err() == nil:
		log.Warn("record app state", zap.Error(err))
	}
}

// discover finds app's containers now and says what state that gives.
// ok is false when ctx ended first.
func (c *Collector) discover(ctx context.Context, app *store.App) (status store.AppStatus, ok bool) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	_, err := c.cfg.Registry.Discover(dctx, app.ClusterID, app.NamespaceScopedResources)
	switch {
	case ctx.Err() != nil:
		return store.AppStatus{}, false
	case err == nil:
		return store.AppStatus{State: store.AppStateReady, StateDetails: []events.StateDetail{}, Collected: time.Now()}, true
	case errors.Is(err, ErrUnknownCluster), errors.Is(err, ErrStatic):
		return store.AppStatus{State: store.AppStateFailed, StateDetails: []events.StateDetail{
			events.NewStateDetail(DetailClusterUnknown, "Cluster not configured",
				fmt.Sprintf("The app's cluster %s is not a configured Kubernetes or Docker cluster of this server: %v", app.ClusterID, err), nil),
		}}, true
	default:
		return store.AppStatus{State: store.AppStateUnavailable, StateDetails: []events.StateDetail{
			events.NewStateDetail(events.DetailClusterUnavailable, "Cluster unavailable", err.Error(),
				map[string]any{"clusterID": app.ClusterID}),
		}}, true
	}
}

func (c *Collector) forget(k appKey) {
	c.mu.Lock()
	delete(c.known, k)
	c.mu.Unlock()
}
