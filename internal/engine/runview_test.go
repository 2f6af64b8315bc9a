package engine_test

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// A run's view follows its executions from queued to running to their
// outcome, with exit codes and captured output; lists show the account's
// runs only, newest first.
func TestRunView(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{worker: worker.Config{Name: "w-1", Concurrency: 2}})
	app := uuid.NewString()
	gate := h.traceFile("gate")
	slow := h.source("slow", "#!/bin/sh\nwhile [ ! -f \"$1\" ]; do sleep 0.02; done\necho slow done\n")
	fail := h.source("fail", "#!/bin/sh\necho about to fail\necho boom >&2\nexit 3\n")
	h.hook(matcher.ExecutionHook{Name: "a-slow", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: slow, Arguments: []string{gate}})
	h.hook(matcher.ExecutionHook{Name: "b-fail", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: fail})

	ev := h.event(app, "snapshot", "pre", ctr("prod", "db-0", "mysql", "mysql:8"))
	if _, err := events.PublishLifecycle(h.ctx, h.env.JS, ev); err != nil {
		t.Fatal(err)
	}
	// a-slow runs, b-fail waits behind it in the same container.
	var view *engine.RunView
	waitFor(t, "a-slow running", func() bool {
		v, err := h.engine.Run(h.ctx, account, ev.RunID)
		if errors.Is(err, engine.ErrRunNotFound) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		view = v
		return len(v.Stages) == 1 && len(v.Stages[0].Executions) == 2 && v.Stages[0].Executions[0].Status == engine.ExecutionRunning
	})
	st := view.Stages[0]
	running, queued := st.Executions[0], st.Executions[1]
	if view.AppID != app || view.AccountID != account || st.Action != "snapshot" || st.Stage != "pre" || st.HookState != "" || st.Finished != nil ||
		running.HookName != "a-slow" || running.Attempt != 1 || running.Worker != "w-1" || running.Started == nil || running.ExitCode != nil ||
		queued.HookName != "b-fail" || queued.Status != engine.ExecutionQueued || queued.Started != nil || queued.Container.ContainerName != "mysql" {
		t.Fatalf("while running: %+v", view)
	}

	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if sr := h.wait(ev); sr.HookState != events.HookStateFailed {
		t.Fatalf("stage result %+v", sr)
	}
	view, err := h.engine.Run(h.ctx, account, ev.RunID)
	if err != nil {
		t.Fatal(err)
	}
	st = view.Stages[0]
	ok, bad := st.Executions[0], st.Executions[1]
	if st.HookState != events.HookStateFailed || st.Finished == nil || len(st.Details) != 1 {
		t.Fatalf("finished stage: %+v", st)
	}
	if ok.Status != events.StatusSucceeded || ok.ExitCode == nil || *ok.ExitCode != 0 || ok.Stdout == nil || ok.Stdout.Text != "slow done\n" || ok.Finished == nil {
		t.Fatalf("succeeded execution: %+v", ok)
	}
	if bad.Status != events.StatusFailed || bad.ExitCode == nil || *bad.ExitCode != 3 || bad.Stderr.Text != "boom\n" || bad.Stdout.Text != "about to fail\n" {
		t.Fatalf("failed execution: %+v", bad)
	}

	// A second, later run that succeeds (no hooks for snapshot/post).
	post := *ev
	post.Stage = "post"
	h.run(&post)
	later := h.event(app, "failover", "post", ctr("prod", "db-0", "mysql", "mysql:8"))
	h.run(later)

	tests := []struct {
		name    string
		account string
		limit   int
		want    []string
	}{
		{name: "newest first", account: account, want: []string{later.RunID, ev.RunID}},
		{name: "limit", account: account, limit: 1, want: []string{later.RunID}},
		{name: "another account sees none", account: "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := h.engine.Runs(h.ctx, tt.account, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range list {
				ids = append(ids, s.RunID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("runs %q, want %q", ids, tt.want)
			}
		})
	}
	list, _ := h.engine.Runs(h.ctx, account, 0)
	first := list[1]
	if first.AppID != app || !slices.Equal(first.Stages, []string{"snapshot/pre failed", "snapshot/post success"}) ||
		first.HookState != events.HookStateFailed || first.Finished == nil || first.Planned.IsZero() {
		t.Fatalf("summary %+v", first)
	}
	if list[0].HookState != events.HookStateSuccess || !slices.Equal(list[0].Stages, []string{"failover/post success"}) {
		t.Fatalf("summary %+v", list[0])
	}

	for _, tt := range []struct{ name, account, run string }{
		{"unknown run", account, "no-such-run"},
		{"another account's run", "other", ev.RunID},
		{"invalid id", account, "a.b"},
	} {
		if _, err := h.engine.Run(h.ctx, tt.account, tt.run); !errors.Is(err, engine.ErrRunNotFound) {
			t.Errorf("%s: %v, want ErrRunNotFound", tt.name, err)
		}
	}
}
