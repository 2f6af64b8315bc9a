package driver_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/driver"
)

func wantTrace(t *testing.T, h *harness, app string, want ...string) {
	t.Helper()
	if got := h.lines(app); !slices.Equal(got, want) {
		t.Fatalf("ran:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func stagesOf(a *driver.Action) []string {
	var out []string
	for _, s := range a.Stages {
		out = append(out, string(s.Action)+"/"+string(s.Stage)+":"+string(s.HookState))
	}
	return out
}

func TestSnapshotRunsPreThenPerformThenPost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := h.app(hk{name: "freeze", action: "snapshot", stage: "pre"}, hk{name: "thaw", action: "snapshot", stage: "post"})
	p := h.performer(nil)
	d := h.startDriver(driver.Config{Performer: p})

	created := h.create(d, driver.Action{AppID: app, Kind: driver.KindSnapshot})
	a := h.wait(d, created.ID)
	if a.State != driver.StateCompleted || a.HookState != events.HookStateSuccess || len(a.StateUnready) != 0 || len(a.HookStateDetails) != 0 {
		t.Fatalf("action %+v", a)
	}
	wantTrace(t, h, app, "snapshot/pre freeze", "perform", "snapshot/post thaw")
	if got := stagesOf(a); !slices.Equal(got, []string{"snapshot/pre:success", "snapshot/post:success"}) {
		t.Errorf("stages %q", got)
	}
	if a.Lease != nil || a.Finished == nil || a.Step != 3 || a.RunID != a.ID || !strings.HasPrefix(a.Name, "snapshot-") {
		t.Errorf("finished action %+v", a)
	}
	if a.Metadata.CreatedBy != "tester" || a.Metadata.CreationTimestamp == "" || a.Metadata.ModificationTimestamp < a.Metadata.CreationTimestamp {
		t.Errorf("metadata %+v", a.Metadata)
	}
	for _, s := range a.Stages {
		if s.Started.IsZero() || s.Finished.Before(s.Started) {
			t.Errorf("stage times %+v", s)
		}
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("performed %d times", n)
	}
}

func TestBackupPlans(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	every := []hk{
		{name: "bfreeze", action: "backup", stage: "pre"}, {name: "freeze", action: "snapshot", stage: "pre"},
		{name: "thaw", action: "snapshot", stage: "post"}, {name: "bthaw", action: "backup", stage: "post"},
	}
	d := h.startDriver(driver.Config{Performer: h.performer(nil)})
	for _, tt := range []struct {
		name       string
		snapshotID string
		want       []string
	}{
		{"takes its own snapshot", "", []string{"backup/pre bfreeze", "snapshot/pre freeze", "perform", "snapshot/post thaw", "backup/post bthaw"}},
		{"of an existing snapshot", "05c357ed-30ce-432f-bbb0-9d5ff1695428", []string{"backup/pre bfreeze", "perform", "backup/post bthaw"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			app := h.app(every...)
			a := h.wait(d, h.create(d, driver.Action{AppID: app, Kind: driver.KindBackup, SnapshotID: tt.snapshotID}).ID)
			if a.State != driver.StateCompleted || a.HookState != events.HookStateSuccess {
				t.Fatalf("action %+v", a)
			}
			wantTrace(t, h, app, tt.want...)
			if len(a.Stages) != len(tt.want)-1 {
				t.Errorf("stages %q", stagesOf(a))
			}
		})
	}
}

func TestRestoreAndFailoverRunOnlyTheirPostStage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	d := h.startDriver(driver.Config{Performer: h.performer(nil)})
	for _, kind := range []driver.Kind{driver.KindRestore, driver.KindFailover} {
		t.Run(string(kind), func(t *testing.T) {
			h := h.with(t)
			app := h.app(hk{name: "freeze", action: "snapshot", stage: "pre"}, hk{name: "repoint", action: events.Action(kind), stage: "post"},
				hk{name: "bfreeze", action: "backup", stage: "pre"})
			a := h.wait(d, h.create(d, driver.Action{AppID: app, Kind: kind}).ID)
			if a.State != driver.StateCompleted || a.HookState != events.HookStateSuccess {
				t.Fatalf("action %+v", a)
			}
			wantTrace(t, h, app, "perform", string(kind)+"/post repoint")
		})
	}
}

func TestWarnHookFailureCompletesWithHookStateFailed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := h.app(hk{name: "freeze", action: "snapshot", stage: "pre", behave: "fail"}, hk{name: "thaw", action: "snapshot", stage: "post"})
	p := h.performer(nil)
	d := h.startDriver(driver.Config{Performer: p})
	a := h.wait(d, h.create(d, driver.Action{AppID: app, Kind: driver.KindSnapshot}).ID)
	if a.State != driver.StateCompleted || a.HookState != events.HookStateFailed || len(a.StateUnready) != 0 {
		t.Fatalf("action %+v", a)
	}
	if len(a.HookStateDetails) != 1 {
		t.Fatalf("details %+v", a.HookStateDetails)
	}
	det := a.HookStateDetails[0]
	if det.Title != "Hook "+hookName(app, "freeze")+" failed" || !strings.Contains(det.Detail, `"`+hookName(app, "freeze")+`"`) || !strings.Contains(det.Detail, "prod/db-0/mysql") {
		t.Errorf("detail %+v", det)
	}
	wantTrace(t, h, app, "snapshot/pre freeze", "perform", "snapshot/post thaw")
	if got := stagesOf(a); !slices.Equal(got, []string{"snapshot/pre:failed", "snapshot/post:success"}) || a.Stages[0].AbortAction {
		t.Errorf("stages %+v", a.Stages)
	}
}

