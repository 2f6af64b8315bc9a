package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// inventoryBackend is a cluster backend whose containers are a list the
// test sets; discovery fails while down is set. It runs nothing itself:
// the workers here are given their runners directly.
type inventoryBackend struct {
	mu         sync.Mutex
	containers []events.Container
	down       error
	scopes     [][]events.NamespaceSelector
	hold       chan struct{} // when set, Discover waits for it to close
	entered    int           // Discover calls begun
}

func (b *inventoryBackend) Discover(ctx context.Context, scopes []events.NamespaceSelector) ([]events.Container, error) {
	b.mu.Lock()
	hold := b.hold
	b.entered++
	b.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scopes = append(b.scopes, scopes)
	if b.down != nil {
		return nil, b.down
	}
	return slices.Clone(b.containers), nil
}
func (b *inventoryBackend) Ping(context.Context) error       { return b.down }
func (b *inventoryBackend) Execer() executor.ContainerExecer { return nil }
func (b *inventoryBackend) Close() error                     { return nil }

// targetRecorder runs hooks locally and remembers where each was meant to run.
type targetRecorder struct {
	executor.Runner
	mu      sync.Mutex
	targets []executor.Target
}

func (r *targetRecorder) Run(ctx context.Context, spec executor.Spec) (executor.Outcome, error) {
	r.mu.Lock()
	r.targets = append(r.targets, spec.Target)
	r.mu.Unlock()
	return r.Runner.Run(ctx, spec)
}

func (r *targetRecorder) seen() []executor.Target {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.targets)
}

