package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
)

// ErrUnknownCluster: no cluster of that name or id is configured.
var ErrUnknownCluster = errors.New("unknown cluster")

// ErrStatic: the cluster is the static one, whose apps list their
// containers by hand; there is nothing to discover.
var ErrStatic = errors.New("static cluster: containers are listed by hand")

// RegistryConfig configures a Registry.
type RegistryConfig struct {
	// Clusters are the configured clusters; "local" (static) is always added.
	Clusters []Config
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// ProbeTTL is how long a probed state is reused. Defaults to 10s.
	ProbeTTL time.Duration
	// ProbeTimeout bounds one probe. Defaults to 5s.
	ProbeTimeout time.Duration
	// NewBackend makes the backend of a configured cluster. Defaults to the
	// Docker or Kubernetes backend of its type; tests may give their own.
	NewBackend func(Config) (Backend, error)
}

// Registry holds the configured clusters and their backends. It is safe for
// concurrent use.
type Registry struct {
	cfg     RegistryConfig
	log     *zap.Logger
	entries []*entry // sorted by name; the static "local" first
	byKey   map[string]*entry
}

type entry struct {
	cfg     Config
	backend Backend // nil for the static cluster

	mu      sync.Mutex
	probed  time.Time
	lastErr error
}

// NewRegistry validates the configured clusters and builds their backends
// (reading kubeconfig files, making Docker clients). It does not contact
// them: a cluster that does not answer is a state (unavailable), not a
// start-up failure.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.ProbeTTL == 0 {
		cfg.ProbeTTL = 10 * time.Second
	}
	if cfg.ProbeTimeout == 0 {
		cfg.ProbeTimeout = 5 * time.Second
	}
	if cfg.NewBackend == nil {
		cfg.NewBackend = newBackend
	}
	r := &Registry{cfg: cfg, log: cfg.Logger, byKey: map[string]*entry{}}
	local := &entry{cfg: Config{Name: events.ClusterLocal, Type: TypeStatic}}
	r.entries = append(r.entries, local)
	r.byKey[local.cfg.Name], r.byKey[IDOf(local.cfg.Name)] = local, local
	for i, c := range cfg.Clusters {
		if err := c.Validate(); err != nil {
			r.Close()
			return nil, fmt.Errorf("clusters[%d]: %w", i, err)
		}
		if _, dup := r.byKey[c.Name]; dup {
			r.Close()
			return nil, fmt.Errorf("clusters[%d]: cluster %s is configured twice", i, c.Name)
		}
		b, err := cfg.NewBackend(c)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("clusters[%d] (%s): %w", i, c.Name, err)
		}
		e := &entry{cfg: c, backend: b}
		r.entries = append(r.entries, e)
		r.byKey[c.Name], r.byKey[IDOf(c.Name)] = e, e
	}
	slices.SortFunc(r.entries[1:], func(a, b *entry) int { return strings.Compare(a.cfg.Name, b.cfg.Name) })
	return r, nil
}

func newBackend(c Config) (Backend, error) {
	switch c.Type {
	case TypeKubernetes:
		return NewKubernetes(c)
	case TypeDocker:
		return NewDocker(c)
	}
	return nil, fmt.Errorf("type %q must be kubernetes or docker", c.Type)
}

// Close releases every backend.
func (r *Registry) Close() error {
	var errs []error
	for _, e := range r.entries {
		if e.backend != nil {
			errs = append(errs, e.backend.Close())
		}
	}
	return errors.Join(errs...)
}

// Names are the names of every cluster, "local" first.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.cfg.Name)
	}
	return out
}

// Resolve finds a cluster by name or id without contacting it; its state
// is the last one probed.
func (r *Registry) Resolve(nameOrID string) (Info, bool) {
	e, ok := r.byKey[nameOrID]
	if !ok {
		return Info{}, false
	}
	return e.info(), true
}

// Get finds a cluster by name or id and reports its state, probing it when
// the last probe is older than ProbeTTL.
func (r *Registry) Get(ctx context.Context, nameOrID string) (Info, bool) {
	e, ok := r.byKey[nameOrID]
	if !ok {
		return Info{}, false
	}
	r.probe(ctx, e)
	return e.info(), true
}

// List reports every cluster and its state, probing them concurrently.
func (r *Registry) List(ctx context.Context) []Info {
	var wg sync.WaitGroup
	for _, e := range r.entries {
		wg.Go(func() { r.probe(ctx, e) })
	}
	wg.Wait()
	out := make([]Info, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.info())
	}
	return out
}

func (r *Registry) probe(ctx context.Context, e *entry) {
	if e.backend == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.probed.IsZero() && time.Since(e.probed) < r.cfg.ProbeTTL {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ProbeTimeout)
	defer cancel()
	err := e.backend.Ping(ctx)
	if err != nil && e.lastErr == nil {
		r.log.Warn("cluster unavailable", zap.String("cluster", e.cfg.Name), zap.Error(err))
	}
	e.probed, e.lastErr = time.Now(), err
}

// record keeps the outcome of a contact with the cluster as its state.
func (e *entry) record(err error) {
	e.mu.Lock()
	e.probed, e.lastErr = time.Now(), err
	e.mu.Unlock()
}

func (e *entry) info() Info {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := Info{ID: IDOf(e.cfg.Name), Name: e.cfg.Name, Type: e.cfg.Type, State: StateRunning}
	if e.lastErr != nil {
		in.State, in.StateDetail = StateUnavailable, e.lastErr.Error()
	}
	return in
}

// Discover finds the containers of an app of the cluster named (or
// identified by) nameOrID. Its errors name the cluster.
func (r *Registry) Discover(ctx context.Context, nameOrID string, scopes []events.NamespaceSelector) ([]events.Container, error) {
	e, ok := r.byKey[nameOrID]
	if !ok {
		return nil, fmt.Errorf("cluster %s: %w", nameOrID, ErrUnknownCluster)
	}
	if e.backend == nil {
		return nil, fmt.Errorf("cluster %s: %w", e.cfg.Name, ErrStatic)
	}
	cs, err := e.backend.Discover(ctx, scopes)
	if err != nil {
		if ctx.Err() == nil {
			e.record(err)
		}
		return nil, fmt.Errorf("cluster %s (%s): %w", e.cfg.Name, e.cfg.Type, err)
	}
	e.record(nil)
	return cs, nil
}

// Runners returns the runner of each cluster a worker serves: local for the
// static cluster, a ContainerRunner through the backend's execer for the
// others.
func (r *Registry) Runners(local executor.Runner, cfg executor.ContainerConfig) (func(cluster string) (executor.Runner, error), error) {
	runners := map[string]executor.Runner{events.ClusterLocal: local}
	for _, e := range r.entries {
		if e.backend == nil {
			continue
		}
		cr, err := executor.NewContainerRunner(e.backend.Execer(), cfg)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", e.cfg.Name, err)
		}
		runners[e.cfg.Name] = cr
	}
	return func(cluster string) (executor.Runner, error) {
		if run, ok := runners[cluster]; ok {
			return run, nil
		}
		return nil, fmt.Errorf("cluster %s: %w: this worker has no credentials for it", cluster, ErrUnknownCluster)
	}, nil
}
