package matcher

import (
	"slices"

	"github.com/hookshot-dev/hookshot/events"
)

// Result is the outcome of Index.Match.
type Result struct {
	// Matches are the enabled hooks that match at least one container,
	// ordered by hook name then id.
	Matches []Match
}

// Match is one hook to run and the containers to run it in.
type Match struct {
	// Hook is a copy: the caller may keep or modify it.
	Hook *ExecutionHook
	// Containers are ordered by events.SortContainers. They are copies of the
	// inventory's items; PodLabels is shared with the inventory.
	Containers []events.Container
}

// Match returns the enabled hooks of account/appID for action and stage, each
// with the containers of the inventory its criteria select.
func (ix *Index) Match(account, appID string, action Action, stage Stage, containers []events.Container) Result {
	ix.mu.RLock()
	all := ix.byStage[stageKey{account, appID, action, stage}]
	cands := make([]*entry, 0, len(all))
	for _, e := range all {
		if on, _ := ix.effective(account, appID, e); on {
			cands = append(cands, e)
		}
	}
	ix.mu.RUnlock()

	var res Result
	if len(cands) == 0 || len(containers) == 0 {
		return res
	}
	ts := sortedTargets(containers)
	for _, e := range cands {
		if matched := ix.match(e, ts); len(matched) > 0 {
			res.Matches = append(res.Matches, Match{Hook: e.hook.Clone(), Containers: matched})
		}
	}
	return res
}

// MatchingContainers returns the containers h's criteria select, ordered by
// events.SortContainers, whether h is enabled or not: Astra's
// matchingContainers. h is validated first (a *ValidationError). The result
// is never nil when the error is nil; [Images] of it is Astra's
// matchingImages, without evaluating the criteria again.
func (ix *Index) MatchingContainers(h *ExecutionHook, containers []events.Container) ([]events.Container, error) {
	res, err := h.validate(ix.cache.compile)
	if err != nil {
		return nil, err
	}
	e := entry{hook: h, criteria: compileCriteria(h.MatchingCriteria, res)}
	out := ix.match(&e, sortedTargets(containers))
	if out == nil {
		out = []events.Container{}
	}
	return out, nil
}

// Images returns the distinct, sorted, non-empty images of containers:
// Astra's matchingImages of a hook, given its MatchingContainers. It is never
// nil.
func Images(containers []events.Container) []string {
	images := make([]string, 0, len(containers))
	for _, c := range containers {
		if c.ContainerImage != "" {
			images = append(images, c.ContainerImage)
		}
	}
	slices.Sort(images)
	return slices.Compact(images)
}

// sortedTargets prepares a sorted copy of containers for matching.
func sortedTargets(containers []events.Container) []target {
	cs := slices.Clone(containers)
	events.SortContainers(cs)
	return newTargets(cs)
}

// match returns the targets e selects, in order.
func (ix *Index) match(e *entry, ts []target) []events.Container {
	ix.evaluations.Add(1)
	var out []events.Container
	for i := range ts {
		if firstFailure(e.criteria, &ts[i]) < 0 {
			if out == nil {
				out = make([]events.Container, 0, len(ts)-i)
			}
			out = append(out, *ts[i].c)
		}
	}
	return out
}