// clusterHarness is a harness whose engine knows the cluster "prod" (backed
// by an inventoryBackend) and whose workers serve local and prod separately.
func clusterHarness(t *testing.T) (*harness, *inventoryBackend, *targetRecorder, *targetRecorder) {
	t.Helper()
	backend := &inventoryBackend{}
	reg, err := cluster.NewRegistry(cluster.RegistryConfig{
		Clusters:   []cluster.Config{{Name: "prod", Type: cluster.TypeKubernetes}},
		NewBackend: func(cluster.Config) (cluster.Backend, error) { return backend, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOpts{engine: engine.Config{Clusters: reg, DiscoveryTimeout: 2 * time.Minute}, noWorker: true})
	local, err := executor.NewLocalRunner(executor.LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	prod, onLocal := &targetRecorder{Runner: local}, &targetRecorder{Runner: local}
	h.startWorker(worker.Config{Name: "local-worker", Runner: onLocal})
	h.startWorker(worker.Config{Name: "prod-worker", Clusters: []string{"prod"},
		RunnerFor: func(name string) (executor.Runner, error) {
			if name != "prod" {
				return nil, errors.New("not served")
			}
			return prod, nil
		}})
	return h, backend, prod, onLocal
}

// discoveredApp registers an app 2.x of cluster prod.
func (h *harness) discoveredApp(scopes ...events.NamespaceSelector) string {
	h.t.Helper()
	app, err := h.store.SaveApp(h.ctx, account, store.App{ID: uuid.NewString(), Name: "payroll-" + uuid.NewString()[:8],
		ClusterID: cluster.IDOf("prod"), NamespaceScopedResources: scopes, Version: "2.1"}, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	return app.ID
}

// TestDiscoveredAppRunsInItsCluster: the stage of an app 2.x runs its hooks
// in the containers discovered from its cluster, on a worker serving that
// cluster, with the cluster in the job and the hook's environment.
func TestDiscoveredAppRunsInItsCluster(t *testing.T) {
	h, backend, prod, onLocal := clusterHarness(t)
	backend.containers = []events.Container{
		ctr("payroll", "db-0", "mysql", "mysql:8.4", "app=db"),
		ctr("payroll", "web-0", "nginx", "nginx:1.27", "app=web"),
	}
	scopes := []events.NamespaceSelector{{Namespace: "payroll", LabelSelectors: []string{"app in (db, web)"}}}
	app := h.discoveredApp(scopes...)
	trace := h.traceFile("trace")
	src := h.source("trace", "#!/bin/sh\necho \"$HOOKSHOT_CLUSTER|$HOOKSHOT_POD_NAME|$HOOKSHOT_CONTAINER_NAME\" >> \"$1\"\n")
	h.hook(matcher.ExecutionHook{Name: "freeze", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace},
		MatchingCriteria: []matcher.Criterion{{Type: "containerImage", Value: `\bmysql\b`}}})

	sr := h.run(h.event(app, "snapshot", "pre"))
	if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 {
		t.Fatalf("stage result %+v", sr)
	}
	if got := readLines(t, trace); !slices.Equal(got, []string{"prod|db-0|mysql"}) {
		t.Errorf("hook ran as %q, want prod|db-0|mysql", got)
	}
	want := executor.Target{Cluster: "prod", Namespace: "payroll", Pod: "db-0", Container: "mysql"}
	if got := prod.seen(); !slices.Equal(got, []executor.Target{want}) {
		t.Errorf("prod runner targets %+v, want %+v", got, want)
	}
	if got := onLocal.seen(); len(got) != 0 {
		t.Errorf("the local worker ran a prod job: %+v", got)
	}
	backend.mu.Lock()
	gotScopes := backend.scopes
	backend.mu.Unlock()
	if len(gotScopes) != 1 || !slices.EqualFunc(gotScopes[0], scopes, func(a, b events.NamespaceSelector) bool {
		return a.Namespace == b.Namespace && slices.Equal(a.LabelSelectors, b.LabelSelectors)
	}) {
		t.Errorf("discovery asked for %+v, want %+v once", gotScopes, scopes)
	}

	// The run records the inventory the stage used and where it came from.
	view, err := h.engine.Run(h.ctx, account, sr.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if st := view.Stages[0]; st.Cluster != "prod" || !st.Discovered || len(st.Inventory) != 2 || st.Inventory[0].PodName != "db-0" {
		t.Errorf("run view stage: cluster %q discovered %v inventory %+v", st.Cluster, st.Discovered, st.Inventory)
	}

	// A static app's hooks still run on the local worker.
	static := uuid.NewString()
	h.hook(matcher.ExecutionHook{Name: "static", AppID: static, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace}})
	sr = h.run(h.event(static, "snapshot", "pre", ctr("ns", "p", "c", "img")))
	if sr.HookState != events.HookStateSuccess || len(onLocal.seen()) != 1 || onLocal.seen()[0].Cluster != events.ClusterLocal {
		t.Errorf("static app: result %+v, local runner targets %+v", sr, onLocal.seen())
	}
}

// TestUnreachableClusterFailsTheStage: when discovery fails the stage fails
// with a detail naming the cluster, never a silent success with no hooks; a
// FAIL-mode pre hook that could not run aborts the action.
func TestUnreachableClusterFailsTheStage(t *testing.T) {
	h, backend, prod, _ := clusterHarness(t)
	backend.down = errors.New("dial tcp 10.0.0.1:6443: connect: connection refused")
	app := h.discoveredApp(events.NamespaceSelector{Namespace: "payroll"})
	src := h.source("ok", "#!/bin/sh\nexit 0\n")
	h.hook(matcher.ExecutionHook{Name: "freeze", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, FailureMode: events.FailureModeFail})

	sr := h.run(h.event(app, "snapshot", "pre"))
	if sr.HookState != events.HookStateFailed || !sr.AbortAction || len(sr.HookStateDetails) != 1 {
		t.Fatalf("stage result %+v, want failed with abortAction and one detail", sr)
	}
	d := sr.HookStateDetails[0]
	for _, want := range []string{"cluster prod", "connection refused", app} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail %q does not name %q", d.Detail, want)
		}
	}
	if d.Type != events.DetailClusterUnavailable {
		t.Errorf("detail type %s", d.Type)
	}
	if len(prod.seen()) != 0 {
		t.Errorf("hooks ran: %+v", prod.seen())
	}

	// Selectors that match nothing: the stage says so and no hook ran.
	backend.mu.Lock()
	backend.down, backend.containers = nil, nil
	backend.mu.Unlock()
	sr = h.run(h.event(app, "snapshot", "pre"))
	if sr.HookState != events.HookStateFailed || len(sr.Executions) != 0 || len(sr.HookStateDetails) != 1 ||
		!strings.Contains(sr.HookStateDetails[0].Detail, "no running container of app") {
		t.Fatalf("no match: stage result %+v", sr)
	}
}

// TestSlowClusterDoesNotHoldUpOtherApps: while one app's discovery waits on
// its cluster, another app's stage is planned and answered; the slow app's
// stage follows once its cluster answers.
func TestSlowClusterDoesNotHoldUpOtherApps(t *testing.T) {
	h, backend, _, _ := clusterHarness(t)
	backend.containers = []events.Container{ctr("payroll", "db-0", "mysql", "mysql:8.4")}
	backend.hold = make(chan struct{})
	slow := h.discoveredApp(events.NamespaceSelector{Namespace: "payroll"})
	src := h.source("ok", "#!/bin/sh\nexit 0\n")
	h.hook(matcher.ExecutionHook{Name: "freeze", AppID: slow, Action: "snapshot", Stage: "pre", HookSourceID: src})
	fast := uuid.NewString()
	h.hook(matcher.ExecutionHook{Name: "flush", AppID: fast, Action: "snapshot", Stage: "pre", HookSourceID: src})

	held := h.event(slow, "snapshot", "pre")
	if _, err := events.PublishLifecycle(h.ctx, h.env.JS, held); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "discovery of the slow app to start", func() bool {
		backend.mu.Lock()
		defer backend.mu.Unlock()
		return backend.entered > 0
	})
	sr := h.run(h.event(fast, "snapshot", "pre", ctr("ns", "web-0", "nginx", "nginx:1.27")))
	if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 {
		t.Fatalf("the other app's stage: %+v", sr)
	}
	close(backend.hold)
	if sr := h.wait(held); sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 {
		t.Fatalf("the slow app's stage: %+v", sr)
	}
}
