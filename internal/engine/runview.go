package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"

	"github.com/hookshot-dev/hookshot/internal/errkind"
	"github.com/hookshot-dev/hookshot/internal/runstate"
)

// ErrRunNotFound is returned by Engine.Run when the account has no stage of
// the run.
var ErrRunNotFound = errkind.New("run not found", errkind.NotFound)

// Statuses of an ExecutionView besides events.StatusSucceeded and
// events.StatusFailed, which come from the execution's recorded result.
const (
	// ExecutionQueued: planned, no worker has started it yet (or it waits
	// behind an earlier hook of the same container).
	ExecutionQueued events.Status = "queued"
	// ExecutionRunning: a worker started it and no result is recorded yet.
	ExecutionRunning events.Status = "running"
)

// RunView is everything the engine recorded about one run: its stages in the
// order they were planned and, for each, every planned execution.
type RunView struct {
	RunID     string      `json:"runID"`
	AccountID string      `json:"accountID"`
	AppID     string      `json:"appID"`
	Stages    []StageView `json:"stages"`
}

// StageView is one stage of a run. HookState, AbortAction, Details and
// Finished are set once the stage result is recorded.
type StageView struct {
	Action      events.Action        `json:"action"`
	Stage       events.Stage         `json:"stage"`
	Planned     time.Time            `json:"planned"`
	Finished    *time.Time           `json:"finished,omitempty"`
	HookState   events.HookState     `json:"hookState,omitempty"`
	AbortAction bool                 `json:"abortAction,omitempty"`
	Details     []events.StateDetail `json:"hookStateDetails,omitempty"`
	// Cluster is where the stage's containers live ("local" for a static
	// inventory); Discovered is set when Inventory was discovered from it
	// when the stage was planned.
	Cluster    string `json:"cluster"`
	Discovered bool   `json:"discovered,omitempty"`
	// Inventory is every container the stage matched hooks against.
	Inventory []events.Container `json:"inventory"`
	// Executions are in lane order: container by container, each
	// container's hooks in the order they run.
	Executions []ExecutionView `json:"executions"`
}

// ExecutionView is one hook in one container of a stage. The outcome
// fields (ExitCode onwards) are set once its result is recorded; Attempt,
// Worker and Started also while it runs.
type ExecutionView struct {
	ExecutionID string             `json:"executionID"`
	HookID      string             `json:"hookID"`
	HookName    string             `json:"hookName"`
	HookVersion string             `json:"hookVersion,omitempty"`
	FailureMode events.FailureMode `json:"failureMode"`
	Container   events.Container   `json:"container"`
	// Status is ExecutionQueued, ExecutionRunning, events.StatusSucceeded
	// or events.StatusFailed.
	Status  events.Status `json:"status"`
	Attempt int           `json:"attempt,omitempty"`
	Worker  string        `json:"worker,omitempty"`
	// ExitCode is nil until the result is recorded (and -1 when the hook
	// was killed or never started).
	ExitCode       *int           `json:"exitCode,omitempty"`
	Signal         string         `json:"signal,omitempty"`
	TimedOut       bool           `json:"timedOut,omitempty"`
	Error          string         `json:"error,omitempty"`
	DurationMillis int64          `json:"durationMillis,omitempty"`
	Started        *time.Time     `json:"started,omitempty"`
	Finished       *time.Time     `json:"finished,omitempty"`
	Stdout         *events.Output `json:"stdout,omitempty"`
	Stderr         *events.Output `json:"stderr,omitempty"`
}

// RunSummary is one line of a list of runs.
type RunSummary struct {
	RunID     string `json:"runID"`
	AccountID string `json:"accountID"`
	AppID     string `json:"appID"`
	// Stages are "<action>/<stage> <hookState>", "running" while a stage
	// has no result, in the order they were planned.
	Stages []string `json:"stages"`
	// Planned is when the run's first stage was planned.
	Planned time.Time `json:"planned"`
	// Finished is when its last stage finished, nil while a stage runs. A
	// run between its pre and post stages looks finished: the engine does
	// not know a post stage is coming.
	Finished *time.Time `json:"finished,omitempty"`
	// HookState is "failed" once any stage failed, "success" when every
	// stage finished with success, "" while stages run and none failed.
	HookState events.HookState `json:"hookState,omitempty"`
}

