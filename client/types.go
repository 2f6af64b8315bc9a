package client

import "time"

// The resources, with the API's field names and values (Astra's string
// booleans "true"/"false" included), so that what the server sends is what
// the caller reads. Timestamps are RFC 3339 strings as the server writes
// them.

// Media types and versions the client writes.
const (
	mediaHook     = "application/astra-executionHook"
	versionHook   = "1.3"
	mediaSource   = "application/astra-hookSource"
	versionSource = "1.0"
	mediaApp      = "application/astra-app"
	versionApp    = "1.0"
)

// Label is a name/value label of a resource or a pod.
type Label struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Metadata is a resource's labels and who created and changed it when.
type Metadata struct {
	Labels                []Label `json:"labels,omitempty"`
	CreationTimestamp     string  `json:"creationTimestamp,omitempty"`
	ModificationTimestamp string  `json:"modificationTimestamp,omitempty"`
	CreatedBy             string  `json:"createdBy,omitempty"`
	ModifiedBy            string  `json:"modifiedBy,omitempty"`
}

// Criterion is one of a hook's matchingCriteria: a regular expression (RE2)
// on one attribute of a container.
type Criterion struct {
	// Type is containerImage, containerName, podName, podLabel or
	// namespaceName.
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Hook is an execution hook.
type Hook struct {
	ID               string      `json:"id,omitempty"`
	Name             string      `json:"name"`
	HookType         string      `json:"hookType,omitempty"` // custom (default) or netapp
	Action           string      `json:"action"`             // snapshot, backup, restore, failover
	Stage            string      `json:"stage"`              // pre, post
	HookSourceID     string      `json:"hookSourceID"`
	AppID            string      `json:"appID"`
	Arguments        []string    `json:"arguments"`
	MatchingCriteria []Criterion `json:"matchingCriteria"`
	Enabled          string      `json:"enabled,omitempty"` // "true" (default) or "false"
	Description      string      `json:"description,omitempty"`
	// TimeoutSeconds bounds one execution (Hookshot's extension; default 25
	// minutes).
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// FailureMode is WARN (default) or FAIL: a failed FAIL hook of a pre
	// stage aborts the action (Hookshot's extension).
	FailureMode string `json:"failureMode,omitempty"`

	// Read only.
	Type               string      `json:"type,omitempty"`
	Version            string      `json:"version,omitempty"`
	MatchingContainers []Container `json:"matchingContainers,omitempty"`
	MatchingImages     []string    `json:"matchingImages,omitempty"`
	Metadata           *Metadata   `json:"metadata,omitempty"`
}

// Source is a hook source: a script, kept base64-encoded.
type Source struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	SourceType  string `json:"sourceType"`       // script
	Source      string `json:"source,omitempty"` // base64 of the script
	Description string `json:"description,omitempty"`

	// Read only.
	Type              string    `json:"type,omitempty"`
	Version           string    `json:"version,omitempty"`
	Private           string    `json:"private,omitempty"`
	Preloaded         string    `json:"preloaded,omitempty"`
	SourceMD5Checksum string    `json:"sourceMD5Checksum,omitempty"`
	Metadata          *Metadata `json:"metadata,omitempty"`
}

// Container is one container of an app.
type Container struct {
	NamespaceName  string  `json:"namespaceName"`
	PodName        string  `json:"podName"`
	PodLabels      []Label `json:"podLabels,omitempty"`
	ContainerName  string  `json:"containerName"`
	ContainerImage string  `json:"containerImage"`
}

// Key is the container's namespace/pod/container.
func (c Container) Key() string { return c.NamespaceName + "/" + c.PodName + "/" + c.ContainerName }

// App is a static app (Hookshot's hookshot/v1/apps): a declared list of
// containers, whose hooks run on the workers' hosts.
type App struct {
	ID         string      `json:"id,omitempty"`
	Name       string      `json:"name"`
	Containers []Container `json:"containers"`

	// Read only.
	Type     string    `json:"type,omitempty"`
	Version  string    `json:"version,omitempty"`
	Metadata *Metadata `json:"metadata,omitempty"`
}

// StateDetail is one entry of stateDetails or hookStateDetails.
type StateDetail struct {
	Type              string         `json:"type"`
	Title             string         `json:"title"`
	Detail            string         `json:"detail"`
	AdditionalDetails map[string]any `json:"additionalDetails,omitempty"`
}

// Action is a lifecycle action of an app: an appSnap, appBackup,
// appRestore or appFailover, taken through its hooks.
type Action struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// BucketID is where a backup goes (appBackups; optional elsewhere).
	BucketID string `json:"bucketID,omitempty"`
	// SnapshotID makes a backup from an existing snapshot (appBackups).
	SnapshotID string `json:"snapshotID,omitempty"`

	// Read only.
	Type             string        `json:"type,omitempty"`
	Version          string        `json:"version,omitempty"`
	State            string        `json:"state,omitempty"` // pending, running, completed, failed
	StateUnready     []string      `json:"stateUnready,omitempty"`
	StateDetails     []StateDetail `json:"stateDetails,omitempty"`
	HookState        string        `json:"hookState,omitempty"` // success, failed
	HookStateDetails []StateDetail `json:"hookStateDetails,omitempty"`
	// RunID names the run whose stages carry the hooks' results (GetRun).
	RunID    string    `json:"runID,omitempty"`
	Metadata *Metadata `json:"metadata,omitempty"`
}

