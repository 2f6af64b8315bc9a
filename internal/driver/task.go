package driver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// resumeGrace is the least a stage wait gets, even when the stage's timeout
// passed while no driver was running: long enough to read a stage result
// that is already there.
const resumeGrace = 10 * time.Second

// task is one action being driven by this driver, under its lease. Every
// write is a compare-and-set on the revision the task last wrote; since only
// the lease holder writes a non-terminal action, a conflict means the lease
// was lost.
type task struct {
	d   *Driver
	key string
	log *zap.Logger

	mu    sync.Mutex
	a     *Action // as last written
	rev   uint64
	until time.Time // lease expiry as last written

	deadlineStep int       // the step deadline is for
	deadline     time.Time // see stageDeadline
}

// drive claims the action at k and runs it until it is terminal, the lease
// is lost or ctx ends. It reports whether the action is terminal.
func (d *Driver) drive(ctx context.Context, k string) bool {
	t, err := d.claim(ctx, k)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, ErrNotFound) {
			d.log.Warn("claim action", zap.String("key", k), zap.Error(err))
		}
		return false
	}
	if t == nil {
		return false
	}
	leaseCtx, lost := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { t.renew(leaseCtx, lost) })
	t.run(leaseCtx)
	lost()
	wg.Wait()
	return t.release(ctx)
}

// claim takes the lease of the action at k if it is not terminal and
// nobody else holds a live lease on it; nil when it is not to be driven here.
func (d *Driver) claim(ctx context.Context, k string) (*task, error) {
	a, rev, err := d.get(ctx, k)
	if err != nil {
		return nil, err
	}
	if a.Terminal() {
		return nil, nil
	}
	prev := a.Lease
	if prev != nil && prev.Owner != d.cfg.Owner && time.Now().Before(prev.Until) {
		return nil, nil
	}
	t := &task{d: d, key: k, a: a, rev: rev, log: d.log.With(zap.String("action_id", a.ID), zap.String("app_id", a.AppID),
		zap.String("run_id", a.RunID), zap.String("kind", string(a.Kind)))}
	if err := t.write(ctx, nil, true); err != nil {
		if errors.Is(err, errLeaseLost) {
			return nil, nil // another driver claimed it first
		}
		return nil, err
	}
	if prev != nil && prev.Owner != d.cfg.Owner {
		t.log.Info("action taken over", zap.String("previous_owner", prev.Owner), zap.Time("lease_expired", prev.Until), zap.Int("step", a.Step))
	} else {
		t.log.Info("action claimed", zap.Int("step", a.Step))
	}
	return t, nil
}

// run takes the action's steps one after the other; a step that fails for
// a transient reason (NATS) is tried again after a pause.
func (t *task) run(ctx context.Context) {
	b := newBackoff()
	for ctx.Err() == nil {
		a := t.current()
		if a.Terminal() {
			t.log.Info("action finished", zap.String("state", a.State), zap.String("hook_state", string(a.HookState)),
				zap.Strings("state_unready", a.StateUnready))
			return
		}
		plan := a.Plan()
		var err error
		switch {
		case a.Step >= len(plan): // finished but not marked so: mend
			err = t.writeOutcome(ctx, func(a *Action, now time.Time) { a.advance(now) })
		case plan[a.Step].Perform:
			err = t.perform(ctx)
		default:
			err = t.stage(ctx, plan[a.Step])
		}
		if err == nil {
			b.reset()
			continue
		}
		if errors.Is(err, errLeaseLost) {
			t.log.Warn("lease lost: another driver has the action", zap.Error(err))
			return
		}
		if ctx.Err() != nil {
			return
		}
		t.log.Warn("step failed, will retry", zap.Int("step", a.Step), zap.Error(err))
		b.wait(ctx)
	}
}

// begin marks the action running and, for a stage, records when it was
// first published; it returns the action as written.
func (t *task) begin(ctx context.Context, isStage bool) (*Action, error) {
	a := t.current()
	if a.State == StateRunning && (!isStage || a.StepStarted != nil) {
		return a, nil
	}
	err := t.write(ctx, func(a *Action, now time.Time) {
		a.State = StateRunning
		if isStage && a.StepStarted == nil {
			a.StepStarted = &now
		}
	}, true)
	if err != nil {
		return nil, err
	}
	return t.current(), nil
}

