package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/metrics"
	"github.com/hookshot-dev/hookshot/internal/pull"
	"github.com/hookshot-dev/hookshot/internal/runstate"
)

// handleResults records a batch of execution results of one run (what
// queued up while the run's previous batch was recorded): each result once,
// concurrently, then stage by stage one progress update for all of them,
// one publish of the next hook of each of their containers, and the stage
// result when every container is done. A message is acked once all of that
// is done for it; on transient trouble it is handed back, and since every
// step is idempotent its redelivery redoes only what is missing.
func (e *Engine) handleResults(ctx context.Context) func([]jetstream.Msg) {
	type item struct {
		msg jetstream.Msg
		r   *events.ExecutionResult
		log *zap.Logger
		err error
	}
	return func(msgs []jetstream.Msg) {
		items := make([]*item, 0, len(msgs))
		for _, msg := range msgs {
			r, err := events.DecodeExecutionResult(msg.Data())
			if err != nil {
				e.log.Error("malformed execution result terminated", zap.String("subject", msg.Subject()), zap.Error(err))
				_ = msg.TermWithReason(truncate(err.Error(), 200))
				continue
			}
			if pull.Redelivered(msg) {
				e.cfg.Metrics.Redelivered(metrics.RedeliveryResult)
			}
			items = append(items, &item{msg: msg, r: r,
				log: e.log.With(zap.String("run_id", r.RunID), zap.String("execution_id", r.ExecutionID), zap.String("hook_id", r.HookID))})
		}
		var wg sync.WaitGroup
		for _, it := range items {
			wg.Go(func() { it.err = e.recordExecution(ctx, it.r, it.log) })
		}
		wg.Wait()

		stages := map[string][]*item{}
		var order []string
		for _, it := range items {
			if it.err != nil {
				it.log.Warn("execution result not processed, will retry", zap.Error(it.err))
				_ = it.msg.NakWithDelay(time.Second)
				continue
			}
			key := events.StageKey(it.r.AccountID, it.r.RunID, it.r.Action, it.r.Stage)
			if _, ok := stages[key]; !ok {
				order = append(order, key)
			}
			stages[key] = append(stages[key], it)
		}
		for _, key := range order {
			batch := stages[key]
			results := make([]*events.ExecutionResult, len(batch))
			for i, it := range batch {
				results[i] = it.r
			}
			err := e.advanceStage(ctx, key, results, batch[0].log)
			for _, it := range batch {
				if err != nil {
					it.log.Warn("execution result not processed, will retry", zap.Error(err))
					_ = it.msg.NakWithDelay(time.Second)
				} else if err := it.msg.Ack(); err != nil {
					it.log.Warn("ack execution result", zap.Error(err))
				}
			}
		}
	}
}

// recordExecution stores an execution result under its execution, once:
// the first result recorded wins.
func (e *Engine) recordExecution(ctx context.Context, r *events.ExecutionResult, log *zap.Logger) error {
	stored := *r
	created, err := e.runs.Create(ctx, runstate.ResultExecKey(r), &stored)
	if err != nil {
		return err
	}
	if created {
		log.Info("execution finished", zap.String("status", string(r.Status)), zap.Int("exit_code", r.ExitCode), zap.Int("attempt", r.Attempt))
		e.cfg.Metrics.ExecutionFinished(r.Action, r.Stage, metrics.Outcome(r), time.Duration(r.DurationMillis)*time.Millisecond)
	} else if stored.Attempt != r.Attempt {
		log.Info("duplicate execution result ignored", zap.Int("attempt", r.Attempt), zap.Int("recorded_attempt", stored.Attempt))
	}
	return nil
}