// Run reads one run of account from the runs bucket: one KV watch over the
// run's keys (plans, stage results, execution results, start markers).
// ErrRunNotFound when the account has no stage of that run.
func (e *Engine) Run(ctx context.Context, account, runID string) (*RunView, error) {
	if !events.ValidToken(account) || !events.ValidToken(runID) {
		return nil, fmt.Errorf("engine: run %q: %w", runID, ErrRunNotFound)
	}
	run := account + "." + runID + ".>"
	entries, err := e.runs.scan(ctx, "stage."+run, "result."+run, "exec."+run, "started."+run)
	if err != nil {
		return nil, fmt.Errorf("engine: read run %s: %w", runID, err)
	}
	rs, err := decodeRunState(entries)
	if err != nil {
		return nil, fmt.Errorf("engine: read run %s: %w", runID, err)
	}
	stages := rs.stagesOf(account)[runID]
	if len(stages) == 0 {
		return nil, fmt.Errorf("engine: run %q: %w", runID, ErrRunNotFound)
	}
	v := &RunView{RunID: runID, AccountID: account, AppID: stages[0].event.AppID, Stages: make([]StageView, 0, len(stages))}
	for _, s := range stages {
		sv := StageView{Action: s.event.Action, Stage: s.event.Stage, Planned: s.planned, Executions: []ExecutionView{}}
		if r := s.result; r != nil {
			finished := r.Finished
			sv.Finished, sv.HookState, sv.AbortAction, sv.Details = &finished, r.HookState, r.AbortAction, r.HookStateDetails
		}
		sv.Cluster, sv.Inventory = events.ClusterLocal, []events.Container{}
		if s.rec != nil {
			// A large plan keeps its jobs in chunks beside its header.
			if err := e.runs.loadLanes(ctx, s.rec.Event.StageKey(), s.rec); err != nil {
				return nil, fmt.Errorf("engine: read run %s: %w", runID, err)
			}
			if s.rec.Cluster != "" {
				sv.Cluster = s.rec.Cluster
			}
			sv.Discovered = s.rec.Discovered
			if s.rec.Event.Containers != nil {
				sv.Inventory = s.rec.Event.Containers
			}
			for _, job := range s.rec.Jobs() {
				sv.Executions = append(sv.Executions, executionView(&job, rs.execs[runstate.JobExecKey(&job)], rs.starts[runstate.JobStartedKey(&job)]))
			}
		}
		v.Stages = append(v.Stages, sv)
	}
	return v, nil
}