// perform calls the Performer and records its outcome. Interrupted (ctx
// ended: the driver stops or lost its lease), nothing is recorded and the
// next driver performs again.
func (t *task) perform(ctx context.Context) error {
	a, err := t.begin(ctx, false)
	if err != nil {
		return err
	}
	t.log.Info("performing action")
	perr := t.d.callPerformer(ctx, a.clone())
	if perr != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if perr != nil {
		t.log.Warn("action failed", zap.Error(perr))
	}
	return t.writeOutcome(ctx, func(a *Action, now time.Time) {
		if perr != nil {
			a.addUnready(fmt.Sprintf("%s failed: %v", a.Kind, perr))
		}
		a.advance(now)
	})
}

func (d *Driver) callPerformer(ctx context.Context, a *Action) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("performer panicked: %v", r)
		}
	}()
	return d.cfg.Performer.Perform(ctx, a)
}

// stage publishes the step's lifecycle event (again, on a resume: it is
// de-duplicated and the engine plans a stage once), waits for its stage
// result up to the stage timeout, and records it.
func (t *task) stage(ctx context.Context, s PlanStep) error {
	a, err := t.begin(ctx, true)
	if err != nil {
		return err
	}
	started := *a.StepStarted
	timeout := t.d.cfg.StageTimeout
	sctx, cancel := context.WithDeadline(ctx, t.stageDeadline(a.Step, started))
	defer cancel()
	sr, err := t.publishAndWait(sctx, a, s)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if sctx.Err() == nil {
			return err
		}
		t.log.Warn("stage timed out", zap.String("stage", s.String()), zap.Duration("timeout", timeout))
		sr = nil
	}
	return t.writeOutcome(ctx, func(a *Action, now time.Time) {
		recordStage(a, s, started, sr, timeout, now)
		a.advance(now)
	})
}

// stageDeadline is when the wait for the stage at step gives up: its
// timeout after it was first published, but, the first time this task
// looks, no sooner than resumeGrace from now (a driver resuming a stage
// whose timeout passed while none ran must still read a result that is
// there). Retries within the task keep the same deadline.
func (t *task) stageDeadline(step int, started time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.deadlineStep == step && !t.deadline.IsZero() {
		return t.deadline
	}
	timeout := t.d.cfg.StageTimeout
	deadline := started.Add(timeout)
	if floor := time.Now().Add(min(timeout, resumeGrace)); deadline.Before(floor) {
		deadline = floor
	}
	t.deadlineStep, t.deadline = step, deadline
	return deadline
}

func (t *task) publishAndWait(ctx context.Context, a *Action, s PlanStep) (*events.StageResult, error) {
	ev := &events.LifecycleEvent{RunID: a.RunID, AccountID: a.Account, AppID: a.AppID, Action: s.Action, Stage: s.Stage}
	b := newBackoff()
	for {
		_, err := events.PublishLifecycle(ctx, t.d.js, ev)
		if err == nil {
			break
		}
		t.log.Warn("publish lifecycle event, will retry", zap.String("stage", s.String()), zap.Error(err))
		if !b.wait(ctx) {
			return nil, fmt.Errorf("publish %s: %w", s, ctx.Err())
		}
	}
	t.log.Info("stage published", zap.String("stage", s.String()))
	for {
		sr, err := events.WaitStageResult(ctx, t.d.js, a.Account, a.RunID, s.Action, s.Stage)
		if err == nil || ctx.Err() != nil || !errors.Is(err, nats.ErrTimeout) {
			return sr, err
		}
		// The fetch gives up a little before ctx's deadline: wait the rest.
	}
}

// recordStage folds one stage's outcome into the action; sr is nil when the
// stage timed out.
func recordStage(a *Action, s PlanStep, started time.Time, sr *events.StageResult, timeout time.Duration, now time.Time) {
	rec := StageRecord{Action: s.Action, Stage: s.Stage, Started: started}
	what := string(s.Stage) + "-" + string(s.Action) // Astra's wording: pre-snapshot, post-backup
	if sr == nil {
		rec.HookState, rec.TimedOut, rec.Finished = events.HookStateFailed, true, now
		a.HookState = events.HookStateFailed
		a.HookStateDetails = append(a.HookStateDetails, events.NewStateDetail(DetailStageTimedOut, "Hook stage timed out",
			fmt.Sprintf("no result of the %s hooks of run %s within %s; they may still be running", what, a.RunID, timeout),
			map[string]any{"runID": a.RunID, "action": string(s.Action), "stage": string(s.Stage)}))
		a.addUnready(fmt.Sprintf("%s hooks timed out after %s", what, timeout))
	} else {
		rec.HookState, rec.AbortAction, rec.Finished = sr.HookState, sr.AbortAction, sr.Finished
		a.HookStateDetails = append(a.HookStateDetails, sr.HookStateDetails...)
		switch {
		case sr.HookState != events.HookStateSuccess:
			a.HookState = events.HookStateFailed
		case a.HookState == "":
			a.HookState = events.HookStateSuccess
		}
		if sr.AbortAction && s.Stage == events.StagePre {
			a.addUnready(abortReason(what, sr.HookStateDetails))
		}
	}
	a.Stages = append(a.Stages, rec)
}

