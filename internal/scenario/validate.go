package scenario

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/matcher"
)

// Validate checks a scenario built in code (Parse has already done so for a
// file): every reference resolves, every hook and source is one Hookshot
// accepts, every step and expectation makes sense. It returns nil or a
// *ValidationError naming every problem.
func (s *Scenario) Validate() error {
	if ps := s.validate(true); len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// validateDefinitions is Validate without the steps.
func (s *Scenario) validateDefinitions() error {
	if ps := s.validate(false); len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// checker collects the problems of one validation.
type checker struct {
	s        *Scenario
	problems []Problem
	apps     map[string]*App
	// sourceNames are the names of all sources, valid or not.
	sourceNames map[string]bool
	hooks       map[string]*Hook
}

func (c *checker) add(field, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: c.s.File, Line: c.s.line(field), Field: field, Reason: fmt.Sprintf(format, args...)})
}

// line is the line of field, or of the nearest enclosing field that has one.
func (s *Scenario) line(field string) int {
	for f := field; f != ""; {
		if l, ok := s.lines[f]; ok {
			return l
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

func (s *Scenario) validate(steps bool) []Problem {
	c := &checker{s: s, apps: map[string]*App{}, hooks: map[string]*Hook{}, sourceNames: map[string]bool{}}
	for _, src := range s.Sources {
		c.sourceNames[src.Name] = true
	}
	if s.Name == "" {
		c.add("name", "required: what the scenario shows, in a few words")
	}
	appNames, sourceNames, hookNames := map[string]int{}, map[string]int{}, map[string]int{}
	for i := range s.Apps {
		c.app(i, appNames)
	}
	for i := range s.Sources {
		c.source(i, sourceNames)
	}
	for i := range s.Hooks {
		c.hook(i, hookNames)
	}
	seen := map[[2]string]int{}
	for i := range s.Overrides {
		c.override(i, seen)
	}
	if steps {
		if len(s.Steps) == 0 {
			c.add("steps", "required: at least one step")
		}
		for i := range s.Steps {
			c.step(i)
		}
	}
	return c.problems
}

// name checks the name of item i of a list (field is "<list>[i].name") and
// records it in seen; it reports whether the name is valid and the first.
func (c *checker) name(field, kind, name string, i int, seen map[string]int) bool {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		c.add(field, "required")
		return false
	case n > matcher.MaxNameLength:
		c.add(field, "must be at most %d characters, got %d", matcher.MaxNameLength, n)
		return false
	}
	if j, dup := seen[name]; dup {
		list, _, _ := strings.Cut(field, "[")
		c.add(field, "%s %q is defined twice (also %s[%d])", kind, name, list, j)
		return false
	}
	seen[name] = i
	return true
}

func (c *checker) app(i int, seen map[string]int) {
	a := &c.s.Apps[i]
	p := "apps[" + strconv.Itoa(i) + "]"
	if c.name(p+".name", "app", a.Name, i, seen) {
		c.apps[a.Name] = a
	}
	c.containers(p+".containers", a.Containers)
}

func (c *checker) containers(p string, cs []Container) {
	seen := map[string]int{}
	for j, ct := range cs {
		cp := p + "[" + strconv.Itoa(j) + "]"
		for _, f := range []struct {
			name, v string
			max     int
		}{{"namespace", ct.Namespace, 253}, {"pod", ct.Pod, 253}, {"container", ct.Container, 253}, {"image", ct.Image, 1024}} {
			switch n := utf8.RuneCountInString(f.v); {
			case n == 0:
				c.add(cp+"."+f.name, "required")
			case n > f.max:
				c.add(cp+"."+f.name, "longer than %d characters", f.max)
			case strings.Contains(f.v, "/") && f.name != "image":
				c.add(cp+"."+f.name, "must not contain /")
			}
		}
		for k := range ct.Labels {
			if k == "" {
				c.add(cp+".labels", "a label name is empty")
			}
		}
		key := ct.Namespace + "/" + ct.Pod + "/" + ct.Container
		if k, dup := seen[key]; dup {
			c.add(cp, "same namespace/pod/container as %s[%d]", p, k)
		}
		seen[key] = j
	}
}

func (c *checker) source(i int, seen map[string]int) {
	s := &c.s.Sources[i]
	p := "sources[" + strconv.Itoa(i) + "]"
	c.name(p+".name", "source", s.Name, i, seen)
	field := p + ".script"
	if s.File != "" {
		field = p + ".file"
	}
	switch {
	case s.File != "" && s.Script != "" && c.s.lines[p+".script"] != 0:
		c.add(p, "give script or file, not both")
		return
	case s.Script == "" && s.File == "":
		c.add(p+".script", "required: an inline script, or file: a path relative to the scenario file")
		return
	case s.Script == "":
		c.add(field, "the script is empty")
		return
	}
	var ve *executor.ValidationError
	if err := executor.NewScriptSource(cmp.Or(s.Name, "x"), []byte(s.Script)).Validate(); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			switch f.Field {
			case "name":
				// checked above
			case "source":
				if strings.HasPrefix(f.Reason, "is ") {
					c.add(field, "the base64 of the script %s", f.Reason)
				} else {
					c.add(field, "the script %s", f.Reason)
				}
			default:
				c.add(field, "%s: %s", f.Field, f.Reason)
			}
		}
	}
}

