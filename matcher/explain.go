package matcher

import (
	"fmt"

	"github.com/hookshot-dev/hookshot/events"
)

// Reason codes of an Explanation.
const (
	ReasonMatched            = "matched"
	ReasonDisabled           = "disabled"
	ReasonOverridden         = "overridden"
	ReasonOtherActionStage   = "other-action-stage"
	ReasonNoContainerMatched = "no-container-matched"
)

// Explanation says whether one hook of an app would run for an action and
// stage, and why.
type Explanation struct {
	HookID   string `json:"hookID"`
	HookName string `json:"hookName"`
	// Action and Stage are the hook's own.
	Action   Action `json:"action"`
	Stage    Stage  `json:"stage"`
	WouldRun bool   `json:"wouldRun"`
	// Reason is a code: ReasonMatched, ReasonDisabled, ReasonOverridden,
	// ReasonOtherActionStage or ReasonNoContainerMatched, checked in the
	// order other-action-stage, overridden/disabled, no-container-matched.
	Reason string `json:"reason"`
	// Message says the same in a sentence.
	Message string `json:"message"`
	// Containers holds one verdict per container of the inventory, ordered
	// by events.SortContainers. Criteria are evaluated whatever the Reason.
	Containers []ContainerVerdict `json:"containers"`
}

// ContainerVerdict says whether a hook's criteria select one container.
type ContainerVerdict struct {
	Container events.Container `json:"container"`
	Matched   bool             `json:"matched"`
	// FailedCriterion is the first criterion, in order, that did not match;
	// nil when Matched.
	FailedCriterion *CriterionRef `json:"failedCriterion,omitempty"`
	// Detail is a sentence, e.g. "podLabel `app=mysql` matched none of the
	// labels [app=web tier=front]".
	Detail string `json:"detail"`
}

// Explain explains, for every hook of account/appID (all actions and stages,
// enabled or not), ordered by name then id, whether Match would select it
// for action and stage and which criterion failed on which container.
func (ix *Index) Explain(account, appID string, action Action, stage Stage, containers []events.Container) []Explanation {
	ix.mu.RLock()
	es := ix.byApp[appKey{account, appID}]
	type state struct{ enabled, overridden bool }
	states := make([]state, len(es))
	for i, e := range es {
		states[i].enabled, states[i].overridden = ix.effective(account, appID, e)
	}
	ix.mu.RUnlock()
	if len(es) == 0 {
		return nil
	}
	ts := sortedTargets(containers)
	out := make([]Explanation, len(es))
	for i, e := range es {
		ix.evaluations.Add(1)
		out[i] = e.explain(action, stage, ts, states[i].enabled, states[i].overridden)
	}
	return out
}

func (e *entry) explain(action Action, stage Stage, ts []target, enabled, overridden bool) Explanation {
	h := e.hook
	x := Explanation{
		HookID: h.ID, HookName: h.Name, Action: h.Action, Stage: h.Stage,
		Containers: make([]ContainerVerdict, len(ts)),
	}
	matched := 0
	for i := range ts {
		t := &ts[i]
		v := ContainerVerdict{Container: *t.c}
		if failed := firstFailure(e.criteria, t); failed >= 0 {
			ref := e.criteria[failed].ref // a copy: the entry is shared
			v.FailedCriterion = &ref
			v.Detail = describeFailure(&e.criteria[failed], t)
		} else {
			v.Matched = true
			matched++
			v.Detail = matchedDetail(len(e.criteria))
		}
		x.Containers[i] = v
	}

	counted := fmt.Sprintf("%d of %d containers", matched, len(ts))
	switch {
	case h.Action != action || h.Stage != stage:
		x.Reason = ReasonOtherActionStage
		x.Message = fmt.Sprintf("hook runs at %s-%s, not %s-%s; its criteria match %s", h.Stage, h.Action, stage, action, counted)
	case !enabled && overridden:
		x.Reason = ReasonOverridden
		x.Message = fmt.Sprintf("hook is disabled for this app by an execution hook override; its criteria match %s", counted)
	case !enabled:
		x.Reason = ReasonDisabled
		x.Message = fmt.Sprintf("hook is disabled; its criteria match %s", counted)
	case len(ts) == 0:
		x.Reason = ReasonNoContainerMatched
		x.Message = "the app has no containers"
	case matched == 0:
		x.Reason = ReasonNoContainerMatched
		x.Message = fmt.Sprintf("no container matched its criteria (%s)", counted)
	default:
		x.WouldRun = true
		x.Reason = ReasonMatched
		x.Message = fmt.Sprintf("would run on %s", counted)
	}
	return x
}

func matchedDetail(n int) string {
	switch n {
	case 0:
		return "no criteria: every container matches"
	case 1:
		return "the criterion matched"
	default:
		return fmt.Sprintf("all %d criteria matched", n)
	}
}