// advanceStage marks the executions of results done in their stage's
// progress, dispatches the next hook of each of their containers, and
// closes the stage when every container is done.
func (e *Engine) advanceStage(ctx context.Context, key string, results []*events.ExecutionResult, log *zap.Logger) error {
	rec, err := e.stageRecord(ctx, key)
	if err != nil {
		return err
	}
	if rec == nil {
		log.Error("execution result for a stage that was never planned; ignored", zap.String("stage", key))
		return nil
	}
	var done, lanes []int
	for _, r := range results {
		lane, index, ok := rec.locate(r.ExecutionID)
		if !ok {
			log.Error("execution result not in its stage's plan; ignored", zap.String("stage", key), zap.String("execution_id", r.ExecutionID))
			continue
		}
		done, lanes = append(done, index), append(lanes, lane)
	}
	if len(done) == 0 {
		return nil
	}
	p, err := e.runs.markDone(ctx, key, done...)
	if err != nil {
		return err
	}
	var next []*events.Job
	seen := map[int]bool{}
	for _, lane := range lanes {
		if seen[lane] {
			continue
		}
		seen[lane] = true
		if job, ok := rec.next(lane, p); ok {
			next = append(next, job)
		}
	}
	if len(next) > 0 {
		if err := e.dispatch(ctx, next); err != nil {
			return err
		}
	}
	if !p.all(rec.jobCount()) {
		return nil
	}
	_, err = e.finalize(ctx, rec)
	return err
}

// stageRecord reads a stage's plan, from the cache when it can: a plan is
// written once and never changes. nil when the stage was never planned.
func (e *Engine) stageRecord(ctx context.Context, key string) (*StageRecord, error) {
	e.plansMu.Lock()
	rec, ok := e.plans[key]
	e.plansMu.Unlock()
	if ok {
		return rec, nil
	}
	rec, err := e.runs.loadPlan(ctx, key)
	if err != nil || rec == nil {
		return nil, err
	}
	e.cachePlan(key, rec)
	return rec, nil
}

// maxCachedPlans bounds the plan cache; past it the cache starts over.
const maxCachedPlans = 1024

func (e *Engine) cachePlan(key string, rec *StageRecord) {
	e.plansMu.Lock()
	defer e.plansMu.Unlock()
	if len(e.plans) >= maxCachedPlans {
		clear(e.plans)
	}
	e.plans[key] = rec
}

// dispatch publishes jobs to the work queue, each with its execution ID as
// its de-duplication ID, and waits until the stream has them all.
func (e *Engine) dispatch(ctx context.Context, jobs []*events.Job) error {
	msgs := make([]*nats.Msg, 0, len(jobs))
	for _, j := range jobs {
		m, err := events.NewMsg(events.JobSubject(j.AccountID, j.ClusterName(), j.AppID), events.TypeJob, "job."+j.ExecutionID, j)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	return events.PublishAll(ctx, e.js, msgs)
}

// finalize folds the stage's execution results into its stage result,
// records it once and publishes it. A repeat publishes the recorded result.
func (e *Engine) finalize(ctx context.Context, rec *StageRecord) (*events.StageResult, error) {
	ev := rec.Event
	sr := &events.StageResult{
		RunID: ev.RunID, AccountID: ev.AccountID, AppID: ev.AppID, Action: ev.Action, Stage: ev.Stage,
		HookStateDetails: slices.Clone(rec.Details), AbortAction: rec.Abort,
		Executions: []events.ExecutionSummary{}, Started: rec.Planned, LifecycleSequence: rec.EventSequence,
	}
	results, err := e.stageExecutions(ctx, rec)
	if err != nil {
		return nil, err
	}
	for _, job := range rec.Jobs() {
		var r events.ExecutionResult
		found, err := results(runstate.JobExecKey(&job), &r)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("finalize %s: execution %s has no result", ev.StageKey(), job.ExecutionID)
		}
		sr.Executions = append(sr.Executions, events.ExecutionSummary{
			ExecutionID: r.ExecutionID, HookID: r.HookID, HookName: r.HookName, HookVersion: r.HookVersion, Container: r.Container,
			Status: r.Status, ExitCode: r.ExitCode, Signal: r.Signal, TimedOut: r.TimedOut,
			Attempt: r.Attempt, DurationMillis: r.DurationMillis,
		})
		if !r.Succeeded() {
			sr.HookStateDetails = append(sr.HookStateDetails, failureDetail(&r))
			if ev.Stage == events.StagePre && r.FailureMode == events.FailureModeFail {
				sr.AbortAction = true
			}
		}
	}
	sr.HookState = events.HookStateSuccess
	if len(sr.HookStateDetails) > 0 {
		sr.HookState = events.HookStateFailed
	}
	if sr.HookStateDetails == nil {
		sr.HookStateDetails = []events.StateDetail{}
	}
	sr.Finished = time.Now().UTC()
	out, err := boundStageResult(sr, maxValueBytes)
	if err != nil {
		return nil, err
	}
	key := ev.StageKey()
	created, err := e.runs.Create(ctx, resultKey(key), out)
	if err != nil {
		return nil, err
	}
	msgID := "stage." + key
	if !created {
		// The stage was answered before: answer with what was recorded,
		// marked as a replay, so nobody takes it for a new run. (Replays
		// share one de-duplication ID of their own.)
		recorded := new(stageResultRecord)
		found, err := e.runs.Get(ctx, resultKey(key), recorded)
		if err != nil {
			return nil, err
		}
		if found {
			out = recorded
		}
		out.Replayed = true
		msgID += ".replay"
	}
	sr = &out.StageResult
	if _, err := events.Publish(ctx, e.js, events.StageResultSubject(ev.AccountID, ev.RunID), events.TypeStageResult, msgID, out); err != nil {
		return nil, err
	}
	if created {
		e.cfg.Metrics.StageFinished(ev.Action, ev.Stage, sr.HookState, sr.AbortAction)
		e.log.Info("stage finished", zap.String("run_id", ev.RunID), zap.String("app_id", ev.AppID),
			zap.String("action", string(ev.Action)), zap.String("stage", string(ev.Stage)),
			zap.String("hook_state", string(sr.HookState)), zap.Bool("abort_action", sr.AbortAction), zap.Int("executions", out.total()))
	}
	return sr, nil
}

