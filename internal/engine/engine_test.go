package engine_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/matcher"
)

func TestStageRunsExactlyTheMatchingExecutions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	app := uuid.NewString()
	trace := h.traceFile("trace")
	src := h.source("trace", traceScript)
	// Two hooks match (one on every container, one on mysql only); one is
	// disabled, one is for another stage, one belongs to another app.
	h.hook(matcher.ExecutionHook{Name: "all", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace, "x"}})
	h.hook(matcher.ExecutionHook{Name: "mysql-only", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace, "y"},
		MatchingCriteria: []matcher.Criterion{{Type: "containerImage", Value: `\bmysql\b`}, {Type: "podLabel", Value: `^app=db$`}}})
	h.hook(matcher.ExecutionHook{Name: "disabled", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace}, Enabled: "false"})
	h.hook(matcher.ExecutionHook{Name: "post", AppID: app, Action: "snapshot", Stage: "post", HookSourceID: src, Arguments: []string{trace}})
	h.hook(matcher.ExecutionHook{Name: "other-app", AppID: uuid.NewString(), Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace}})

	sr := h.run(h.event(app, "snapshot", "pre",
		ctr("prod", "db-0", "mysql", "docker.io/library/mysql:8", "app=db"),
		ctr("prod", "db-0", "sidecar", "envoy:1.30", "app=db"),
		ctr("prod", "web-0", "web", "nginx:1.27", "app=web"),
	))
	if sr.HookState != events.HookStateSuccess || len(sr.HookStateDetails) != 0 || sr.AbortAction {
		t.Fatalf("stage result %+v", sr)
	}
	got := readLines(t, trace)
	slices.Sort(got)
	want := []string{"all|mysql|1|x", "all|sidecar|1|x", "all|web|1|x", "mysql-only|mysql|1|y"}
	if !slices.Equal(got, want) {
		t.Fatalf("executions ran:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(sr.Executions) != 4 {
		t.Fatalf("stage result lists %d executions, want 4", len(sr.Executions))
	}
	for _, x := range sr.Executions {
		if x.Status != events.StatusSucceeded || x.ExitCode != 0 || x.Attempt != 1 {
			t.Errorf("execution %+v", x)
		}
	}
}

func TestFailingHookNamesHookContainerAndExitCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	app := uuid.NewString()
	src := h.source("fail", "echo 'cannot lock tables' >&2\nexit 3\n")
	h.hook(matcher.ExecutionHook{Name: "freeze", AppID: app, Action: "backup", Stage: "pre", HookSourceID: src})
	sr := h.run(h.event(app, "backup", "pre", ctr("prod", "db-0", "mysql", "mysql:8")))
	if sr.HookState != events.HookStateFailed || len(sr.HookStateDetails) != 1 {
		t.Fatalf("stage result %+v", sr)
	}
	d := sr.HookStateDetails[0]
	for _, want := range []string{`"freeze"`, "prod/db-0/mysql", "exit code 3", "cannot lock tables"} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail %q does not mention %s", d.Detail, want)
		}
	}
	if d.Title != "Hook freeze failed" || len([]rune(d.Title)) > 40 || d.Type != events.DetailHookFailed {
		t.Errorf("detail %+v", d)
	}
	if sr.AbortAction {
		t.Error("a WARN hook aborted the action")
	}
}