// hookFields maps the fields of matcher.ExecutionHook onto a scenario hook's.
var hookFields = map[string]string{
	"name": "name", "hookType": "hookType", "matchingCriteria": "criteria", "action": "action", "stage": "stage",
	"hookSourceID": "source", "arguments": "arguments", "appID": "app", "enabled": "enabled",
	"description": "description", "timeoutSeconds": "timeoutSeconds", "failureMode": "failureMode",
}

// executionHook is the Astra execution hook a scenario hook stores.
func (h *Hook) executionHook(sc *Scenario) matcher.ExecutionHook {
	eh := matcher.ExecutionHook{
		Type: matcher.MediaType, Version: matcher.CurrentVersion, ID: sc.hookIDOf(h.Name), Name: h.Name,
		HookType: cmp.Or(h.HookType, matcher.HookTypeCustom), Action: h.Action, Stage: h.Stage,
		HookSourceID: sc.sourceIDOf(h.Source), Arguments: slices.Clone(h.Arguments), AppID: sc.appIDOf(h.App),
		Enabled: matcher.EnabledTrue, Description: h.Description, TimeoutSeconds: h.TimeoutSeconds, FailureMode: h.FailureMode,
	}
	if eh.Arguments == nil {
		eh.Arguments = []string{}
	}
	eh.MatchingCriteria = []matcher.Criterion{}
	for _, cr := range h.Criteria {
		eh.MatchingCriteria = append(eh.MatchingCriteria, matcher.Criterion{Type: cr.Type, Value: cr.Value})
	}
	if h.Enabled != nil && !*h.Enabled {
		eh.Enabled = matcher.EnabledFalse
	}
	return eh
}

func (c *checker) hook(i int, seen map[string]int) {
	h := &c.s.Hooks[i]
	p := "hooks[" + strconv.Itoa(i) + "]"
	if c.name(p+".name", "hook", h.Name, i, seen) {
		c.hooks[h.Name] = h
	}
	switch {
	case h.App == "":
		c.add(p+".app", "required: the name of one of the apps")
	case c.apps[h.App] == nil:
		c.add(p+".app", "no app named %q%s", h.App, known(names(c.s.Apps, func(a App) string { return a.Name })))
	}
	switch {
	case h.Source == "":
		c.add(p+".source", "required: the name of one of the sources")
	case !c.sourceNames[h.Source]:
		c.add(p+".source", "no source named %q%s", h.Source, known(names(c.s.Sources, func(s Source) string { return s.Name })))
	}
	eh := h.executionHook(c.s)
	var ve *matcher.ValidationError
	if err := eh.Validate(); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			head, rest, _ := strings.Cut(f.Field, "[")
			field, ok := hookFields[head]
			if !ok || field == "name" || field == "enabled" || field == "source" || field == "app" {
				continue // checked above, or set by us from names and booleans
			}
			if rest != "" {
				field += "[" + rest
			}
			c.add(p+"."+field, "%s", f.Reason)
		}
	}
}

