// Package matcher holds the execution-hook definition of Hookshot, its
// validation against the Astra executionHook schema, and the index that
// decides which hooks run on which containers.
//
// An [ExecutionHook] selects containers of one application with regex
// criteria (containerImage, containerName, podName, podLabel,
// namespaceName). Criteria values are RE2 regexes compiled with Go's regexp
// (RE2's syntax and semantics; matching is linear in the pattern and the
// value, so it needs no timeout) and cached by pattern. A criterion matches
// when its regex is found anywhere in the tested string (a search, not a
// full match: `\bmariadb\b` matches "docker.io/mariadb:11").
// A podLabel criterion is tested against each "key=value" label of the pod.
// Several criteria are ANDed and all tested against the same container; a
// hook without criteria matches every container of its app.
//
// An [Index] stores hooks by account, app, action and stage:
//
//	ix := matcher.NewIndex(matcher.Config{})
//	if err := ix.Put(account, hook); err != nil {
//		// *ValidationError: every invalid field is named.
//	}
//	res := ix.Match(account, appID, matcher.ActionSnapshot, matcher.StagePre, inventory)
//	for _, m := range res.Matches {
//		// m.Hook runs once on each of m.Containers.
//	}
//
// [Index.Explain] says, for every hook of an app, whether it would run for a
// given action and stage, and which criterion failed on which container.
//
// Hooks are ordered by name, then id; containers by namespace, pod and
// container name ([events.SortContainers]). The package does no I/O.
package matcher