// Done reports whether the action has finished, completed or failed.
func (a *Action) Done() bool { return a.State == "completed" || a.State == "failed" }

// Run is what happened in one run: every stage planned so far, with each
// execution of a hook in a container.
type Run struct {
	ID        string  `json:"id"`
	RunID     string  `json:"runID"`
	AccountID string  `json:"accountID"`
	AppID     string  `json:"appID"`
	Stages    []Stage `json:"stages"`

	Type    string `json:"type,omitempty"`
	Version string `json:"version,omitempty"`
}

// Stage is one stage of a run.
type Stage struct {
	Action           string        `json:"action"`
	Stage            string        `json:"stage"`
	Planned          time.Time     `json:"planned"`
	Finished         *time.Time    `json:"finished,omitempty"`
	HookState        string        `json:"hookState,omitempty"`
	AbortAction      bool          `json:"abortAction,omitempty"`
	HookStateDetails []StateDetail `json:"hookStateDetails,omitempty"`
	Executions       []Execution   `json:"executions"`
	// Cluster, Discovered and Inventory are where the stage's containers
	// were found (apps 2.x).
	Cluster    string      `json:"cluster,omitempty"`
	Discovered bool        `json:"discovered,omitempty"`
	Inventory  []Container `json:"inventory,omitempty"`
}

// The statuses of an Execution.
const (
	ExecutionQueued    = "queued"    // planned; no worker has started it yet
	ExecutionRunning   = "running"   // a worker started it; no result yet
	ExecutionSucceeded = "succeeded" // exit 0
	ExecutionFailed    = "failed"    // non-zero exit, a signal, a timeout, or not run (Error)
)

// RunSummary is one run in a list of runs.
type RunSummary struct {
	RunID     string `json:"runID"`
	AccountID string `json:"accountID"`
	AppID     string `json:"appID"`
	// Stages are "<action>/<stage> <hookState>" ("running" while a stage
	// has no result), in the order they were planned.
	Stages []string `json:"stages"`
	// Planned is when the first stage was planned; Finished when the last
	// one finished (nil while one runs).
	Planned  time.Time  `json:"planned"`
	Finished *time.Time `json:"finished,omitempty"`
	// HookState is failed once a stage failed, success when every stage
	// succeeded, "" while stages run and none failed.
	HookState string `json:"hookState,omitempty"`
}

// Execution is one hook in one container.
type Execution struct {
	ExecutionID    string     `json:"executionID"`
	HookID         string     `json:"hookID"`
	HookName       string     `json:"hookName"`
	HookVersion    string     `json:"hookVersion,omitempty"`
	FailureMode    string     `json:"failureMode,omitempty"`
	Container      Container  `json:"container"`
	Status         string     `json:"status"` // queued, running, succeeded, failed
	Attempt        int        `json:"attempt,omitempty"`
	Worker         string     `json:"worker,omitempty"`
	ExitCode       *int       `json:"exitCode,omitempty"`
	Signal         string     `json:"signal,omitempty"`
	TimedOut       bool       `json:"timedOut,omitempty"`
	Error          string     `json:"error,omitempty"`
	DurationMillis int64      `json:"durationMillis,omitempty"`
	Started        *time.Time `json:"started,omitempty"`
	Finished       *time.Time `json:"finished,omitempty"`
	Stdout         *Output    `json:"stdout,omitempty"`
	Stderr         *Output    `json:"stderr,omitempty"`
}

// Output is what a hook printed on one stream, bounded: the head and the
// tail are kept when it printed more than the capture bound.
type Output struct {
	Text       string `json:"text"`
	Truncated  bool   `json:"truncated,omitempty"`
	TotalBytes int64  `json:"totalBytes"`
}

// Explanation says which hooks would run for an action and stage of an
// app, and why the others would not.
type Explanation struct {
	AppID       string            `json:"appID"`
	Action      string            `json:"action"`
	Stage       string            `json:"stage"`
	ClusterID   string            `json:"clusterID,omitempty"`
	ClusterName string            `json:"clusterName,omitempty"`
	Message     string            `json:"message,omitempty"`
	Containers  []Container       `json:"containers"`
	Hooks       []HookExplanation `json:"hooks"`

	Type    string `json:"type,omitempty"`
	Version string `json:"version,omitempty"`
}

// HookExplanation is one hook's verdict in an Explanation.
type HookExplanation struct {
	HookID   string `json:"hookID"`
	HookName string `json:"hookName"`
	Action   string `json:"action"`
	Stage    string `json:"stage"`
	WouldRun bool   `json:"wouldRun"`
	// Reason is matched, disabled, overridden, other-action-stage or
	// no-container-matched.
	Reason     string                 `json:"reason"`
	Message    string                 `json:"message,omitempty"`
	Containers []ContainerExplanation `json:"containers,omitempty"`
}

// ContainerExplanation says whether one container matched a hook.
type ContainerExplanation struct {
	Container       Container  `json:"container"`
	Matched         bool       `json:"matched"`
	FailedCriterion *Criterion `json:"failedCriterion,omitempty"`
	Detail          string     `json:"detail,omitempty"`
}