func (c *checker) override(i int, seen map[[2]string]int) {
	o := &c.s.Overrides[i]
	p := "overrides[" + strconv.Itoa(i) + "]"
	if o.App == "" {
		c.add(p+".app", "required: the name of one of the apps")
	} else if c.apps[o.App] == nil {
		c.add(p+".app", "no app named %q%s", o.App, known(names(c.s.Apps, func(a App) string { return a.Name })))
	}
	h := c.hooks[o.Hook]
	switch {
	case o.Hook == "":
		c.add(p+".hook", "required: the name of one of the hooks")
	case h == nil:
		c.add(p+".hook", "no hook named %q%s", o.Hook, known(names(c.s.Hooks, func(h Hook) string { return h.Name })))
	case h.HookType != matcher.HookTypeNetApp:
		c.add(p+".hook", "hook %q is not of hookType netapp: only netapp hooks can be overridden (set enabled on the hook itself)", o.Hook)
	case o.App != "" && h.App != o.App:
		c.add(p+".hook", "hook %q belongs to app %q, not %q", o.Hook, h.App, o.App)
	}
	k := [2]string{o.App, o.Hook}
	if j, dup := seen[k]; dup {
		c.add(p, "app %q and hook %q are overridden twice (also overrides[%d])", o.App, o.Hook, j)
	}
	seen[k] = i
}