// scanFrom is the size of a stage from which finalize reads its execution
// results in one KV watch instead of one get each.
const scanFrom = 64

// stageExecutions returns a reader of the stage's execution results by key:
// one get per key for a small stage, one scan of them all for a large one.
func (e *Engine) stageExecutions(ctx context.Context, rec *StageRecord) (func(key string, r *events.ExecutionResult) (bool, error), error) {
	if rec.jobCount() < scanFrom {
		return func(key string, r *events.ExecutionResult) (bool, error) { return e.runs.Get(ctx, key, r) }, nil
	}
	entries, err := e.runs.scan(ctx, runstate.ExecKey(rec.Event.StageKey(), "*"))
	if err != nil {
		return nil, err
	}
	byKey := make(map[string][]byte, len(entries))
	for _, en := range entries {
		byKey[en.Key()] = en.Value()
	}
	return func(key string, r *events.ExecutionResult) (bool, error) {
		raw, ok := byKey[key]
		if !ok {
			return false, nil
		}
		if err := json.Unmarshal(raw, r); err != nil {
			return false, fmt.Errorf("decode %s: %w", key, err)
		}
		return true, nil
	}, nil
}

// failureDetail says which hook failed where and how, within Astra's limits.
func failureDetail(r *events.ExecutionResult) events.StateDetail {
	var how string
	switch {
	case r.Error != "":
		how = r.Error
	case r.TimedOut:
		how = "timed out"
	case r.Signal != "":
		how = "killed by signal " + r.Signal
	default:
		how = fmt.Sprintf("exit code %d", r.ExitCode)
	}
	detail := fmt.Sprintf("hook %q failed in container %s (image %s): %s", r.HookName, r.Container.Key(), r.Container.ContainerImage, how)
	if tail := lastLine(r.Stderr.Text); tail != "" {
		detail += "; stderr: " + tail
	}
	return events.NewStateDetail(events.DetailHookFailed, "Hook "+r.HookName+" failed", detail, map[string]any{
		"hookID": r.HookID, "executionID": r.ExecutionID, "exitCode": r.ExitCode,
		"namespaceName": r.Container.NamespaceName, "podName": r.Container.PodName, "containerName": r.Container.ContainerName,
		"attempt": r.Attempt, "failureMode": string(r.FailureMode),
	})
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n ")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
