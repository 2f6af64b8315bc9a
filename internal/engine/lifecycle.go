package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/errkind"
	"github.com/hookshot-dev/hookshot/internal/metrics"
	"github.com/hookshot-dev/hookshot/internal/pull"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// executionNamespace makes execution IDs deterministic: the same hook in the
// same container of the same stage of the same run of the same account
// always has the same ID, which is the job's Nats-Msg-Id.
var executionNamespace = uuid.MustParse("0b3a6f57-8a3c-4bb4-9f0e-5d1f1f8f2c11")

// ExecutionID is the deterministic ID of one hook in one container of a
// stage. Two accounts that use the same run ID get different IDs, so their
// jobs and execution results are not de-duplicated against each other.
func ExecutionID(account, runID string, action events.Action, stage events.Stage, hookID string, c events.Container) string {
	return uuid.NewSHA1(executionNamespace, []byte(events.StageKey(account, runID, action, stage)+"\x00"+hookID+"\x00"+c.Key())).String()
}

func (e *Engine) handleLifecycle(ctx context.Context) func(jetstream.Msg) {
	return func(msg jetstream.Msg) {
		_, ev, err := events.DecodeLifecycle(msg.Data())
		if err != nil {
			e.rejectLifecycle(ctx, msg, err)
			return
		}
		log := e.log.With(zap.String("run_id", ev.RunID), zap.String("app_id", ev.AppID),
			zap.String("action", string(ev.Action)), zap.String("stage", string(ev.Stage)))
		if pull.Redelivered(msg) {
			e.cfg.Metrics.Redelivered(metrics.RedeliveryLifecycle)
		}
		if err := e.startStage(ctx, ev, eventSequence(msg), log); err != nil {
			if k := kindOf(err); k == errkind.Invalid || k == errkind.Permanent {
				// Retrying will not change the answer (a value over the
				// server's max payload, a 4xx from JetStream): fail the
				// stage, saying why, and never see the event again.
				e.failLifecycle(ctx, msg, ev, err, log)
				return
			}
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

// eventSequence is msg's sequence in its stream (0 when unknown).
func eventSequence(msg jetstream.Msg) uint64 {
	if md, err := msg.Metadata(); err == nil {
		return md.Sequence.Stream
	}
	return 0
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
		rec := &StageRecord{Event: ev, Planned: time.Now().UTC(), EventSequence: eventSequence(msg), Details: []events.StateDetail{
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

// failLifecycle answers an event whose stage failed for a permanent reason
// with a failed stage result and terminates it. The result is recorded once:
// a stage answered before is answered with what was recorded.
func (e *Engine) failLifecycle(ctx context.Context, msg jetstream.Msg, ev *events.LifecycleEvent, cause error, log *zap.Logger) {
	log.Error("lifecycle event failed for good; answering with a failed stage", zap.Error(cause))
	rec := &StageRecord{Event: *ev, Planned: time.Now().UTC(), EventSequence: eventSequence(msg), Abort: e.failModePre(ev), Details: []events.StateDetail{
		events.NewStateDetail(events.DetailMatchFailed, "Stage could not be planned",
			fmt.Sprintf("the %s/%s stage of run %s was not run: %v", ev.Action, ev.Stage, ev.RunID, cause), nil),
	}}
	if _, err := e.finalize(ctx, rec); err != nil {
		if k := kindOf(err); k != errkind.Invalid && k != errkind.Permanent {
			log.Warn("answer failed lifecycle event, will retry", zap.Error(err))
			_ = msg.NakWithDelay(time.Second)
			return
		}
		log.Error("failed lifecycle event could not be answered", zap.Error(err))
	}
	_ = msg.TermWithReason(truncate(cause.Error(), 200))
}

// startStage plans the stage once (create-if-absent), then dispatches the
// first job of every lane. Replaying it is harmless: the plan is read back,
// and jobs carry de-duplication IDs.
func (e *Engine) startStage(ctx context.Context, ev *events.LifecycleEvent, seq uint64, log *zap.Logger) error {
	key := ev.StageKey()
	rec, err := e.plan(ctx, ev)
	if err != nil {
		return err
	}
	rec.EventSequence = seq // a plan recorded before keeps its own
	created, err := e.runs.createPlan(ctx, key, rec)
	if err != nil {
		return err
	}
	e.cachePlan(key, rec)
	jobs := rec.Jobs()
	log.Info("stage planned", zap.Int("executions", len(jobs)), zap.Int("containers", len(rec.Lanes)))

	if ev.Stage == events.StagePost {
		// The promise is kept: the post stage is underway.
		if err := e.runs.Bucket.Delete(ctx, pairKey(ev.AccountID, ev.RunID, ev.Action)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("clear pairing: %w", err)
		}
	} else if created && len(jobs) > 0 && e.cfg.PairingTimeout > 0 && events.ValidActionStage(ev.Action, events.StagePost) {
		// Only the event that planned the stage makes the promise: a replay
		// (created is false) of a run whose post stage ran long ago must not
		// make it again, and neither may a pre stage planned after its post.
		if err := e.promisePost(ctx, rec); err != nil {
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
	app, err := e.store.Apps.Get(ctx, ev.AccountID, ev.AppID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		app = nil
	case err != nil:
		return nil, err
	}
	if app != nil && app.Value.Discovered() {
		if stop, err := e.discover(ctx, rec, &app.Value); stop || err != nil {
			return rec, err
		}
	} else if len(rec.Event.Containers) == 0 && app != nil {
		rec.Event.Containers = app.Value.Containers
	}
	if len(rec.Event.Containers) == 0 {
		if n := e.candidates(ev); n > 0 {
			var why string
			switch {
			case rec.Discovered:
				why = fmt.Sprintf("no running container of app %s in cluster %s matches its namespaces and label selectors (%s)",
					ev.AppID, rec.Cluster, scopesText(app.Value.NamespaceScopedResources))
			case app != nil:
				why = fmt.Sprintf("app %s (%s) is registered with no containers, and the event carried none", ev.AppID, app.Value.Name)
			default:
				why = fmt.Sprintf("the event carried no containers and no app with id %s is registered", ev.AppID)
			}
			rec.Details = append(rec.Details, events.NewStateDetail(events.DetailMatchFailed, "No container to run hooks in",
				fmt.Sprintf("app %s has %d enabled %s/%s hooks that did not run: %s", ev.AppID, n, ev.Action, ev.Stage, why), nil))
			rec.Abort = e.failModePre(ev)
		}
		return rec, nil
	}

	res := e.index.Match(ev.AccountID, ev.AppID, ev.Action, ev.Stage, rec.Event.Containers)
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
				ExecutionID: ExecutionID(ev.AccountID, ev.RunID, ev.Action, ev.Stage, m.Hook.ID, c),
				RunID:       ev.RunID, AccountID: ev.AccountID, AppID: ev.AppID, Action: ev.Action, Stage: ev.Stage,
				HookID: m.Hook.ID, HookName: m.Hook.Name, HookVersion: version.Version, SourceID: m.Hook.HookSourceID, SourceChecksum: sum,
				Arguments: m.Hook.Arguments, TimeoutSeconds: int(m.Hook.Timeout() / time.Second),
				FailureMode: m.Hook.EffectiveFailureMode(), Cluster: rec.Cluster, Container: c,
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

// discover sets rec's inventory to the containers discovered from the
// app's cluster. When discovery fails for any reason but a canceled ctx,
// the stage fails with a detail naming the cluster (stop is true): hooks
// that were meant to quiesce an app must not be skipped in silence, nor
// the stage retried without end while the cluster is away.
func (e *Engine) discover(ctx context.Context, rec *StageRecord, app *store.App) (stop bool, err error) {
	ev := &rec.Event
	fail := func(title, detail string) (bool, error) {
		rec.Details = append(rec.Details, events.NewStateDetail(events.DetailClusterUnavailable, title, detail,
			map[string]any{"clusterID": app.ClusterID}))
		rec.Abort = e.failModePre(ev)
		return true, nil
	}
	if e.cfg.Clusters == nil {
		return fail("No cluster registry", fmt.Sprintf("app %s (%s) lives in cluster %s, but this Hookshot has no clusters configured", ev.AppID, app.Name, app.ClusterID))
	}
	info, ok := e.cfg.Clusters.Resolve(app.ClusterID)
	if !ok {
		return fail("Unknown cluster", fmt.Sprintf("app %s (%s) lives in cluster %s, which is not configured here", ev.AppID, app.Name, app.ClusterID))
	}
	rec.Cluster = info.Name
	if len(ev.Containers) > 0 {
		// The controller said which containers; they are in the app's cluster.
		return false, nil
	}
	dctx, cancel := context.WithTimeout(ctx, e.cfg.DiscoveryTimeout)
	defer cancel()
	cs, err := e.cfg.Clusters.Discover(dctx, app.ClusterID, app.NamespaceScopedResources)
	if err != nil {
		if ctx.Err() != nil {
			return true, ctx.Err() // the engine is stopping: the event is redelivered
		}
		return fail("Cluster unavailable", fmt.Sprintf("the containers of app %s (%s) could not be discovered, so none of its hooks ran: %v", ev.AppID, app.Name, err))
	}
	ev.Containers, rec.Discovered = cs, true
	return false, nil
}

// failModePre reports whether a FAIL-mode hook of a pre stage is among the
// event's candidates: when such a hook cannot run, the action is aborted.
func (e *Engine) failModePre(ev *events.LifecycleEvent) bool {
	if ev.Stage != events.StagePre {
		return false
	}
	for _, h := range e.index.HooksForApp(ev.AccountID, ev.AppID) {
		if h.IsEnabled() && h.Action == ev.Action && h.Stage == ev.Stage && h.EffectiveFailureMode() == events.FailureModeFail {
			return true
		}
	}
	return false
}

// scopesText is an app's namespaces and selectors, for messages.
func scopesText(scopes []events.NamespaceSelector) string {
	parts := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if len(s.LabelSelectors) == 0 {
			parts = append(parts, "namespace "+s.Namespace)
			continue
		}
		parts = append(parts, fmt.Sprintf("namespace %s with %q", s.Namespace, s.LabelSelectors))
	}
	return strings.Join(parts, "; ")
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
