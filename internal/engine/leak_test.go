package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// panicRunner is a Runner with a bug: it panics instead of returning.
type panicRunner struct{}

func (panicRunner) Run(context.Context, executor.Spec) (executor.Outcome, error) {
	panic("runner bug")
}

var _ executor.Runner = panicRunner{}

// A Runner that panics is a failed execution, not a crash, and once the
// engine, the worker and NATS are stopped nothing of theirs is left running:
// in particular not the heartbeat that was extending the job's ack deadline
// when the panic unwound past it.
//
// Not parallel: it checks for leaks against the goroutines that existed when
// it started, so nothing else may start any while it runs.
func TestRunnerPanicIsAFailedResultAndLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	h := newHarness(t, harnessOpts{noWorker: true})
	w := h.startWorker(worker.Config{Name: "panicky", Runner: panicRunner{}, Concurrency: 1})
	app := uuid.NewString()
	src := h.source("never-runs", "exit 0\n")
	h.hook(matcher.ExecutionHook{Name: "h", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src})

	sr := h.run(h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i")))
	if sr.HookState != events.HookStateFailed || len(sr.HookStateDetails) != 1 ||
		!strings.Contains(sr.HookStateDetails[0].Detail, "panicked: runner bug") {
		t.Fatalf("stage result %+v", sr)
	}

	stopWithin(t, w.Stop)
	stopWithin(t, h.engine.Stop)
	h.env.Stop()
	goleak.VerifyNone(t, before)
}