func TestFailModePreHookAbortsActionButOwedPostsRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.performer(nil)
	d := h.startDriver(driver.Config{Performer: p})
	for _, tt := range []struct {
		name        string
		failing     events.Action // the action of the FAIL-mode pre hook that fails
		wantTrace   []string
		wantUnready string
	}{
		{"pre-snapshot fails", "snapshot",
			[]string{"backup/pre bfreeze", "snapshot/pre freeze", "snapshot/post thaw", "backup/post bthaw"},
			"pre-snapshot hook failed with failureMode FAIL: Hook freeze"},
		{"pre-backup fails", "backup",
			[]string{"backup/pre bfreeze", "backup/post bthaw"},
			"pre-backup hook failed with failureMode FAIL: Hook bfreeze"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			hooks := []hk{
				{name: "bfreeze", action: "backup", stage: "pre", mode: "FAIL"}, {name: "freeze", action: "snapshot", stage: "pre", mode: "FAIL"},
				{name: "thaw", action: "snapshot", stage: "post"}, {name: "bthaw", action: "backup", stage: "post"},
			}
			for i := range hooks {
				if hooks[i].action == tt.failing && hooks[i].stage == "pre" {
					hooks[i].behave = "fail"
				}
			}
			app := h.app(hooks...)
			before := p.calls.Load()
			a := h.wait(d, h.create(d, driver.Action{AppID: app, Kind: driver.KindBackup}).ID)
			if a.State != driver.StateFailed || a.HookState != events.HookStateFailed ||
				!slices.Equal(a.StateUnready, []string{tt.wantUnready + "-" + app[:8] + " failed"}) {
				t.Fatalf("action state %s hookState %s stateUnready %q", a.State, a.HookState, a.StateUnready)
			}
			if p.calls.Load() != before {
				t.Error("the action was performed after a FAIL-mode pre hook failed")
			}
			wantTrace(t, h, app, tt.wantTrace...)
			if n := len(a.Stages); n != len(tt.wantTrace) || !a.Stages[n/2-1].AbortAction {
				t.Errorf("stages %+v", a.Stages)
			}
		})
	}
}

func TestFailingPerformerFailsActionPostsStillRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := h.app(hk{name: "freeze", action: "snapshot", stage: "pre"}, hk{name: "thaw", action: "snapshot", stage: "post"})
	d := h.startDriver(driver.Config{Performer: h.performer(func(context.Context, *driver.Action) error {
		return errors.New("volume snapshot: quota exceeded")
	})})
	a := h.wait(d, h.create(d, driver.Action{AppID: app, Kind: driver.KindSnapshot}).ID)
	if a.State != driver.StateFailed || a.HookState != events.HookStateSuccess ||
		!slices.Equal(a.StateUnready, []string{"snapshot failed: volume snapshot: quota exceeded"}) {
		t.Fatalf("action state %s hookState %s stateUnready %q", a.State, a.HookState, a.StateUnready)
	}
	wantTrace(t, h, app, "snapshot/pre freeze", "perform", "snapshot/post thaw")
}

func TestPanickingPerformerFailsAction(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := h.app(hk{name: "thaw", action: "restore", stage: "post"})
	d := h.startDriver(driver.Config{Performer: h.performer(func(context.Context, *driver.Action) error { panic("bug") })})
	a := h.wait(d, h.create(d, driver.Action{AppID: app, Kind: driver.KindRestore}).ID)
	if a.State != driver.StateFailed || !slices.Equal(a.StateUnready, []string{"restore failed: performer panicked: bug"}) {
		t.Fatalf("action state %s stateUnready %q", a.State, a.StateUnready)
	}
	wantTrace(t, h, app, "perform", "restore/post thaw")
}

func TestStageTimeoutFailsActionAndRunsOwedPosts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := h.app(hk{name: "bfreeze", action: "backup", stage: "pre"}, hk{name: "freeze", action: "snapshot", stage: "pre", behave: "block"},
		hk{name: "thaw", action: "snapshot", stage: "post"}, hk{name: "bthaw", action: "backup", stage: "post"})
	p := h.performer(nil)
	d := h.startDriver(driver.Config{Performer: p, StageTimeout: 3 * time.Second})
	a := h.wait(d, h.create(d, driver.Action{AppID: app, Kind: driver.KindBackup}).ID)
	if a.State != driver.StateFailed || a.HookState != events.HookStateFailed ||
		!slices.Equal(a.StateUnready, []string{"pre-snapshot hooks timed out after 3s"}) {
		t.Fatalf("action state %s hookState %s stateUnready %q", a.State, a.HookState, a.StateUnready)
	}
	if len(a.HookStateDetails) != 1 || a.HookStateDetails[0].Type != driver.DetailStageTimedOut {
		t.Errorf("details %+v", a.HookStateDetails)
	}
	if got := stagesOf(a); !slices.Equal(got, []string{"backup/pre:success", "snapshot/pre:failed", "snapshot/post:success", "backup/post:success"}) || !a.Stages[1].TimedOut {
		t.Errorf("stages %+v", a.Stages)
	}
	if p.calls.Load() != 0 {
		t.Error("performed after a pre stage timed out")
	}
	// The blocked freeze is still running; thaw and bthaw ran regardless.
	wantTrace(t, h, app, "backup/pre bfreeze", "snapshot/pre freeze", "snapshot/post thaw", "backup/post bthaw")
	h.release(app)
}
