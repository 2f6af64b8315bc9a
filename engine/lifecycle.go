package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/engine/metrics"
	"github.com/hookshot-dev/hookshot/engine/store"
	"github.com/hookshot-dev/hookshot/events"
)

// executionNamespace makes execution IDs deterministic: the same hook in the
// same container of the same stage of the same run always has the same ID,
// which is the job's Nats-Msg-Id.
var executionNamespace = uuid.MustParse("0b3a6f57-8a3c-4bb4-9f0e-5d1f1f8f2c11")

// ExecutionID is the deterministic ID of one hook in one container of a stage.
func ExecutionID(runID, action, stage, hookID string, c events.Container) string {
	return uuid.NewSHA1(executionNamespace, []byte(events.StageKey(runID, action, stage)+"\x00"+hookID+"\x00"+c.Key())).String()
}

func (e *Engine) handleLifecycle(ctx context.Context) func(jetstream.Msg) {
	return func(msg jetstream.Msg) {
		_, ev, err := events.DecodeLifecycle(msg.Data())
		if err != nil {
			e.rejectLifecycle(ctx, msg, err)
			return
		}
		log := e.log.With(zap.String("run_id", ev.RunID), zap.String("app_id", ev.AppID),
			zap.String("action", ev.Action), zap.String("stage", ev.Stage))
		if redelivered(msg) {
			e.cfg.Metrics.Redelivered(metrics.RedeliveryLifecycle)
		}
		if err := e.startStage(ctx, ev, log); err != nil {
			// Transient (NATS, KV): leave it to redelivery after a pause.
			log.Warn("lifecycle event not processed, will retry", zap.Error(err))
			_ = msg.NakWithDelay(time.Second)
			return
		}
		if err := msg.Ack(); err != nil {
			log.Warn("ack lifecycle event", zap.Error(err))
		}
	}
}

// rejectLifecycle terminates a malformed event so it is never redelivered,
// and answers the run with a failed stage result when the event named one.
func (e *Engine) rejectLifecycle(ctx context.Context, msg jetstream.Msg, err error) {
	var de *events.DecodeError
	errors.As(err, &de)
	e.log.Error("malformed lifecycle event terminated", zap.String("subject", msg.Subject()), zap.Error(err))
	if de != nil && de.RunID != "" {
		ev := events.LifecycleEvent{RunID: de.RunID, AccountID: de.AccountID, AppID: de.AppID, Action: de.Action, Stage: de.Stage}
		if !events.ValidToken(ev.AppID) {
			ev.AppID = "unknown"
		}
		rec := &StageRecord{Event: ev, Planned: time.Now().UTC(), Details: []events.StateDetail{
			events.NewStateDetail(events.DetailInvalidEvent, "Invalid lifecycle event", err.Error(), nil),
		}}
		if _, ferr := e.finalize(ctx, rec); ferr != nil {
			e.log.Error("answer malformed lifecycle event", zap.String("run_id", de.RunID), zap.Error(ferr))
			_ = msg.NakWithDelay(time.Second)
			return
		}
	}
	_ = msg.TermWithReason(truncate(err.Error(), 200))
}

// startStage plans the stage once (create-if-absent), then dispatches the
// first job of every lane. Replaying it is harmless: the plan is read back,
// and jobs carry de-duplication IDs.
func (e *Engine) startStage(ctx context.Context, ev *events.LifecycleEvent, log *zap.Logger) error {
	key := ev.StageKey()
	rec, err := e.plan(ctx, ev)
	if err != nil {
		return err
	}
	created, err := e.runs.create(ctx, stageKey(key), rec)
	if err != nil {
		return err
	}
	e.cachePlan(key, rec)
	jobs := rec.Jobs()
	log.Info("stage planned", zap.Int("executions", len(jobs)), zap.Int("containers", len(rec.Lanes)))

	if ev.Stage == events.StagePost {
		// The promise is kept: the post stage is underway.
		if err := e.runs.kv.Delete(ctx, pairKey(ev.RunID, ev.Action)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("clear pairing: %w", err)
		}
	} else if len(jobs) > 0 && e.cfg.PairingTimeout > 0 && events.ValidActionStage(ev.Action, events.StagePost) {
		post := rec.Event
		post.Stage = events.StagePost
		p := pairing{Post: post, Deadline: time.Now().Add(e.cfg.PairingTimeout).UTC()}
		if _, err := e.runs.create(ctx, pairKey(ev.RunID, ev.Action), &p); err != nil {
			return err
		}
	}

	// A new plan has no results yet; a replayed one may have some.
	var p progress
	if !created {
		if p, _, err = e.runs.loadProgress(ctx, key); err != nil {
			return err
		}
	}
	var first []*events.Job
	for i := range rec.Lanes {
		if job, ok := rec.next(i, p); ok {
			first = append(first, job)
		}
	}
	if len(first) == 0 {
		_, err := e.finalize(ctx, rec)
		return err
	}
	return e.dispatch(ctx, first)
}