// abortReason names the FAIL-mode hook that aborted the action, by the
// title of its detail (the first FAIL-mode one, else the first).
func abortReason(what string, details []events.StateDetail) string {
	reason := what + " hook failed with failureMode " + string(events.FailureModeFail)
	var title string
	for _, d := range details {
		if d.AdditionalDetails["failureMode"] == string(events.FailureModeFail) {
			title = d.Title
			break
		}
	}
	if title == "" && len(details) > 0 {
		title = details[0].Title
	}
	if title != "" {
		reason += ": " + title
	}
	return reason
}

// renew extends the lease every third of its TTL. When the lease is lost,
// or renewals failed until a third of the TTL is left, it cancels the task
// (lost), so that nothing is done under a lease another driver may hold:
// the margin covers clocks that differ by less than LeaseTTL/3.
func (t *task) renew(ctx context.Context, lost context.CancelFunc) {
	tick := time.NewTicker(t.d.cfg.LeaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := t.write(ctx, nil, true)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case errors.Is(err, errLeaseLost):
			t.log.Warn("lease lost: another driver has the action", zap.Error(err))
			lost()
			return
		case time.Until(t.leaseUntil()) <= t.d.cfg.LeaseTTL/3:
			// The next renewal would come too late: give up now, a third of
			// the TTL before another driver may take over.
			t.log.Warn("lease about to expire without renewal: giving the action up", zap.Error(err))
			lost()
			return
		default:
			t.log.Warn("renew lease, will retry", zap.Error(err))
		}
	}
}

// release gives the lease up so that another driver may resume the action
// at once, and reports whether the action is terminal.
func (t *task) release(ctx context.Context) bool {
	if t.current().Terminal() {
		return true
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := t.write(wctx, nil, false); err != nil {
		t.log.Debug("release lease", zap.Error(err))
	}
	return false
}

// writeOutcome records what a step did. It is written even when ctx ended
// meanwhile (the driver stopping: what was done must not be done again),
// retrying transient failures for up to one lease TTL, past which another
// driver may hold the action anyway.
func (t *task) writeOutcome(ctx context.Context, mutate func(*Action, time.Time)) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.d.cfg.LeaseTTL)
	defer cancel()
	b := newBackoff()
	for {
		err := t.write(wctx, mutate, true)
		if err == nil || errors.Is(err, errLeaseLost) {
			return err
		}
		t.log.Warn("record step outcome, will retry", zap.Error(err))
		if !b.wait(wctx) {
			return fmt.Errorf("record step outcome: %w", err)
		}
	}
}

// write applies mutate (nil: none) to a copy of the action, renews the
// lease (or drops it: keepLease false, or the action is terminal) and writes
// it over the task's revision.
func (t *task) write(ctx context.Context, mutate func(*Action, time.Time), keepLease bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now().UTC()
	next := t.a.clone()
	if mutate != nil {
		mutate(next, now)
		next.Updated = now
		next.Metadata.ModificationTimestamp = store.Timestamp(now)
	}
	var until time.Time
	if keepLease && !next.Terminal() {
		until = now.Add(t.d.cfg.LeaseTTL)
		next.Lease = &Lease{Owner: t.d.cfg.Owner, Until: until}
	} else {
		next.Lease = nil
	}
	rev, err := t.d.update(ctx, next, t.rev)
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("action %s: %w", next.ID, errLeaseLost)
	}
	if err != nil {
		return err
	}
	t.a, t.rev, t.until = next, rev, until
	return nil
}

func (t *task) current() *Action {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.a.clone()
}

func (t *task) leaseUntil() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.until
}
