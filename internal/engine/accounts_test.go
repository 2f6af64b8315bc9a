package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/matcher"
)

// Run IDs are chosen by controllers, so two accounts may use the same one
// (with the same app id, too): each account's stages run their own hooks
// and answer with their own stage results, and neither run is taken for a
// duplicate of the other — not the lifecycle events, the jobs, the
// execution results, the run state, the stage results nor the pairing that
// runs a forgotten post stage.
func TestSameRunIDInTwoAccounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{engine: engine.Config{PairingTimeout: 500 * time.Millisecond, PairingInterval: 100 * time.Millisecond}})
	const runID = "r-shared"
	app := uuid.NewString()
	c := ctr("ns", "p", "c", "i")
	type acct struct {
		name, trace string
		hooks       map[string]string // stage → hook id
	}
	accts := []*acct{{name: account}, {name: "acct-b"}}
	for _, a := range accts {
		a.trace = h.traceFile(a.name)
		src := h.sourceIn(a.name, "trace", traceScript)
		a.hooks = map[string]string{
			"pre":  h.hookIn(a.name, matcher.ExecutionHook{Name: "freeze", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{a.trace, "freeze"}}),
			"post": h.hookIn(a.name, matcher.ExecutionHook{Name: "thaw", AppID: app, Action: "snapshot", Stage: "post", HookSourceID: src, Arguments: []string{a.trace, "thaw"}}),
		}
	}
	for _, a := range accts {
		ev := &events.LifecycleEvent{RunID: runID, AccountID: a.name, AppID: app, Action: "snapshot", Stage: "pre", Containers: []events.Container{c}}
		if _, err := events.PublishLifecycle(h.ctx, h.env.JS, ev); err != nil {
			t.Fatal(err)
		}
	}
	// Only the pre stages were asked for: the engine runs each account's
	// post stage itself.
	seen := map[string]string{} // execution id → account
	for _, a := range accts {
		for _, stage := range []string{"pre", "post"} {
			sr := h.wait(&events.LifecycleEvent{RunID: runID, AccountID: a.name, AppID: app, Action: "snapshot", Stage: events.Stage(stage)})
			if sr.AccountID != a.name || sr.HookState != events.HookStateSuccess || sr.Replayed || len(sr.Executions) != 1 {
				t.Fatalf("%s %s: stage result %+v", a.name, stage, sr)
			}
			x := sr.Executions[0]
			if x.HookID != a.hooks[stage] || x.ExecutionID != engine.ExecutionID(a.name, runID, "snapshot", events.Stage(stage), a.hooks[stage], c) {
				t.Errorf("%s %s: execution %+v is not of the account's hook %s", a.name, stage, x, a.hooks[stage])
			}
			if other, dup := seen[x.ExecutionID]; dup {
				t.Errorf("%s %s: execution id %s also used by %s", a.name, stage, x.ExecutionID, other)
			}
			seen[x.ExecutionID] = a.name
		}
		if got := readLines(t, a.trace); strings.Join(got, ",") != "freeze|c|1|freeze,thaw|c|1|thaw" {
			t.Errorf("%s: hooks ran %q", a.name, got)
		}
	}

	// Each account sees its own run, and only its own.
	for _, a := range accts {
		v, err := h.engine.Run(h.ctx, a.name, runID)
		if err != nil {
			t.Fatal(err)
		}
		if v.AccountID != a.name || len(v.Stages) != 2 {
			t.Fatalf("%s: run view %+v", a.name, v)
		}
		for _, s := range v.Stages {
			if len(s.Executions) != 1 || s.Executions[0].HookID != a.hooks[string(s.Stage)] || s.Executions[0].Status != events.StatusSucceeded {
				t.Errorf("%s %s: executions %+v", a.name, s.Stage, s.Executions)
			}
		}
		list, err := h.engine.Runs(h.ctx, a.name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].RunID != runID || len(list[0].Stages) != 2 || list[0].HookState != events.HookStateSuccess {
			t.Errorf("%s: runs %+v", a.name, list)
		}
	}
}