// Runs lists the runs of account, newest first by plan time, at most limit
// of them (all when limit ≤ 0).
//
// It reads every stage plan and stage result of the account in the runs
// bucket (the keys lead with the account): O(the account's stages kept),
// bounded by the bucket's TTL (events.ProvisionConfig.HistoryMaxAge). Fine
// for an operator's list, not for a hot path.
func (e *Engine) Runs(ctx context.Context, account string, limit int) ([]RunSummary, error) {
	if !events.ValidToken(account) {
		return []RunSummary{}, nil
	}
	entries, err := e.runs.scan(ctx, "stage."+account+".>", "result."+account+".>")
	if err != nil {
		return nil, fmt.Errorf("engine: list runs: %w", err)
	}
	rs, err := decodeRunState(entries)
	if err != nil {
		return nil, fmt.Errorf("engine: list runs: %w", err)
	}
	out := []RunSummary{}
	for runID, stages := range rs.stagesOf(account) {
		out = append(out, summarize(runID, account, stages))
	}
	slices.SortFunc(out, func(a, b RunSummary) int {
		return cmp.Or(b.Planned.Compare(a.Planned), strings.Compare(a.RunID, b.RunID))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func summarize(runID, account string, stages []stageState) RunSummary {
	s := RunSummary{RunID: runID, AccountID: account, AppID: stages[0].event.AppID, Planned: stages[0].planned, Stages: make([]string, 0, len(stages))}
	var last time.Time
	done, failed := true, false
	for _, st := range stages {
		state := string(ExecutionRunning)
		if r := st.result; r != nil {
			state = string(r.HookState)
			failed = failed || r.HookState == events.HookStateFailed
			if r.Finished.After(last) {
				last = r.Finished
			}
		} else {
			done = false
		}
		s.Stages = append(s.Stages, string(st.event.Action)+"/"+string(st.event.Stage)+" "+state)
	}
	switch {
	case failed:
		s.HookState = events.HookStateFailed
	case done:
		s.HookState = events.HookStateSuccess
	}
	if done {
		s.Finished = &last
	}
	return s
}

func executionView(job *events.Job, r *events.ExecutionResult, start *runstate.ExecutionStart) ExecutionView {
	v := ExecutionView{
		ExecutionID: job.ExecutionID, HookID: job.HookID, HookName: job.HookName, HookVersion: job.HookVersion,
		FailureMode: job.FailureMode, Container: job.Container, Status: ExecutionQueued,
	}
	if start != nil {
		started := start.Started
		v.Status, v.Attempt, v.Worker, v.Started = ExecutionRunning, start.Attempt, start.Worker, &started
	}
	if r == nil {
		return v
	}
	exit := r.ExitCode
	v.Status, v.Attempt, v.Worker, v.ExitCode = r.Status, r.Attempt, r.Worker, &exit
	v.Signal, v.TimedOut, v.Error, v.DurationMillis = r.Signal, r.TimedOut, r.Error, r.DurationMillis
	v.Stdout, v.Stderr = &r.Stdout, &r.Stderr
	// A hook that never started (its source could not be loaded, it was
	// given up) has zero times.
	if !r.Started.IsZero() {
		started := r.Started
		v.Started = &started
	}
	if !r.Finished.IsZero() {
		finished := r.Finished
		v.Finished = &finished
	}
	return v
}

// runState is the decoded content of a scan of the runs bucket.
type runState struct {
	plans   map[string]*StageRecord        // by stage key
	results map[string]*events.StageResult // by stage key
	execs   map[string]*events.ExecutionResult
	starts  map[string]*runstate.ExecutionStart
}

// stageState is one stage as a run view sees it: its plan, or only its
// result for an event rejected before it could be planned.
type stageState struct {
	event   events.LifecycleEvent
	planned time.Time
	rec     *StageRecord
	result  *events.StageResult
}

func decodeRunState(entries []jetstream.KeyValueEntry) (*runState, error) {
	rs := &runState{
		plans: map[string]*StageRecord{}, results: map[string]*events.StageResult{},
		execs: map[string]*events.ExecutionResult{}, starts: map[string]*runstate.ExecutionStart{},
	}
	for _, en := range entries {
		kind, rest, _ := strings.Cut(en.Key(), ".")
		var into any
		switch kind {
		case "stage":
			v := new(StageRecord)
			rs.plans[rest], into = v, v
		case "result":
			v := new(events.StageResult)
			rs.results[rest], into = v, v
		case "exec":
			v := new(events.ExecutionResult)
			rs.execs[en.Key()], into = v, v
		case "started":
			v := new(runstate.ExecutionStart)
			rs.starts[en.Key()], into = v, v
		default:
			continue
		}
		if err := json.Unmarshal(en.Value(), into); err != nil {
			return nil, fmt.Errorf("decode %s: %w", en.Key(), err)
		}
	}
	return rs, nil
}

// stagesOf groups the stages of account by run, each run's stages in the
// order they were planned.
func (rs *runState) stagesOf(account string) map[string][]stageState {
	runs := map[string][]stageState{}
	for key, rec := range rs.plans {
		if rec.Event.AccountID == account {
			runs[rec.Event.RunID] = append(runs[rec.Event.RunID], stageState{event: rec.Event, planned: rec.Planned, rec: rec, result: rs.results[key]})
		}
	}
	for key, r := range rs.results {
		if _, planned := rs.plans[key]; !planned && r.AccountID == account {
			ev := events.LifecycleEvent{RunID: r.RunID, AccountID: r.AccountID, AppID: r.AppID, Action: r.Action, Stage: r.Stage}
			runs[r.RunID] = append(runs[r.RunID], stageState{event: ev, planned: r.Started, result: r})
		}
	}
	for _, stages := range runs {
		slices.SortFunc(stages, func(a, b stageState) int {
			return cmp.Or(a.planned.Compare(b.planned), cmp.Compare(stageRank(a.event), stageRank(b.event)))
		})
	}
	return runs
}

// stageRank orders stages planned at the same instant as a backup nests
// them.
func stageRank(ev events.LifecycleEvent) int {
	switch string(ev.Action) + "/" + string(ev.Stage) {
	case "backup/pre":
		return 0
	case "snapshot/pre":
		return 1
	case "snapshot/post":
		return 2
	case "backup/post":
		return 3
	}
	return 4
}

// scan reads the current value of every key matching one of filters, in
// one KV watch. A ctx without a deadline gets one of 30s.
func (r runs) scan(ctx context.Context, filters ...string) ([]jetstream.KeyValueEntry, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	what := strings.Join(filters, " ")
	// WatchFiltered rewrites the slice it is given.
	w, err := r.Bucket.WatchFiltered(ctx, slices.Clone(filters), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", what, err)
	}
	defer func() {
		_ = w.Stop()
		// Unblock a delivery in flight, until the watcher closes its channel.
		go func() {
			for range w.Updates() {
			}
		}()
	}()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case en, ok := <-w.Updates():
			switch {
			case !ok:
				return nil, fmt.Errorf("scan %s: watch closed early: %w", what, cmp.Or(ctx.Err(), errors.New("subscription closed")))
			case en == nil: // every current value delivered
				return out, nil
			}
			out = append(out, en)
		case <-ctx.Done():
			return nil, fmt.Errorf("scan %s: %w", what, ctx.Err())
		}
	}
}
