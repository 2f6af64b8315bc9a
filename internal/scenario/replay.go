package scenario

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hookshot-dev/hookshot/events"
)

// Replay re-drives every lifecycle event of a recording (Options.Record of
// Run) through a fresh in-process Hookshot loaded with defs — its apps,
// sources, hooks and overrides; its steps are ignored — and compares, stage
// by stage, what was recorded with what happens now.
//
// Events are published in recorded order, each once its predecessor's stage
// result is in, with their recorded run IDs (the instance is fresh, so
// nothing collides) and their recorded inventory: an event recorded without
// containers uses the app's inventory in defs. Apps are identified by name
// (a scenario app's ID derives from its name), so renaming an app in defs
// leaves its recorded events without hooks. Replay re-drives events, not
// actions: a stage the recorded run skipped (an action aborted by a FAIL
// hook) is not run now either, and one it ran is run now even if the action
// would abort earlier today — its comparison shows that.
func Replay(ctx context.Context, recording io.Reader, defs Scenario, opts Options) (*ReplayReport, error) {
	if err := defs.validateDefinitions(); err != nil {
		return nil, err
	}
	entries, err := ReadRecording(recording)
	if err != nil {
		return nil, err
	}
	var evs []*events.LifecycleEvent
	recorded := map[string]*events.StageResult{}
	for i, e := range entries {
		switch e.Kind {
		case KindLifecycle:
			_, ev, err := events.DecodeLifecycle(e.Data)
			if err != nil {
				return nil, fmt.Errorf("%w: entry %d (lifecycle %d): %w", ErrInvalidRecording, i+1, e.Seq, err)
			}
			evs = append(evs, ev)
		case KindStage:
			sr, err := events.DecodeStageResult(e.Data)
			if err != nil {
				return nil, fmt.Errorf("%w: entry %d (stage %d): %w", ErrInvalidRecording, i+1, e.Seq, err)
			}
			k := events.StageKey(sr.AccountID, sr.RunID, sr.Action, sr.Stage)
			if _, dup := recorded[k]; !dup {
				recorded[k] = sr
			}
		}
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("%w: no lifecycle events to replay", ErrInvalidRecording)
	}

	opts = opts.withDefaults()
	in, err := startInstance(ctx, opts)
	if err != nil {
		return nil, err
	}
	rep, err := in.replay(ctx, evs, recorded, &defs)
	return rep, errors.Join(err, in.stop())
}

