package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookshot-dev/hookshot/events"
)

// labeler names containers in messages: pod/container, or
// namespace/pod/container where two containers of the inventory would read
// the same.
type labeler struct{ ambiguous map[string]bool }

func newLabeler(inv []events.Container) labeler {
	seen := map[string]int{}
	for _, c := range inv {
		seen[c.PodName+"/"+c.ContainerName]++
	}
	l := labeler{ambiguous: map[string]bool{}}
	for k, n := range seen {
		l.ambiguous[k] = n > 1
	}
	return l
}

func (l labeler) label(c events.Container) string {
	short := c.PodName + "/" + c.ContainerName
	if l.ambiguous[short] {
		return c.Key()
	}
	return short
}

// containerMatches reports whether c is the container spec names
// ("pod/container" or "namespace/pod/container").
func containerMatches(spec string, c events.Container) bool {
	parts := strings.Split(spec, "/")
	switch len(parts) {
	case 2:
		return c.PodName == parts[0] && c.ContainerName == parts[1]
	case 3:
		return c.NamespaceName == parts[0] && c.PodName == parts[1] && c.ContainerName == parts[2]
	}
	return false
}

// stageMatches reports whether an execution at action/stage is at spec
// ("action/stage" or "stage").
func stageMatches(spec string, action events.Action, stage events.Stage) bool {
	if a, s, ok := strings.Cut(spec, "/"); ok {
		return events.Action(a) == action && events.Stage(s) == stage
	}
	return events.Stage(spec) == stage
}

// identifies reports whether got is the execution want is about: the same
// hook, and the container and stage want names, if it names them.
func (want *ExpectedExecution) identifies(got *Execution) bool {
	return got.Hook == want.Hook &&
		(want.Container == "" || containerMatches(want.Container, got.Container)) &&
		(want.Stage == "" || stageMatches(want.Stage, got.Action, got.Stage))
}

// diff lists how got differs from want, field by field.
func (want *ExpectedExecution) diff(got *Execution) []string {
	var d []string
	if want.Status != "" && got.Status != want.Status {
		d = append(d, fmt.Sprintf("status = %s, want %s", got.Status, want.Status))
	}
	if want.ExitCode != nil && got.ExitCode != *want.ExitCode {
		d = append(d, fmt.Sprintf("exitCode = %d, want %d", got.ExitCode, *want.ExitCode))
	}
	if want.TimedOut != nil && got.TimedOut != *want.TimedOut {
		d = append(d, fmt.Sprintf("timedOut = %t, want %t", got.TimedOut, *want.TimedOut))
	}
	if want.Attempt != 0 && got.Attempt != want.Attempt {
		d = append(d, fmt.Sprintf("attempt = %d, want %d", got.Attempt, want.Attempt))
	}
	if want.Output != "" && !strings.Contains(got.Stdout, want.Output) && !strings.Contains(got.Stderr, want.Output) {
		d = append(d, fmt.Sprintf("output does not contain %q (stdout %q, stderr %q)", want.Output, clip(got.Stdout), clip(got.Stderr)))
	}
	return d
}

// clip shortens captured output for a message.
func clip(s string) string {
	const max = 120
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}

// check compares a step's outcome with x and names every mismatch.
func (x *Expect) check(out *Outcome, l labeler) []string {
	var m []string
	if out.Error != "" {
		m = append(m, out.Error)
	}
	if x.State != "" && out.State != x.State {
		msg := fmt.Sprintf("state = %s, want %s", orNone(out.State), x.State)
		if len(out.StateUnready) > 0 {
			msg += fmt.Sprintf(" (stateUnready: %q)", out.StateUnready)
		}
		m = append(m, msg)
	}
	for _, want := range x.StateUnready {
		if !slices.ContainsFunc(out.StateUnready, func(r string) bool { return strings.Contains(r, want) }) {
			m = append(m, fmt.Sprintf("stateUnready: no reason contains %q (reasons: %q)", want, out.StateUnready))
		}
	}
	if x.HookState != "" && out.HookState != x.HookState {
		m = append(m, fmt.Sprintf("hookState = %s, want %s", orNone(out.HookState), x.HookState))
	}
	if x.AbortAction != nil && out.AbortAction != *x.AbortAction {
		m = append(m, fmt.Sprintf("abortAction = %t, want %t", out.AbortAction, *x.AbortAction))
	}
	for _, want := range x.Details {
		if !slices.ContainsFunc(out.HookStateDetails, func(d events.StateDetail) bool {
			return strings.Contains(d.Detail, want) || strings.Contains(d.Title, want)
		}) {
			got := make([]string, len(out.HookStateDetails))
			for i, d := range out.HookStateDetails {
				got[i] = d.Detail
			}
			m = append(m, fmt.Sprintf("details: no hookStateDetail contains %q (details: %q)", want, got))
		}
	}
	m = append(m, x.checkExecutions(out.Executions, l)...)
	m = append(m, x.checkOrder(out.Executions)...)
	return m
}