func names[T any](s []T, name func(T) string) []string {
	out := make([]string, 0, len(s))
	for _, x := range s {
		if n := name(x); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func known(ns []string) string {
	if len(ns) == 0 {
		return " (none defined)"
	}
	return " (defined: " + strings.Join(ns, ", ") + ")"
}

// actionStages are the stages an action step runs, in plan order.
var actionStages = map[events.Action][]string{
	events.ActionSnapshot: {"snapshot/pre", "snapshot/post"},
	events.ActionBackup:   {"backup/pre", "snapshot/pre", "snapshot/post", "backup/post"},
	events.ActionRestore:  {"restore/post"},
	events.ActionFailover: {"failover/post"},
}

// stages are the action/stage pairs step i may run.
func (s *Step) stages() []string {
	if s.Event != nil {
		return []string{string(s.Event.Action) + "/" + string(s.Event.Stage)}
	}
	return actionStages[s.Action]
}

// inventory is the containers the step's hooks are matched against.
func (s *Scenario) inventory(st *Step) []Container {
	if st.Event != nil && len(st.Event.Containers) > 0 {
		return st.Event.Containers
	}
	for _, a := range s.Apps {
		if a.Name == st.app() {
			return a.Containers
		}
	}
	return nil
}

func (c *checker) step(i int) {
	st := &c.s.Steps[i]
	p := "steps[" + strconv.Itoa(i) + "]"
	isAction := st.Event == nil
	switch {
	case st.Event != nil && st.Action != "":
		c.add(p, "give action (with app) or event, not both")
		return
	case st.Event == nil && st.Action == "":
		c.add(p+".action", "required: snapshot, backup, restore or failover (or an event: instead)")
		return
	case st.Event != nil && st.App != "":
		c.add(p+".app", "the app of an event step goes inside event:")
	}
	if isAction {
		if _, ok := actionStages[st.Action]; !ok {
			c.add(p+".action", "must be snapshot, backup, restore or failover, not %q", st.Action)
			return
		}
		if !c.appRef(p+".app", st.App) {
			return
		}
	} else {
		ep := p + ".event"
		ev := st.Event
		switch {
		case ev.Action == "":
			c.add(ep+".action", "required: snapshot, backup, restore or failover")
			return
		case !slices.Contains([]events.Action{events.ActionSnapshot, events.ActionBackup, events.ActionRestore, events.ActionFailover}, ev.Action):
			c.add(ep+".action", "must be snapshot, backup, restore or failover, not %q", ev.Action)
			return
		case ev.Stage == "":
			c.add(ep+".stage", "required: pre or post")
			return
		case !events.ValidActionStage(ev.Action, ev.Stage):
			c.add(ep+".stage", "%q is not a stage of %s (%s)", ev.Stage, ev.Action, strings.Join(actionStages[ev.Action], ", "))
			return
		}
		if ev.RunID != "" {
			if !events.ValidToken(ev.RunID) {
				c.add(ep+".runID", "must be 1–128 characters of A–Z a–z 0–9 _ -")
			}
			if j, err := strconv.Atoi(strings.TrimPrefix(ev.RunID, "step-")); err == nil && strings.HasPrefix(ev.RunID, "step-") &&
				j >= 1 && j <= len(c.s.Steps) && c.s.Steps[j-1].Event == nil && defaultRunID(j-1) == ev.RunID {
				c.add(ep+".runID", "%q is the run of steps[%d], an action step", ev.RunID, j-1)
			}
		}
		c.containers(ep+".containers", ev.Containers)
		if !c.appRef(ep+".app", ev.App) {
			return
		}
	}
	c.expect(p+".expect", st, isAction)
}

func (c *checker) appRef(field, name string) bool {
	switch {
	case name == "":
		c.add(field, "required: the name of one of the apps")
	case c.apps[name] == nil:
		c.add(field, "no app named %q%s", name, known(names(c.s.Apps, func(a App) string { return a.Name })))
	default:
		return true
	}
	return false
}

func (c *checker) expect(p string, st *Step, isAction bool) {
	x := &st.Expect
	if !isAction {
		if x.State != "" {
			c.add(p+".state", "only an action step has a state; an event step has hookState and abortAction")
		}
		if x.StateUnready != nil {
			c.add(p+".stateUnready", "only an action step has stateUnready")
		}
	} else if x.State != "" && x.State != "completed" && x.State != "failed" {
		c.add(p+".state", "must be completed or failed, not %q", x.State)
	}
	if x.HookState != "" && x.HookState != events.HookStateSuccess && x.HookState != events.HookStateFailed {
		c.add(p+".hookState", "must be success or failed, not %q", x.HookState)
	}
	if x.Exactly != nil && x.Executions == nil {
		c.add(p+".exactly", "applies to executions, which are not given")
	}
	inv := c.s.inventory(st)
	for k, ex := range x.Executions {
		ep := p + ".executions[" + strconv.Itoa(k) + "]"
		c.hookRef(ep+".hook", ex.Hook, st)
		if ex.Container != "" {
			if _, err := findContainer(inv, ex.Container); err != nil {
				c.add(ep+".container", "%v", err)
			}
		}
		if ex.Stage != "" {
			c.stageRef(ep+".stage", ex.Stage, ex.Hook, st)
		}
		if ex.Status != "" && ex.Status != events.StatusSucceeded && ex.Status != events.StatusFailed {
			c.add(ep+".status", "must be succeeded or failed, not %q", ex.Status)
		}
	}
	for k, o := range x.Order {
		op := p + ".order[" + strconv.Itoa(k) + "]"
		hook, ctr, _ := strings.Cut(o, "@")
		c.hookRef(op, hook, st)
		if ctr != "" {
			if _, err := findContainer(inv, ctr); err != nil {
				c.add(op, "%v", err)
			}
		}
	}
}

// hookRef checks that name is a hook that can run in step st.
func (c *checker) hookRef(field, name string, st *Step) {
	h := c.hooks[name]
	switch {
	case name == "":
		c.add(field, "required: the name of one of the hooks")
	case h == nil:
		c.add(field, "no hook named %q%s", name, known(names(c.s.Hooks, func(h Hook) string { return h.Name })))
	case h.App != st.app():
		c.add(field, "hook %q belongs to app %q; this step runs app %q", name, h.App, st.app())
	case !slices.Contains(st.stages(), string(h.Action)+"/"+string(h.Stage)):
		c.add(field, "hook %q runs at %s/%s, which this step never reaches (%s)", name, h.Action, h.Stage, strings.Join(st.stages(), ", "))
	}
}

// stageRef checks an execution's stage: "action/stage" or "stage".
func (c *checker) stageRef(field, stage, hook string, st *Step) {
	a, s, full := strings.Cut(stage, "/")
	if !full {
		a, s = "", stage
	}
	action, stg := events.Action(a), events.Stage(s)
	if stg != events.StagePre && stg != events.StagePost || full && !events.ValidActionStage(action, stg) {
		c.add(field, "must be action/stage (snapshot/pre) or a stage (pre, post), not %q", stage)
		return
	}
	if h := c.hooks[hook]; h != nil && (h.Stage != stg || full && h.Action != action) {
		c.add(field, "hook %q runs at %s/%s, not %s", hook, h.Action, h.Stage, stage)
	}
}

// findContainer finds the container spec ("pod/container" or
// "namespace/pod/container") names in inv.
func findContainer(inv []Container, spec string) (Container, error) {
	parts := strings.Split(spec, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return Container{}, fmt.Errorf("%q must be pod/container or namespace/pod/container", spec)
	}
	var found []Container
	for _, c := range inv {
		if len(parts) == 3 && c.Namespace == parts[0] && c.Pod == parts[1] && c.Container == parts[2] ||
			len(parts) == 2 && c.Pod == parts[0] && c.Container == parts[1] {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		all := make([]string, len(inv))
		for i, c := range inv {
			all[i] = c.Pod + "/" + c.Container
		}
		return Container{}, fmt.Errorf("no container %q in the step's inventory%s", spec, known(all))
	case 1:
		return found[0], nil
	}
	return Container{}, fmt.Errorf("%q is in several namespaces; write namespace/pod/container", spec)
}