func (in *instance) replay(ctx context.Context, evs []*events.LifecycleEvent, recorded map[string]*events.StageResult, defs *Scenario) (*ReplayReport, error) {
	loaded := map[string]bool{}
	appNames := map[string]string{}
	for _, a := range defs.Apps {
		appNames[defs.appIDOf(a.Name)] = a.Name
	}
	rep := &ReplayReport{Stages: []StageComparison{}}
	done := map[string]bool{}
	for _, ev := range evs {
		if !loaded[ev.AccountID] {
			if err := in.load(ctx, ev.AccountID, defs); err != nil {
				return nil, err
			}
			loaded[ev.AccountID] = true
		}
		k := ev.StageKey()
		if done[k] {
			continue // the stream de-duplicated it when it was recorded, too
		}
		done[k] = true
		if _, err := events.PublishLifecycle(ctx, in.js, ev); err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, in.opts.StageTimeout)
		now, err := events.WaitStageResult(wctx, in.js, ev.AccountID, ev.RunID, ev.Action, ev.Stage)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			now = nil
		}
		c := compareStage(recorded[k], now)
		c.RunID, c.Action, c.Stage = ev.RunID, ev.Action, ev.Stage
		c.App = cmp.Or(appNames[ev.AppID], ev.AppID)
		if now == nil {
			c.Changes = append(c.Changes, fmt.Sprintf("no stage result within %s", in.opts.StageTimeout))
		}
		rep.Stages = append(rep.Stages, c)
	}
	if in.opts.Record != nil {
		if err := in.record(ctx, in.opts.Record); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// ReplayReport compares a recording with its replay, stage by stage.
type ReplayReport struct {
	Stages []StageComparison `json:"stages"`
}

// Differs reports whether any stage came out differently.
func (r *ReplayReport) Differs() bool {
	return slices.ContainsFunc(r.Stages, func(s StageComparison) bool { return s.Differs() })
}

// StageComparison is one stage as recorded and as replayed.
type StageComparison struct {
	RunID  string        `json:"runID"`
	Action events.Action `json:"action"`
	Stage  events.Stage  `json:"stage"`
	// App is the app's name in the definitions, else its ID.
	App string `json:"app"`
	// Recorded is nil when the recording holds no result of the stage.
	Recorded *StageSummary `json:"recorded"`
	// Replayed is nil when no result came within the stage timeout.
	Replayed *StageSummary `json:"replayed"`
	// Changes name what differs at the stage level: "hookState: success → failed".
	Changes []string `json:"changes,omitempty"`
	// Executions are every execution of either side, by hook@container.
	Executions []ExecutionComparison `json:"executions"`
}

// Differs reports whether the stage or any of its executions differs.
func (s *StageComparison) Differs() bool {
	return len(s.Changes) > 0 || slices.ContainsFunc(s.Executions, func(e ExecutionComparison) bool { return e.Change != "" })
}

// StageSummary is what a stage result says, for comparing.
type StageSummary struct {
	HookState   events.HookState `json:"hookState"`
	AbortAction bool             `json:"abortAction"`
}

// ExecutionComparison is one execution (hook in container) on either side.
type ExecutionComparison struct {
	// Execution is hook@pod/container (hook@namespace/pod/container when the
	// short form is ambiguous).
	Execution string            `json:"execution"`
	Recorded  *ExecutionSummary `json:"recorded,omitempty"`
	Replayed  *ExecutionSummary `json:"replayed,omitempty"`
	// Change is "" (the same), "added" (only replayed), "missing" (only
	// recorded) or "changed" (status, exit code or timeout differ).
	Change string `json:"change,omitempty"`

	hook      string
	container events.Container
}

// ExecutionSummary is what an execution came to.
type ExecutionSummary struct {
	Status   events.Status `json:"status"`
	ExitCode int           `json:"exitCode"`
	TimedOut bool          `json:"timedOut,omitempty"`
}

func (e *ExecutionSummary) String() string {
	if e == nil {
		return "-"
	}
	s := fmt.Sprintf("%s (exit %d)", e.Status, e.ExitCode)
	if e.TimedOut {
		s = string(e.Status) + " (timed out)"
	}
	return s
}

// compareStage compares a recorded stage result with a replayed one; either
// may be nil.
func compareStage(was, now *events.StageResult) StageComparison {
	c := StageComparison{Executions: []ExecutionComparison{}}
	summary := func(sr *events.StageResult) *StageSummary {
		if sr == nil {
			return nil
		}
		return &StageSummary{HookState: sr.HookState, AbortAction: sr.AbortAction}
	}
	c.Recorded, c.Replayed = summary(was), summary(now)
	switch {
	case was == nil && now != nil:
		c.Changes = append(c.Changes, "no stage result was recorded")
	case was != nil && now != nil:
		if was.HookState != now.HookState {
			c.Changes = append(c.Changes, fmt.Sprintf("hookState: %s → %s", was.HookState, now.HookState))
		}
		if was.AbortAction != now.AbortAction {
			c.Changes = append(c.Changes, fmt.Sprintf("abortAction: %t → %t", was.AbortAction, now.AbortAction))
		}
	}
	byKey := map[string]*ExecutionComparison{}
	var order []string
	side := func(sr *events.StageResult, set func(*ExecutionComparison, *ExecutionSummary)) {
		if sr == nil {
			return
		}
		for _, x := range sr.Executions {
			k := x.HookName + "@" + x.Container.Key()
			ec, ok := byKey[k]
			if !ok {
				ec = &ExecutionComparison{hook: x.HookName, container: x.Container}
				byKey[k] = ec
				order = append(order, k)
			}
			set(ec, &ExecutionSummary{Status: x.Status, ExitCode: x.ExitCode, TimedOut: x.TimedOut})
		}
	}
	side(was, func(ec *ExecutionComparison, s *ExecutionSummary) { ec.Recorded = s })
	side(now, func(ec *ExecutionComparison, s *ExecutionSummary) { ec.Replayed = s })
	var inv []events.Container
	for _, k := range order {
		inv = append(inv, byKey[k].container)
	}
	l := newLabeler(inv)
	for _, k := range order {
		ec := byKey[k]
		ec.Execution = ec.hook + "@" + l.label(ec.container)
		switch {
		case ec.Recorded == nil && was != nil:
			ec.Change = "added"
		case ec.Replayed == nil && now != nil:
			ec.Change = "missing"
		case ec.Recorded != nil && ec.Replayed != nil && *ec.Recorded != *ec.Replayed:
			ec.Change = "changed"
		}
		c.Executions = append(c.Executions, *ec)
	}
	slices.SortStableFunc(c.Executions, func(a, b ExecutionComparison) int {
		return cmp.Or(cmp.Compare(a.hook, b.hook), events.CompareContainers(a.container, b.container))
	})
	return c
}

// WriteText writes the comparison side by side, one block per stage, and a
// last line that says whether anything differs.
//
//	step-2 snapshot/pre (app payroll): DIFFERS
//	                     RECORDED            REPLAYED
//	  hookState          success             failed           changed
//	  abortAction        false               true             changed
//	  freeze@db-0/mysql  succeeded (exit 0)  failed (exit 3)  changed
//	  thaw@db-0/mysql    succeeded (exit 0)  -                missing
func (r *ReplayReport) WriteText(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	differing := 0
	for i := range r.Stages {
		s := &r.Stages[i]
		verdict := "same"
		if s.Differs() {
			differing++
			verdict = "DIFFERS"
		}
		fmt.Fprintf(tw, "%s %s/%s (app %s): %s\n", s.RunID, s.Action, s.Stage, s.App, verdict)
		fmt.Fprintf(tw, "\tRECORDED\tREPLAYED\n")
		hs := func(x *StageSummary) string {
			if x == nil {
				return "-"
			}
			return string(x.HookState)
		}
		ab := func(x *StageSummary) string {
			if x == nil {
				return "-"
			}
			return fmt.Sprint(x.AbortAction)
		}
		fmt.Fprintf(tw, "  hookState\t%s\t%s\t%s\n", hs(s.Recorded), hs(s.Replayed), mark(hs(s.Recorded) != hs(s.Replayed), "changed"))
		fmt.Fprintf(tw, "  abortAction\t%s\t%s\t%s\n", ab(s.Recorded), ab(s.Replayed), mark(ab(s.Recorded) != ab(s.Replayed), "changed"))
		for _, e := range s.Executions {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Execution, e.Recorded, e.Replayed, e.Change)
		}
		for _, c := range s.Changes {
			if strings.HasPrefix(c, "hookState") || strings.HasPrefix(c, "abortAction") {
				continue // shown in its row
			}
			fmt.Fprintf(tw, "  note: %s\n", c)
		}
		fmt.Fprintln(tw)
	}
	if differing == 0 {
		fmt.Fprintf(tw, "no difference: %d stages replayed as recorded\n", len(r.Stages))
	} else {
		fmt.Fprintf(tw, "DIFFERS: %d of %d stages replayed differently\n", differing, len(r.Stages))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := strings.Split(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

func mark(b bool, s string) string {
	if b {
		return s
	}
	return ""
}
