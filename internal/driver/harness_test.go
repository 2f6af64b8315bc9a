package driver_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/internal/testkit"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

const account = "acct"

// harness is a real embedded NATS server with an engine, a worker and the
// stored resources hooks need; drivers are started per test.
type harness struct {
	t      *testing.T
	env    *natstest.Env
	ctx    context.Context
	store  *store.Store
	engine *engine.Engine
	worker *worker.Worker
	dir    string // trace files, one per app
	src    string // the trace script's source id
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, env: natstest.Start(t), ctx: natstest.Context(t, 2*time.Minute), dir: t.TempDir()}
	if err := events.Provision(h.ctx, h.env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(h.ctx, h.env.JS)
	if err != nil {
		t.Fatal(err)
	}
	h.store = st
	h.startEngine()
	h.startWorker()
	rec, err := st.SaveSource(h.ctx, account, *executor.NewScriptSource("trace", []byte(traceScript)), "test")
	if err != nil {
		t.Fatal(err)
	}
	h.src = rec.Source.ID
	return h
}

func (h *harness) startEngine() {
	h.t.Helper()
	e, err := engine.New(h.ctx, engine.Config{JS: h.env.JS, Logger: zaptest.NewLogger(h.t).Named("engine")})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := e.Start(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { stopWithin(h.t, e.Stop) })
	h.engine = e
}

func (h *harness) startWorker() {
	h.t.Helper()
	w, err := worker.New(h.ctx, worker.Config{
		JS: h.env.JS, Logger: zaptest.NewLogger(h.t).Named("worker"), Concurrency: 4, KillGrace: 500 * time.Millisecond,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := w.Start(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { stopWithin(h.t, w.Stop) })
	h.worker = w
}

// startDriver starts a driver on the harness's connection unless cfg has one.
func (h *harness) startDriver(cfg driver.Config) *driver.Driver {
	h.t.Helper()
	if cfg.JS == nil {
		cfg.JS = h.env.JS
	}
	cfg.Logger = zaptest.NewLogger(h.t).Named("driver")
	d, err := driver.New(h.ctx, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := d.Start(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { stopWithin(h.t, d.Stop) })
	return d
}

func stopWithin(t *testing.T, stop func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// hk is a hook of the app under test: it traces "<action>/<stage> <name>"
// and then succeeds, fails (exit 3) or blocks until the test releases it.
type hk struct {
	name   string
	action events.Action
	stage  events.Stage
	mode   matcher.FailureMode // failureMode: "" (WARN) or FAIL
	behave string              // "", "fail" or "block"
}

// app registers a new app with one container and the given hooks (waiting
// until the engine has indexed them), and returns its id. Each hook is
// stored as hookName(app, name).
func (h *harness) app(hooks ...hk) string {
	h.t.Helper()
	app := uuid.NewString()
	c := events.Container{NamespaceName: "prod", PodName: "db-0", ContainerName: "mysql", ContainerImage: "mysql:8.4"}
	if _, err := h.store.SaveApp(h.ctx, account, store.App{ID: app, Name: "app-" + app[:8], Containers: []events.Container{c}}, "test"); err != nil {
		h.t.Fatal(err)
	}
	for _, x := range hooks {
		args := []string{h.trace(app)}
		if x.behave != "" {
			args = append(args, x.behave)
		}
		rec, err := h.store.SaveHook(h.ctx, account, matcher.ExecutionHook{
			Type: matcher.MediaType, Version: "1.3", HookType: "custom",
			Name: x.name + "-" + app[:8], AppID: app, Action: x.action, Stage: x.stage, HookSourceID: h.src,
			Arguments: args, FailureMode: x.mode,
		}, "test")
		if err != nil {
			h.t.Fatal(err)
		}
		waitFor(h.t, "hook indexed", func() bool { _, ok := h.engine.Index().Get(account, rec.Hook.ID); return ok })
	}
	rel := h.trace(app) + ".release"
	h.t.Cleanup(func() { _ = os.WriteFile(rel, nil, 0o600) }) // unblock "block" hooks before the worker stops
	return app
}

// release lets the app's "block" hooks finish.
func (h *harness) release(app string) {
	h.t.Helper()
	if err := os.WriteFile(h.trace(app)+".release", nil, 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// trace is the app's trace file: hooks and performers append to it.
func (h *harness) trace(app string) string { return filepath.Join(h.dir, app) }

// lines is what ran for app, in order.
func (h *harness) lines(app string) []string {
	h.t.Helper()
	b, err := os.ReadFile(h.trace(app))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	// Hook names are unique in the account: they carry the app's prefix.
	text := strings.ReplaceAll(string(b), "-"+app[:8]+"\n", "\n")
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// hookName is the stored name of the app's hook called name.
func hookName(app, name string) string { return name + "-" + app[:8] }

// with is h for a subtest: failures and cleanups go to t.
func (h *harness) with(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// create creates an action through d.
func (h *harness) create(d *driver.Driver, a driver.Action) *driver.Action {
	h.t.Helper()
	a.Account = account
	got, rev, err := d.Create(h.ctx, a, "tester")
	if err != nil {
		h.t.Fatal(err)
	}
	if rev == 0 || got.State != driver.StatePending || got.ID == "" || got.RunID == "" {
		h.t.Fatalf("created %+v at revision %d", got, rev)
	}
	return got
}

// wait waits up to 60s for the action to be terminal.
func (h *harness) wait(d *driver.Driver, id string) *driver.Action {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	a, err := d.Wait(ctx, account, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 30*time.Second, what, cond)
}

// receive waits up to 30s for a value from ch.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// traceScript appends "<action>/<stage> <hook>" to $1, then fails or
// blocks (until the file $1.release exists) as $2 says.
const traceScript = `#!/bin/sh
echo "$HOOKSHOT_ACTION/$HOOKSHOT_STAGE $HOOKSHOT_HOOK_NAME" >> "$1"
case "$2" in
fail) echo "cannot lock tables" >&2; exit 3 ;;
block) while [ ! -e "$1.release" ]; do sleep 0.05; done ;;
esac
`

// performer counts its calls and traces "perform" in the app's trace file,
// then does what fn says (nil: succeed).
type performer struct {
	dir   string
	calls atomic.Int32
	fn    func(ctx context.Context, a *driver.Action) error
	mu    sync.Mutex
}

func (p *performer) Perform(ctx context.Context, a *driver.Action) error {
	p.calls.Add(1)
	p.mu.Lock()
	f, err := os.OpenFile(filepath.Join(p.dir, a.AppID), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = f.WriteString("perform\n")
		_ = f.Close()
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if p.fn != nil {
		return p.fn(ctx, a)
	}
	return nil
}

func (h *harness) performer(fn func(ctx context.Context, a *driver.Action) error) *performer {
	return &performer{dir: h.dir, fn: fn}
}

var _ driver.Performer = (*performer)(nil)