func orNone[T ~string](s T) string {
	if s == "" {
		return "(none)"
	}
	return string(s)
}

// checkExecutions pairs every expected execution with one that ran —
// preferring one that meets every expectation — and names what differs,
// what is missing and, with Exactly, what ran unexpectedly.
func (x *Expect) checkExecutions(got []Execution, l labeler) []string {
	if x.Executions == nil {
		return nil
	}
	var m []string
	used := make([]bool, len(got))
	for _, want := range x.Executions {
		best, bestDiff := -1, []string(nil)
		for j := range got {
			if used[j] || !want.identifies(&got[j]) {
				continue
			}
			d := want.diff(&got[j])
			if best < 0 || len(d) == 0 {
				best, bestDiff = j, d
			}
			if len(d) == 0 {
				break
			}
		}
		if best < 0 {
			what := want.Hook
			if want.Container != "" {
				what += "@" + want.Container
			}
			if want.Stage != "" {
				what += " at " + want.Stage
			}
			m = append(m, "executions: missing execution "+what)
			continue
		}
		used[best] = true
		name := want.Hook + "@" + want.Container
		if want.Container == "" {
			name = want.Hook + "@" + l.label(got[best].Container)
		}
		for _, d := range bestDiff {
			m = append(m, "executions: "+name+" "+d)
		}
	}
	if x.exactly() {
		for j := range got {
			if !used[j] {
				g := &got[j]
				m = append(m, fmt.Sprintf("executions: unexpected execution %s@%s (%s/%s, %s, exit code %d)",
					g.Hook, l.label(g.Container), g.Action, g.Stage, g.Status, g.ExitCode))
			}
		}
	}
	return m
}

// checkOrder checks that each entry of Order started no later than the next:
// the last start among the executions an entry names is not after the first
// start among the next entry's.
func (x *Expect) checkOrder(got []Execution) []string {
	var m []string
	ran := func(entry string) []Execution {
		hook, ctr, _ := strings.Cut(entry, "@")
		var out []Execution
		for _, g := range got {
			if g.Hook == hook && (ctr == "" || containerMatches(ctr, g.Container)) {
				out = append(out, g)
			}
		}
		return out
	}
	missing := map[string]bool{}
	for k := 0; k+1 < len(x.Order); k++ {
		a, b := x.Order[k], x.Order[k+1]
		ea, eb := ran(a), ran(b)
		for _, e := range []struct {
			name string
			ran  []Execution
		}{{a, ea}, {b, eb}} {
			if len(e.ran) == 0 && !missing[e.name] {
				missing[e.name] = true
				m = append(m, fmt.Sprintf("order: %s did not run", e.name))
			}
		}
		if len(ea) == 0 || len(eb) == 0 {
			continue
		}
		var lastA, firstB time.Time
		for _, e := range ea {
			if e.Started.After(lastA) {
				lastA = e.Started
			}
		}
		firstB = eb[0].Started
		for _, e := range eb {
			if e.Started.Before(firstB) {
				firstB = e.Started
			}
		}
		if firstB.Before(lastA) {
			m = append(m, fmt.Sprintf("order: %s started before %s", b, a))
		}
	}
	return m
}
