package events

import "time"

// Action is what a lifecycle event runs hooks around: the app action
// (snapshot, backup, restore, failover). On the wire it is a JSON string.
type Action string

// Stage is when, relative to its action, a hook runs (pre, post). On the
// wire it is a JSON string.
type Stage string

// Actions and stages. See ValidActionStage for the pairs that exist.
const (
	ActionSnapshot Action = "snapshot"
	ActionBackup   Action = "backup"
	ActionRestore  Action = "restore"
	ActionFailover Action = "failover"

	StagePre  Stage = "pre"
	StagePost Stage = "post"
)

// HookState is the outcome of a stage, as Astra's hookState (success,
// failed). On the wire it is a JSON string.
type HookState string

// Hook states, as Astra's hookState.
const (
	HookStateSuccess HookState = "success"
	HookStateFailed  HookState = "failed"
)

// FailureMode is what a failed hook does to its stage (RFS-style). On the
// wire it is a JSON string; "" means FailureModeWarn.
type FailureMode string

// Failure modes of a hook (RFS-style). WARN is Astra's soft failure.
const (
	FailureModeWarn FailureMode = "WARN"
	FailureModeFail FailureMode = "FAIL"
)

// Status is the outcome of one execution (succeeded, failed). On the wire
// it is a JSON string.
type Status string

// Execution statuses.
const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// ValidActionStage reports whether stage exists for action: snapshot and
// backup have pre and post; restore and failover have post only.
func ValidActionStage(action Action, stage Stage) bool {
	switch action {
	case ActionSnapshot, ActionBackup:
		return stage == StagePre || stage == StagePost
	case ActionRestore, ActionFailover:
		return stage == StagePost
	}
	return false
}

// LifecycleEvent asks the engine to run one stage of one run: every enabled
// hook of the app for (action, stage), in the containers it matches.
type LifecycleEvent struct {
	// RunID groups the stages of one snapshot, backup, restore or failover.
	RunID     string `json:"runID"`
	AccountID string `json:"accountID"`
	AppID     string `json:"appID"`
	Action    Action `json:"action"`
	Stage     Stage  `json:"stage"`
	// Containers is the app's inventory. When empty the engine uses the
	// inventory of the registered app.
	Containers []Container `json:"containers,omitempty"`
}

// StageKey names the stage this event asks for (see StageKey).
func (e *LifecycleEvent) StageKey() string { return StageKey(e.AccountID, e.RunID, e.Action, e.Stage) }

// Job is one hook to run in one container: the unit of work a worker pulls.
type Job struct {
	ExecutionID string `json:"executionID"`
	RunID       string `json:"runID"`
	AccountID   string `json:"accountID"`
	AppID       string `json:"appID"`
	Action      Action `json:"action"`
	Stage       Stage  `json:"stage"`
	HookID      string `json:"hookID"`
	HookName    string `json:"hookName"`
	// HookVersion is the hook version planned; its source content and
	// arguments are what runs.
	HookVersion string `json:"hookVersion,omitempty"`
	SourceID    string `json:"hookSourceID"`
	// SourceChecksum is the sourceMD5Checksum of the content the hook
	// version pins; the worker runs exactly that content.
	SourceChecksum string      `json:"sourceMD5Checksum"`
	Arguments      []string    `json:"arguments"`
	TimeoutSeconds int         `json:"timeoutSeconds"`
	FailureMode    FailureMode `json:"failureMode"`
	// Cluster names the cluster the container lives in, and so which
	// workers take the job and which runner runs it. Empty means
	// ClusterLocal (jobs written before clusters existed).
	Cluster   string    `json:"cluster,omitempty"`
	Container Container `json:"container"`
}

// ClusterName is the job's cluster, ClusterLocal when none is named.
func (j *Job) ClusterName() string {
	if j.Cluster == "" {
		return ClusterLocal
	}
	return j.Cluster
}

// Output is captured stdout or stderr, bounded: head and tail kept.
type Output struct {
	Text       string `json:"text"`
	Truncated  bool   `json:"truncated,omitempty"`
	TotalBytes int64  `json:"totalBytes"`
}