func TestFailureModes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	trace := h.traceFile("thaw")
	fail := h.source("fail", "exit 1\n")
	thaw := h.source("thaw", traceScript)
	for _, tt := range []struct {
		mode      string
		wantAbort bool
	}{{"WARN", false}, {"", false}, {"FAIL", true}} {
		app := uuid.NewString()
		// Names are unique per account.
		h.hook(matcher.ExecutionHook{Name: "freeze-" + tt.mode, AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: fail, FailureMode: matcher.FailureMode(tt.mode)})
		h.hook(matcher.ExecutionHook{Name: "thaw-" + tt.mode, AppID: app, Action: "snapshot", Stage: "post", HookSourceID: thaw, Arguments: []string{trace, tt.mode}})
		c := ctr("prod", "db-0", "mysql", "mysql:8")
		pre := h.event(app, "snapshot", "pre", c)
		sr := h.run(pre)
		if sr.HookState != events.HookStateFailed || sr.AbortAction != tt.wantAbort {
			t.Errorf("mode %q: hookState %s abortAction %v, want failed %v", tt.mode, sr.HookState, sr.AbortAction, tt.wantAbort)
		}
		post := *pre
		post.Stage = "post"
		if sr := h.run(&post); sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 {
			t.Errorf("mode %q: post stage %+v", tt.mode, sr)
		}
	}
	if got := readLines(t, trace); len(got) != 3 {
		t.Fatalf("thaw ran %d times, want 3: %q", len(got), got)
	}
}

func TestSameLifecycleEventTwiceRunsHooksOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	app := uuid.NewString()
	trace := h.traceFile("trace")
	src := h.source("trace", traceScript)
	h.hook(matcher.ExecutionHook{Name: "once", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace}})
	ev := h.event(app, "snapshot", "pre", ctr("prod", "db-0", "mysql", "mysql:8"))
	for range 3 {
		if _, err := events.PublishLifecycle(h.ctx, h.env.JS, ev); err != nil {
			t.Fatal(err)
		}
	}
	first := h.wait(ev)
	// Even published again under a different message ID (past the duplicate
	// window, say), the stage is not planned or run a second time.
	if _, err := events.Publish(h.ctx, h.env.JS, events.LifecycleSubject(account, app, "snapshot", "pre"), events.TypeLifecycle, "another-id", ev); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second event consumed", func() bool {
		c, err := h.env.JS.Consumer(h.ctx, events.StreamLifecycle, events.ConsumerLifecycle)
		if err != nil {
			return false
		}
		info, err := c.Info(h.ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	if got := readLines(t, trace); len(got) != 1 {
		t.Fatalf("hook ran %d times: %q", len(got), got)
	}
	if again := h.wait(ev); again.Finished != first.Finished {
		t.Fatalf("stage result changed: %v vs %v", again.Finished, first.Finished)
	}
}

func TestHooksOfOneContainerRunInNameOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	app := uuid.NewString()
	trace := h.traceFile("trace")
	// Each hook sleeps a little so that out-of-order starts would interleave.
	src := h.source("ordered", "#!/bin/sh\necho \"start $HOOKSHOT_HOOK_NAME $HOOKSHOT_CONTAINER_NAME\" >> \"$1\"\nsleep 0.05\necho \"end $HOOKSHOT_HOOK_NAME $HOOKSHOT_CONTAINER_NAME\" >> \"$1\"\n")
	for _, name := range []string{"c-third", "a-first", "b-second"} {
		h.hook(matcher.ExecutionHook{Name: name, AppID: app, Action: "snapshot", Stage: "post", HookSourceID: src, Arguments: []string{trace}})
	}
	sr := h.run(h.event(app, "snapshot", "post", ctr("ns", "p", "one", "i"), ctr("ns", "p", "two", "i")))
	if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 6 {
		t.Fatalf("stage result %+v", sr)
	}
	for _, c := range []string{"one", "two"} {
		var seq []string
		for _, l := range readLines(t, trace) {
			if strings.HasSuffix(l, " "+c) {
				seq = append(seq, strings.TrimSuffix(l, " "+c))
			}
		}
		want := []string{"start a-first", "end a-first", "start b-second", "end b-second", "start c-third", "end c-third"}
		if !slices.Equal(seq, want) {
			t.Errorf("container %s ran %q, want %q", c, seq, want)
		}
	}
}

