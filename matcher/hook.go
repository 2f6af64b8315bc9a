package matcher

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/hookshot-dev/hookshot/events"
)

// MediaType is the Astra media type of an execution hook resource.
const MediaType = "application/astra-executionHook"

// Resource versions accepted by Validate.
const (
	Version10      = "1.0"
	Version11      = "1.1"
	Version12      = "1.2"
	Version13      = "1.3"
	CurrentVersion = Version13
)

// Hook types. Hooks of type netapp are preloaded and read-only.
const (
	HookTypeNetApp = "netapp"
	HookTypeCustom = "custom"
)

// Action is what a hook runs around: the wire vocabulary's type, so that a
// hook's action is an events.Action without conversion.
type Action = events.Action

// Stage is when, relative to its action, a hook runs: the wire
// vocabulary's type.
type Stage = events.Stage

// FailureMode is what a failed hook does to its stage: the wire
// vocabulary's type.
type FailureMode = events.FailureMode

// Actions a hook runs around: the wire vocabulary's, re-exported.
const (
	ActionSnapshot = events.ActionSnapshot
	ActionBackup   = events.ActionBackup
	ActionRestore  = events.ActionRestore
	ActionFailover = events.ActionFailover
)

// Stages of an action.
const (
	StagePre  = events.StagePre
	StagePost = events.StagePost
)

// Criterion types.
const (
	CriterionContainerImage = "containerImage"
	CriterionContainerName  = "containerName"
	CriterionPodName        = "podName"
	CriterionPodLabel       = "podLabel"
	CriterionNamespaceName  = "namespaceName"
)

// Values of ExecutionHook.Enabled.
const (
	EnabledTrue  = "true"
	EnabledFalse = "false"
)

// Failure modes (a Hookshot extension, after RFS's failure_mode).
const (
	// FailureModeWarn is Astra's soft failure: the action and the other hooks
	// still run, and the stage's hookState becomes failed. The default.
	FailureModeWarn = events.FailureModeWarn
	// FailureModeFail makes a failed pre-stage hook abort the action.
	FailureModeFail = events.FailureModeFail
)

// Limits from the Astra executionHook schema and the Hookshot extensions.
const (
	MaxNameLength        = 63
	MaxCriteria          = 10
	MaxArguments         = 16
	MaxArgumentLength    = 127
	MaxDescriptionLength = 511
	MaxTimeoutSeconds    = 86400
	// DefaultTimeout applies when TimeoutSeconds is 0.
	DefaultTimeout = 25 * time.Minute
)

// Criterion is one matching criterion: a regex (RE2 syntax) searched for in
// the container attribute named by Type.
type Criterion struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// ExecutionHook is an Astra executionHook resource (version 1.3) without its
// metadata, which the store keeps alongside.
//
// Two fields are Hookshot extensions: TimeoutSeconds and FailureMode. Both
// are omitted from JSON when unset, so an Astra client never sees them.
type ExecutionHook struct {
	Type             string      `json:"type"`
	Version          string      `json:"version"`
	ID               string      `json:"id,omitempty"`
	Name             string      `json:"name"`
	HookType         string      `json:"hookType"`
	MatchingCriteria []Criterion `json:"matchingCriteria"`
	Action           Action      `json:"action"`
	Stage            Stage       `json:"stage"`
	HookSourceID     string      `json:"hookSourceID"`
	Arguments        []string    `json:"arguments"`
	AppID            string      `json:"appID"`
	// Enabled is "true" or "false"; empty means "true".
	Enabled     string `json:"enabled"`
	Description string `json:"description,omitempty"`

	// TimeoutSeconds bounds one execution of the hook, 1 to 86400 seconds.
	// Defaults to 0: DefaultTimeout (25 minutes).
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// FailureMode is FailureModeWarn or FailureModeFail. Defaults to "":
	// FailureModeWarn.
	FailureMode FailureMode `json:"failureMode,omitempty"`
}

// MarshalJSON writes matchingCriteria and arguments as arrays, never null.
func (h ExecutionHook) MarshalJSON() ([]byte, error) {
	type plain ExecutionHook // no MarshalJSON method: no recursion
	p := plain(h)
	if p.MatchingCriteria == nil {
		p.MatchingCriteria = []Criterion{}
	}
	if p.Arguments == nil {
		p.Arguments = []string{}
	}
	return json.Marshal(p)
}

// IsEnabled reports whether the hook may run: Enabled is "true" or empty.
func (h *ExecutionHook) IsEnabled() bool {
	return h.Enabled == EnabledTrue || h.Enabled == ""
}

// Timeout is the time one execution of the hook may take.
func (h *ExecutionHook) Timeout() time.Duration {
	if h.TimeoutSeconds <= 0 {
		return DefaultTimeout
	}
	return time.Duration(h.TimeoutSeconds) * time.Second
}

// EffectiveFailureMode is FailureMode, or FailureModeWarn when unset.
func (h *ExecutionHook) EffectiveFailureMode() FailureMode {
	if h.FailureMode == "" {
		return FailureModeWarn
	}
	return h.FailureMode
}

// ApplyDefaults fills what Astra fills on create: enabled becomes "true" when
// empty, and matchingCriteria and arguments become empty arrays when absent.
func (h *ExecutionHook) ApplyDefaults() {
	if h.Enabled == "" {
		h.Enabled = EnabledTrue
	}
	if h.MatchingCriteria == nil {
		h.MatchingCriteria = []Criterion{}
	}
	if h.Arguments == nil {
		h.Arguments = []string{}
	}
}

// Clone returns a deep copy of h.
func (h *ExecutionHook) Clone() *ExecutionHook {
	c := *h
	c.MatchingCriteria = slices.Clone(h.MatchingCriteria)
	c.Arguments = slices.Clone(h.Arguments)
	return &c
}

// stagesByAction lists the valid stages of each action, for messages.
var stagesByAction = map[Action][]Stage{
	ActionSnapshot: {StagePre, StagePost},
	ActionBackup:   {StagePre, StagePost},
	ActionRestore:  {StagePost},
	ActionFailover: {StagePost},
}

// ValidActionStage reports whether stage exists for action: snapshot and
// backup have pre and post, restore and failover only post.
func ValidActionStage(action Action, stage Stage) bool { return events.ValidActionStage(action, stage) }