// ExecutionResult is the outcome of one job: one hook in one container.
type ExecutionResult struct {
	ExecutionID string      `json:"executionID"`
	RunID       string      `json:"runID"`
	AccountID   string      `json:"accountID"`
	AppID       string      `json:"appID"`
	Action      Action      `json:"action"`
	Stage       Stage       `json:"stage"`
	HookID      string      `json:"hookID"`
	HookName    string      `json:"hookName"`
	HookVersion string      `json:"hookVersion,omitempty"`
	FailureMode FailureMode `json:"failureMode"`
	Container   Container   `json:"container"`
	// Attempt is the delivery this result came from, 1 for the first.
	Attempt int    `json:"attempt"`
	Status  Status `json:"status"`
	// ExitCode is the script's exit status, -1 when it was killed or never started.
	ExitCode       int       `json:"exitCode"`
	Signal         string    `json:"signal,omitempty"`
	TimedOut       bool      `json:"timedOut,omitempty"`
	Error          string    `json:"error,omitempty"`
	SourceChecksum string    `json:"sourceMD5Checksum"`
	Stdout         Output    `json:"stdout"`
	Stderr         Output    `json:"stderr"`
	Started        time.Time `json:"started"`
	Finished       time.Time `json:"finished"`
	DurationMillis int64     `json:"durationMillis"`
	Worker         string    `json:"worker,omitempty"`
}

// Succeeded reports whether the hook ran and exited 0.
func (r *ExecutionResult) Succeeded() bool { return r.Status == StatusSucceeded }

// StateDetail is Astra's type_astra_stateDetail: title ≤ 40, detail ≤ 511 characters.
type StateDetail struct {
	Type              string         `json:"type"`
	Title             string         `json:"title"`
	Detail            string         `json:"detail"`
	AdditionalDetails map[string]any `json:"additionalDetails,omitempty"`
}

// Limits of StateDetail fields, from the Astra schema.
const (
	MaxStateDetailTitle  = 40
	MaxStateDetailDetail = 511
)

// Detail types carried in StateDetail.Type.
const (
	DetailHookFailed   = "urn:hookshot:detail:hook-failed"
	DetailMatchFailed  = "urn:hookshot:detail:match-failed"
	DetailInvalidEvent = "urn:hookshot:detail:invalid-event"
	// DetailClusterUnavailable: the app's containers could not be
	// discovered from its cluster, so none of its hooks ran.
	DetailClusterUnavailable = "urn:hookshot:detail:cluster-unavailable"
)

// NewStateDetail builds a StateDetail with title and detail cut to Astra's limits.
func NewStateDetail(typ, title, detail string, extra map[string]any) StateDetail {
	return StateDetail{
		Type:              typ,
		Title:             truncateRunes(title, MaxStateDetailTitle),
		Detail:            truncateRunes(detail, MaxStateDetailDetail),
		AdditionalDetails: extra,
	}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// ExecutionSummary is one execution as listed in a stage result.
type ExecutionSummary struct {
	ExecutionID    string    `json:"executionID"`
	HookID         string    `json:"hookID"`
	HookName       string    `json:"hookName"`
	HookVersion    string    `json:"hookVersion,omitempty"`
	Container      Container `json:"container"`
	Status         Status    `json:"status"`
	ExitCode       int       `json:"exitCode"`
	Signal         string    `json:"signal,omitempty"`
	TimedOut       bool      `json:"timedOut,omitempty"`
	Attempt        int       `json:"attempt"`
	DurationMillis int64     `json:"durationMillis"`
}

// StageResult is the engine's one answer to a lifecycle event.
type StageResult struct {
	RunID            string        `json:"runID"`
	AccountID        string        `json:"accountID"`
	AppID            string        `json:"appID"`
	Action           Action        `json:"action"`
	Stage            Stage         `json:"stage"`
	HookState        HookState     `json:"hookState"`
	HookStateDetails []StateDetail `json:"hookStateDetails"`
	// AbortAction is true when a FAIL-mode hook failed in a pre stage: the
	// controller must not take the action, and must still run the post stage.
	AbortAction bool               `json:"abortAction"`
	Executions  []ExecutionSummary `json:"executions"`
	Started     time.Time          `json:"started"`
	Finished    time.Time          `json:"finished"`
	// Replayed is set on a stage result that answers a lifecycle event of a
	// stage that already had one (the event was published again): it is
	// the recorded result, and nothing ran again.
	Replayed bool `json:"replayed,omitempty"`
	// LifecycleSequence is the stream sequence of the lifecycle event that
	// planned the stage. A publisher whose event was stored at a later
	// sequence (its PubAck) and gets this result got an earlier run's
	// recorded result: nothing ran for its event.
	LifecycleSequence uint64 `json:"lifecycleSequence,omitempty"`
}