func TestInventoryFromRegisteredApp(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	app := uuid.NewString()
	trace := h.traceFile("trace")
	src := h.source("trace", traceScript)
	h.hook(matcher.ExecutionHook{Name: "h", AppID: app, Action: "restore", Stage: "post", HookSourceID: src, Arguments: []string{trace},
		MatchingCriteria: []matcher.Criterion{{Type: "namespaceName", Value: "^prod$"}}})

	// No inventory anywhere: the hook cannot be placed, and that is a failure, not a silent success.
	sr := h.run(h.event(app, "restore", "post"))
	if sr.HookState != events.HookStateFailed || len(sr.HookStateDetails) != 1 || !strings.Contains(sr.HookStateDetails[0].Detail, "the event carried no containers and no app with id "+app+" is registered") {
		t.Fatalf("without inventory: %+v", sr)
	}
	// Registered with no containers: the detail says that, not that the app
	// is not registered.
	if _, err := h.store.SaveApp(h.ctx, account, storeApp(app), "test"); err != nil {
		t.Fatal(err)
	}
	sr = h.run(h.event(app, "restore", "post"))
	if d := sr.HookStateDetails; sr.HookState != events.HookStateFailed || len(d) != 1 || !strings.Contains(d[0].Detail, "is registered with no containers, and the event carried none") ||
		strings.Contains(d[0].Detail, "no app with id") {
		t.Fatalf("registered without containers: %+v", sr)
	}
	if _, err := h.store.SaveApp(h.ctx, account, storeApp(app, ctr("prod", "p", "c1", "i"), ctr("dev", "p", "c2", "i")), "test"); err != nil {
		t.Fatal(err)
	}
	sr = h.run(h.event(app, "restore", "post"))
	if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 || sr.Executions[0].Container.ContainerName != "c1" {
		t.Fatalf("with registered inventory: %+v", sr)
	}
}

func TestSourceChangedAfterPlanningRunsThePlannedVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noWorker: true})
	app := uuid.NewString()
	src := h.source("s", "exit 0\n")
	h.hook(matcher.ExecutionHook{Name: "h", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src})
	ev := h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i"))
	if _, err := events.PublishLifecycle(h.ctx, h.env.JS, ev); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "job queued", func() bool {
		s, err := h.env.JS.Stream(h.ctx, events.StreamJobs)
		if err != nil {
			return false
		}
		info, err := s.Info(h.ctx)
		return err == nil && info.State.Msgs == 1
	})
	changed, err := h.store.Sources.Get(h.ctx, account, src)
	if err != nil {
		t.Fatal(err)
	}
	next := changed.Value.Source
	next.Source = "ZXhpdCAxCg==" // "exit 1"
	if _, err := h.store.SaveSource(h.ctx, account, next, "test"); err != nil {
		t.Fatal(err)
	}
	h.startWorker(engineWorkerConfig())
	// The stage runs what it was planned with: version 1.0.0, "exit 0".
	sr := h.wait(ev)
	if sr.HookState != events.HookStateSuccess || sr.Executions[0].HookVersion != "1.0.0" {
		t.Fatalf("planned run: %+v", sr)
	}
	// The changed source made version 1.0.1 the default: the next run uses it.
	sr = h.run(h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i")))
	if sr.HookState != events.HookStateFailed || sr.Executions[0].HookVersion != "1.0.1" || sr.Executions[0].ExitCode != 1 {
		t.Fatalf("next run: %+v", sr)
	}
}

// A hook stored just before the lifecycle event is published runs: the
// engine waits for its index to catch up with the hooks bucket before it
// plans a stage.
func TestHookWrittenJustBeforeTheEventRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	src := h.source("ok", "exit 0\n")
	for i := range 10 {
		app := uuid.NewString()
		hk := matcher.ExecutionHook{Type: matcher.MediaType, Version: "1.3", HookType: "custom",
			Name: fmt.Sprintf("fresh-%d", i), AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src}
		if _, err := h.store.SaveHook(h.ctx, account, hk, "test"); err != nil {
			t.Fatal(err)
		}
		sr := h.run(h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i")))
		if len(sr.Executions) != 1 {
			t.Fatalf("round %d: the fresh hook did not run: %+v", i, sr)
		}
	}
}