// plan resolves the inventory and matches hooks: one job per (hook,
// container), grouped into one lane per container, hooks in name order.
func (e *Engine) plan(ctx context.Context, ev *events.LifecycleEvent) (*StageRecord, error) {
	if err := e.syncIndex(ctx); err != nil {
		return nil, err
	}
	rec := &StageRecord{Event: *ev, Planned: time.Now().UTC()}
	if len(rec.Event.Containers) == 0 {
		app, err := e.store.Apps.Get(ctx, ev.AccountID, ev.AppID)
		switch {
		case err == nil:
			rec.Event.Containers = app.Value.Containers
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	if len(rec.Event.Containers) == 0 {
		if n := e.candidates(ev); n > 0 {
			rec.Details = append(rec.Details, events.NewStateDetail(events.DetailMatchFailed, "No container inventory",
				fmt.Sprintf("app %s has %d enabled %s/%s hooks but the event carried no containers and no app with that id is registered", ev.AppID, n, ev.Action, ev.Stage), nil))
		}
		return rec, nil
	}

	res := e.index.Match(ev.AccountID, ev.AppID, ev.Action, ev.Stage, rec.Event.Containers)
	for _, he := range res.Errors {
		rec.Details = append(rec.Details, events.NewStateDetail(events.DetailMatchFailed, "Hook criteria not evaluated",
			fmt.Sprintf("hook %q (%s) was not run: %v", he.HookName, he.HookID, he.Err), map[string]any{"hookID": he.HookID}))
		if h, ok := e.index.Get(ev.AccountID, he.HookID); ok && ev.Stage == events.StagePre && h.EffectiveFailureMode() == events.FailureModeFail {
			rec.Abort = true
		}
	}
	checksums := map[string]string{}
	lanes := map[string]int{}
	for _, m := range res.Matches {
		// What runs is the hook's default version: its source content is
		// pinned by checksum. Hooks stored before versions existed run the
		// source's current content.
		version, ok := e.pinnedVersion(ev.AccountID, m.Hook.ID)
		sum := version.SourceMD5Checksum
		if !ok {
			if sum, ok = checksums[m.Hook.HookSourceID]; !ok {
				if src, err := e.store.Sources.Get(ctx, ev.AccountID, m.Hook.HookSourceID); err == nil {
					sum = src.Value.Source.SourceMD5Checksum
				} else if !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
				checksums[m.Hook.HookSourceID] = sum // "" → the worker reports the missing source
			}
		}
		for _, c := range m.Containers {
			job := events.Job{
				ExecutionID: ExecutionID(ev.RunID, ev.Action, ev.Stage, m.Hook.ID, c),
				RunID:       ev.RunID, AccountID: ev.AccountID, AppID: ev.AppID, Action: ev.Action, Stage: ev.Stage,
				HookID: m.Hook.ID, HookName: m.Hook.Name, HookVersion: version.Version, SourceID: m.Hook.HookSourceID, SourceChecksum: sum,
				Arguments: m.Hook.Arguments, TimeoutSeconds: int(m.Hook.Timeout() / time.Second),
				FailureMode: m.Hook.EffectiveFailureMode(), Container: c,
			}
			i, ok := lanes[c.Key()]
			if !ok {
				i = len(rec.Lanes)
				lanes[c.Key()] = i
				rec.Lanes = append(rec.Lanes, nil)
			}
			rec.Lanes[i] = append(rec.Lanes[i], job)
		}
	}
	return rec, nil
}

// candidates counts the enabled hooks of the app for the event's stage.
func (e *Engine) candidates(ev *events.LifecycleEvent) int {
	n := 0
	for _, h := range e.index.HooksForApp(ev.AccountID, ev.AppID) {
		if h.IsEnabled() && h.Action == ev.Action && h.Stage == ev.Stage {
			n++
		}
	}
	return n
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
