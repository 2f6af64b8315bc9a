package scenario

import (
	"strconv"

	"github.com/google/uuid"

	"github.com/hookshot-dev/hookshot/events"
)

// Account is the account every scenario's resources and runs live in. Each
// scenario gets a fresh in-process Hookshot, so nothing else shares it.
const Account = "scenario"

// Scenario is a parsed scenario file: definitions (apps, sources, hooks,
// overrides) and the steps to run against them with their expectations.
// Build one in code or with Load/Parse; Run validates it either way.
type Scenario struct {
	Name        string
	Description string
	Apps        []App
	Sources     []Source
	Hooks       []Hook
	Overrides   []Override
	Steps       []Step
	// File is the path the scenario was loaded from, "" when built in code.
	File string

	// lines maps field paths ("hooks[2].source") to their line in File.
	lines map[string]int
}

// App is an application and its container inventory, registered as a
// Hookshot app (store.App) so that lifecycle events may omit containers.
type App struct {
	// ID is the app's identifier. A scenario file never sets it: it derives
	// from the name. Definitions read from a server (see FromStore) keep the
	// server's, so its recorded events find their apps.
	ID         string
	Name       string
	Containers []Container
}

// Container is one container of an app's inventory.
type Container struct {
	Namespace string
	Pod       string
	Container string
	Image     string
	// Labels are the pod's labels, matched by podLabel criteria as key=value.
	Labels map[string]string
}

// Source is a hook source: a script given inline or read from a file.
type Source struct {
	// ID is the source's identifier, as App.ID.
	ID   string
	Name string
	// Script is the script text. Load and Parse read it from File when the
	// scenario names a file.
	Script string
	// File is the script's path as the scenario gives it (relative to the
	// scenario file), "" for an inline script.
	File string
}

// Hook is an execution hook, by names: App, Source.
type Hook struct {
	// ID is the hook's identifier, as App.ID.
	ID        string
	Name      string
	App       string
	Action    events.Action
	Stage     events.Stage
	Source    string
	Arguments []string
	Criteria  []Criterion
	// FailureMode is WARN (the default) or FAIL.
	FailureMode events.FailureMode
	// TimeoutSeconds bounds one execution; 0 is the engine's default (25 minutes).
	TimeoutSeconds int
	// Enabled defaults to true.
	Enabled *bool
	// HookType is custom (the default) or netapp.
	HookType    string
	Description string
}

// Criterion is one matching criterion: a regex searched for in the attribute
// named by Type (containerImage, containerName, podName, podLabel,
// namespaceName).
type Criterion struct {
	Type  string
	Value string
}

// Override enables or disables a netapp hook for one app.
type Override struct {
	App     string
	Hook    string
	Enabled bool
}

// Step is one thing to do and what must come of it: an action driven
// through its stages (Action and App set), or one raw lifecycle event
// (Event set).
type Step struct {
	Name string
	// Action is snapshot, backup, restore or failover: the whole action is
	// driven through its stages, as POST …/appSnaps does.
	Action events.Action
	// App names the app an action step acts on.
	App string
	// Event is a raw lifecycle event, published as a controller would.
	Event  *Event
	Expect Expect
}

// Event is a raw lifecycle event of a step.
type Event struct {
	Action events.Action
	Stage  events.Stage
	App    string
	// RunID defaults to "step-<n>"; steps that share one are stages of one run.
	RunID string
	// Containers defaults to the app's inventory (the event then carries
	// none, and the engine uses the registered app's).
	Containers []Container
}

// Expect is what a step must come to. Empty fields are not checked.
type Expect struct {
	// State (completed|failed) and StateUnready (substrings, each in some
	// reason) are for action steps.
	State        string
	StateUnready []string
	// HookState is success or failed: the stage's, or the action's (failed
	// when any stage's was).
	HookState events.HookState
	// AbortAction: the stage's, or for an action whether any stage's was set.
	AbortAction *bool
	// Details are substrings that must each appear in the title or detail of
	// some hookStateDetail.
	Details []string
	// Executions are the executions that must have run. nil: not checked;
	// empty and Exactly: none may have run.
	Executions []ExpectedExecution
	// Exactly (default true) means no execution but those in Executions may
	// have run. It applies only when Executions is not nil.
	Exactly *bool
	// Order lists "hook@container" or "hook" in the order they must have
	// started: every execution an entry names started no later than every
	// execution the next entry names.
	Order []string
}

// ExpectedExecution is one execution that must have run: one hook in one
// container. Hook is required; empty fields are not checked.
type ExpectedExecution struct {
	Hook string
	// Container is "pod/container" or "namespace/pod/container".
	Container string
	// Stage is "action/stage" or "stage".
	Stage string
	// Status is succeeded or failed.
	Status   events.Status
	ExitCode *int
	// Output is a substring of stdout or stderr.
	Output string
	// Attempt is the delivery the result came from, 1 for the first.
	Attempt  int
	TimedOut *bool
}

// exactly reports whether Expect forbids executions it does not list.
func (e *Expect) exactly() bool { return e.Exactly == nil || *e.Exactly }

// idSpace is the UUIDv5 namespace of scenario resource IDs.
var idSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://hookshot.dev/scenario"))

// resourceID is the ID of a scenario resource of kind named name: a UUIDv5,
// the same in every run, so a recording made with one set of definitions
// names the same apps as the definitions given to Replay.
func resourceID(kind, name string) string {
	return uuid.NewSHA1(idSpace, []byte(kind+"/"+name)).String()
}

func appID(name string) string { return resourceID("app", name) }

// appIDOf, sourceIDOf and hookIDOf resolve a name of the scenario to the
// resource's identifier: its explicit ID, else the one derived from the name.
func (sc *Scenario) appIDOf(name string) string {
	for _, a := range sc.Apps {
		if a.Name == name && a.ID != "" {
			return a.ID
		}
	}
	return appID(name)
}

func (sc *Scenario) sourceIDOf(name string) string {
	for _, s := range sc.Sources {
		if s.Name == name && s.ID != "" {
			return s.ID
		}
	}
	return sourceID(name)
}

func (sc *Scenario) hookIDOf(name string) string {
	for _, h := range sc.Hooks {
		if h.Name == name && h.ID != "" {
			return h.ID
		}
	}
	return hookID(name)
}
func sourceID(name string) string { return resourceID("source", name) }
func hookID(name string) string   { return resourceID("hook", name) }

// runID is the run ID of the step at index i, unless its event names one.
func (s *Step) runID(i int) string {
	if s.Event != nil && s.Event.RunID != "" {
		return s.Event.RunID
	}
	return defaultRunID(i)
}

func defaultRunID(i int) string { return "step-" + strconv.Itoa(i+1) }

// app is the name of the app the step concerns.
func (s *Step) app() string {
	if s.Event != nil {
		return s.Event.App
	}
	return s.App
}

// title is how reports name the step: its name, else what it does.
func (s *Step) title() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Event != nil:
		return "event " + string(s.Event.Action) + "/" + string(s.Event.Stage) + " " + s.Event.App
	default:
		return string(s.Action) + " " + s.App
	}
}
