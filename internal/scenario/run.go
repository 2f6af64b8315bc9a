package scenario

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/driver"
)

// Run runs sc against a fresh in-process Hookshot — an embedded NATS server
// in a temp dir, an engine, one worker, a driver — and compares every
// step's outcome with its expectations. It returns an error, and no report,
// when sc is invalid (a *ValidationError) or the in-process Hookshot could
// not start; a step that could not be carried out ends the run with the
// report so far and an error. Expectations that are not met are not errors:
// see Report.Passed. Everything Run started has stopped when it returns.
func Run(ctx context.Context, sc Scenario, opts Options) (*Report, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	began := time.Now()
	start := startInstance
	if opts.NATSURL != "" {
		start = connectInstance
	}
	in, err := start(ctx, opts)
	if err != nil {
		return nil, err
	}
	rep, err := in.run(ctx, &sc)
	err = errors.Join(err, in.stop())
	if rep != nil {
		rep.DurationMillis = time.Since(began).Milliseconds()
	}
	return rep, err
}

func (in *instance) run(ctx context.Context, sc *Scenario) (*Report, error) {
	if err := in.load(ctx, in.account, sc); err != nil {
		return nil, err
	}
	rep := &Report{Name: sc.Name, File: sc.File, Steps: []StepReport{}}
	for i := range sc.Steps {
		sr, err := in.step(ctx, sc, i)
		if err != nil {
			return rep, fmt.Errorf("scenario %q: step %d %q: %w", sc.Name, i+1, sc.Steps[i].title(), err)
		}
		rep.Steps = append(rep.Steps, *sr)
	}
	if in.opts.Record != nil {
		if err := in.record(ctx, in.opts.Record); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// step carries out step i and checks its expectations.
func (in *instance) step(ctx context.Context, sc *Scenario, i int) (*StepReport, error) {
	st := &sc.Steps[i]
	began := time.Now()
	rep := &StepReport{Index: i + 1, Name: st.title(), App: st.app(), RunID: in.runPrefix + st.runID(i)}
	var (
		out *Outcome
		err error
	)
	if st.Event != nil {
		rep.Kind, rep.Action, rep.Stage = "event", st.Event.Action, st.Event.Stage
		out, err = in.runEvent(ctx, st.Event, rep.RunID)
	} else {
		rep.Kind, rep.Action = "action", st.Action
		out, err = in.runAction(ctx, st, i, rep.RunID)
	}
	if err != nil {
		return nil, err
	}
	rep.Outcome = *out
	rep.Mismatches = st.Expect.check(out, newLabeler(inventory(sc.inventory(st))))
	rep.DurationMillis = time.Since(began).Milliseconds()
	return rep, nil
}

// runAction drives an action through its stages as POST …/appSnaps does,
// and waits until it is completed or failed.
func (in *instance) runAction(ctx context.Context, st *Step, i int, runID string) (*Outcome, error) {
	a, _, err := in.drv.Create(ctx, driver.Action{
		Account: in.account, AppID: appID(st.App), Kind: driver.Kind(st.Action), RunID: runID, Name: fmt.Sprintf("step-%d", i+1),
	}, by)
	if err != nil {
		return nil, fmt.Errorf("create the %s: %w", st.Action, err)
	}
	// The driver gives every stage StageTimeout; the action gets them all.
	wait := in.opts.StageTimeout*time.Duration(len(actionStages[st.Action])) + 10*time.Second
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	out := &Outcome{Executions: []Execution{}}
	done, err := in.drv.Wait(wctx, in.account, a.ID)
	switch {
	case err == nil:
		out.State, out.StateUnready, out.HookState = done.State, done.StateUnready, done.HookState
		out.HookStateDetails = done.HookStateDetails
		for _, s := range done.Stages {
			out.Stages = append(out.Stages, StageOutcome{Action: s.Action, Stage: s.Stage, HookState: s.HookState, AbortAction: s.AbortAction, TimedOut: s.TimedOut})
			out.AbortAction = out.AbortAction || s.AbortAction
		}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case wctx.Err() != nil:
		out.Error = fmt.Sprintf("the %s did not finish within %s", st.Action, wait)
	default:
		return nil, err
	}
	if out.Executions, err = in.executions(ctx, runID, "", ""); err != nil {
		return nil, err
	}
	return out, nil
}

// runEvent publishes a raw lifecycle event, as a controller would, and waits
// for its stage result.
func (in *instance) runEvent(ctx context.Context, e *Event, runID string) (*Outcome, error) {
	ev := &events.LifecycleEvent{RunID: runID, AccountID: in.account, AppID: appID(e.App), Action: e.Action, Stage: e.Stage}
	if len(e.Containers) > 0 {
		ev.Containers = inventory(e.Containers)
	}
	if _, err := events.PublishLifecycle(ctx, in.js, ev); err != nil {
		return nil, err
	}
	out := &Outcome{Executions: []Execution{}}
	wctx, cancel := context.WithTimeout(ctx, in.opts.StageTimeout)
	defer cancel()
	sr, err := events.WaitStageResult(wctx, in.js, in.account, runID, e.Action, e.Stage)
	switch {
	case err == nil:
		out.HookState, out.AbortAction, out.HookStateDetails = sr.HookState, sr.AbortAction, sr.HookStateDetails
		out.Stages = []StageOutcome{{Action: sr.Action, Stage: sr.Stage, HookState: sr.HookState, AbortAction: sr.AbortAction}}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		out.Error = fmt.Sprintf("no stage result for %s/%s within %s", e.Action, e.Stage, in.opts.StageTimeout)
	}
	if out.Executions, err = in.executions(ctx, runID, e.Action, e.Stage); err != nil {
		return nil, err
	}
	return out, nil
}

// executions reads the execution results of a run (of one stage when action
// is set) from the results stream, in the order they started.
func (in *instance) executions(ctx context.Context, runID string, action events.Action, stage events.Stage) ([]Execution, error) {
	msgs, err := readSubject(ctx, in.js, events.StreamResults, events.ExecutionResultSubject(in.account, runID))
	if err != nil {
		return nil, err
	}
	out := []Execution{}
	seen := map[string]bool{}
	for _, m := range msgs {
		r, err := events.DecodeExecutionResult(m.data)
		if err != nil {
			return nil, fmt.Errorf("execution result %d: %w", m.seq, err)
		}
		if action != "" && (r.Action != action || r.Stage != stage) || seen[r.ExecutionID] {
			continue
		}
		seen[r.ExecutionID] = true
		out = append(out, executionOf(r))
	}
	sortExecutions(out)
	return out, nil
}

func executionOf(r *events.ExecutionResult) Execution {
	return Execution{
		Hook: r.HookName, Container: r.Container, Action: r.Action, Stage: r.Stage, Status: r.Status,
		ExitCode: r.ExitCode, Signal: r.Signal, TimedOut: r.TimedOut, Error: r.Error, Attempt: r.Attempt,
		Stdout: r.Stdout.Text, Stderr: r.Stderr.Text, Started: r.Started, DurationMillis: r.DurationMillis,
	}
}

// sortExecutions orders executions by when they started, then by hook and
// container.
func sortExecutions(es []Execution) {
	slices.SortStableFunc(es, func(a, b Execution) int {
		return cmp.Or(a.Started.Compare(b.Started), cmp.Compare(a.Hook, b.Hook), events.CompareContainers(a.Container, b.Container))
	})
}
