package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/internal/testkit"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

const account = "acct"

// harness is a real embedded NATS server with an engine and a worker.
type harness struct {
	t      *testing.T
	env    *natstest.Env
	ctx    context.Context
	engine *engine.Engine
	worker *worker.Worker
	store  *store.Store
	dir    string // where hook scripts leave their traces
	runs   atomic.Int64
}

type harnessOpts struct {
	engine   engine.Config
	worker   worker.Config
	noWorker bool
}

func newHarness(t *testing.T, opts harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, env: natstest.Start(t), ctx: natstest.Context(t, 2*time.Minute), dir: t.TempDir()}
	if err := events.Provision(h.ctx, h.env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	h.startEngine(opts.engine)
	if !opts.noWorker {
		h.worker = h.startWorker(opts.worker)
	}
	st, err := store.Open(h.ctx, h.env.JS)
	if err != nil {
		t.Fatal(err)
	}
	h.store = st
	return h
}

func (h *harness) startEngine(cfg engine.Config) {
	h.t.Helper()
	cfg.JS = h.env.JS
	cfg.Logger = zaptest.NewLogger(h.t)
	e, err := engine.New(h.ctx, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := e.Start(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { stopWithin(h.t, e.Stop) })
	h.engine = e
}

func (h *harness) startWorker(cfg worker.Config) *worker.Worker {
	h.t.Helper()
	if cfg.JS == nil {
		cfg.JS = h.env.JS
	}
	cfg.Logger = zaptest.NewLogger(h.t)
	cfg.AckWait = max(cfg.AckWait, time.Second)
	cfg.KillGrace = 500 * time.Millisecond
	w, err := worker.New(h.ctx, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := w.Start(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { stopWithin(h.t, w.Stop) })
	return w
}

func stopWithin(t *testing.T, stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = stop(ctx)
}

// source stores a script in account and returns its id.
func (h *harness) source(name, script string) string { return h.sourceIn(account, name, script) }

func (h *harness) sourceIn(acct, name, script string) string {
	h.t.Helper()
	rec, err := h.store.SaveSource(h.ctx, acct, *executor.NewScriptSource(name, []byte(script)), "test")
	if err != nil {
		h.t.Fatal(err)
	}
	return rec.Source.ID
}

// hook stores an execution hook in account and waits until the engine's
// index has it.
func (h *harness) hook(hk matcher.ExecutionHook) string { return h.hookIn(account, hk) }

func (h *harness) hookIn(acct string, hk matcher.ExecutionHook) string {
	h.t.Helper()
	hk.Type, hk.Version, hk.HookType = matcher.MediaType, "1.3", "custom"
	rec, err := h.store.SaveHook(h.ctx, acct, hk, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	waitFor(h.t, "hook indexed", func() bool {
		got, ok := h.engine.Index().Get(acct, rec.Hook.ID)
		return ok && got.Enabled == rec.Hook.Enabled && got.HookSourceID == rec.Hook.HookSourceID
	})
	return rec.Hook.ID
}

// event returns a lifecycle event of a new run of app.
func (h *harness) event(app string, action events.Action, stage events.Stage, cs ...events.Container) *events.LifecycleEvent {
	return &events.LifecycleEvent{
		RunID: fmt.Sprintf("run-%d-%d", time.Now().UnixNano(), h.runs.Add(1)), AccountID: account, AppID: app,
		Action: action, Stage: stage, Containers: cs,
	}
}

// run publishes ev and waits for its stage result.
func (h *harness) run(ev *events.LifecycleEvent) *events.StageResult {
	h.t.Helper()
	if _, err := events.PublishLifecycle(h.ctx, h.env.JS, ev); err != nil {
		h.t.Fatal(err)
	}
	return h.wait(ev)
}

func (h *harness) wait(ev *events.LifecycleEvent) *events.StageResult {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	sr, err := events.WaitStageResult(ctx, h.env.JS, ev.AccountID, ev.RunID, ev.Action, ev.Stage)
	if err != nil {
		h.t.Fatal(err)
	}
	return sr
}

// traceFile is a file in the harness's directory for scripts to append to.
func (h *harness) traceFile(name string) string { return filepath.Join(h.dir, name) }

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 30*time.Second, what, cond)
}

func ctr(ns, pod, name, image string, labels ...string) events.Container {
	c := events.Container{NamespaceName: ns, PodName: pod, ContainerName: name, ContainerImage: image}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		c.PodLabels = append(c.PodLabels, events.Label{Name: k, Value: v})
	}
	return c
}

// traceScript appends one line per execution: hook|container|attempt|arg1.
const traceScript = `#!/bin/sh
echo "$HOOKSHOT_HOOK_NAME|$HOOKSHOT_CONTAINER_NAME|$HOOKSHOT_ATTEMPT|$2" >> "$1"
`
