package driver

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// Kind is what an action does to its app.
type Kind string

// The kinds of action, each with its plan (see Plan).
const (
	KindSnapshot Kind = Kind(events.ActionSnapshot)
	KindBackup   Kind = Kind(events.ActionBackup)
	KindRestore  Kind = Kind(events.ActionRestore)
	KindFailover Kind = Kind(events.ActionFailover)
)

// Valid reports whether k is one of the four kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindSnapshot, KindBackup, KindRestore, KindFailover:
		return true
	}
	return false
}

// States of an action, as Astra's appSnap/appBackup state.
const (
	// StatePending: created, no step started yet.
	StatePending = "pending"
	// StateRunning: the first step (a stage published, or PERFORM) started.
	StateRunning = "running"
	// StateCompleted: every step ran and the action itself succeeded. The
	// hooks may still have failed in WARN mode: see HookState.
	StateCompleted = "completed"
	// StateFailed: a FAIL-mode pre hook aborted the action, the action itself
	// failed, or a stage timed out. StateUnready says which.
	StateFailed = "failed"
)

// MaxStateUnready is the length limit of one StateUnready reason (Astra's type_unready).
const MaxStateUnready = 127

// DetailStageTimedOut is the HookStateDetails type of a stage whose result
// did not arrive within Config.StageTimeout.
const DetailStageTimedOut = "urn:hookshot:detail:stage-timed-out"

// Action is one API-driven snapshot, backup, restore or failover, stored in
// the events.BucketActions bucket under <account>.<id>, with its progress
// through its plan.
type Action struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	AppID   string `json:"appID"`
	// Name defaults to "<kind>-<UTC yyyymmddhhmmss>"; 1–63 characters, a DNS-1123 label.
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// RunID groups the action's stages in lifecycle events and stage results
	// (hookshot.results.stage.<account>.<run>). Defaults to ID.
	RunID string `json:"runID"`
	// SnapshotID names an existing snapshot a backup is made from: the backup
	// then takes no snapshot of its own and runs no snapshot hooks. Backup only.
	SnapshotID string `json:"snapshotID,omitempty"`
	// BucketID is where the platform stores the snapshot or backup, as the
	// API was told; Hookshot only records it.
	BucketID string `json:"bucketID,omitempty"`

	State string `json:"state"`
	// StateUnready says why the action failed, one reason of 1–127 characters each.
	StateUnready []string `json:"stateUnready"`
	// HookState is "" until a stage finished, then "success", or "failed"
	// once any stage's hookState was failed (or a stage timed out).
	HookState events.HookState `json:"hookState,omitempty"`
	// HookStateDetails are every stage's details, in the order the stages ran.
	HookStateDetails []events.StateDetail `json:"hookStateDetails,omitempty"`
	// Stages has one record per finished stage, in the order they ran.
	Stages []StageRecord `json:"stages,omitempty"`
	// Step is the index into Plan() of the next step; len(Plan()) when done.
	Step int `json:"step"`
	// StepStarted is when the stage at Step was first published: its timeout
	// counts from there, across restarts. Nil between stages.
	StepStarted *time.Time `json:"stepStarted,omitempty"`
	// Lease names the driver driving the action and until when; nil when no
	// driver holds it (pending, between drivers, terminal).
	Lease *Lease `json:"lease,omitempty"`

	Metadata store.Metadata `json:"metadata"`
	Created  time.Time      `json:"created"`
	Updated  time.Time      `json:"updated"`
	Finished *time.Time     `json:"finished,omitempty"`
}

// Lease is a driver's claim on an action. Only the owner writes the action
// while Until has not passed; it renews the lease every third of
// Config.LeaseTTL (giving the action up if it cannot, a third of the TTL
// before Until), and another driver takes the action over only once Until
// has passed on its own clock.
type Lease struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// StageRecord is one finished stage of an action.
type StageRecord struct {
	Action events.Action `json:"action"`
	Stage  events.Stage  `json:"stage"`
	// HookState is the stage result's, or "failed" when it timed out.
	HookState   events.HookState `json:"hookState"`
	AbortAction bool             `json:"abortAction,omitempty"`
	// TimedOut is set when no stage result arrived within Config.StageTimeout.
	TimedOut bool `json:"timedOut,omitempty"`
	// Started is when the driver first published the stage's lifecycle event.
	Started time.Time `json:"started"`
	// Finished is the stage result's finished time, or when the wait timed out.
	Finished time.Time `json:"finished"`
}

// PlanStep is one step of an action's plan: a stage (Action, Stage) or, with
// Perform set, the data-protection action itself.
type PlanStep struct {
	Action  events.Action
	Stage   events.Stage
	Perform bool
}

func (s PlanStep) String() string {
	if s.Perform {
		return "perform"
	}
	return string(s.Action) + "/" + string(s.Stage)
}

func stage(action events.Action, stage events.Stage) PlanStep {
	return PlanStep{Action: action, Stage: stage}
}

var perform = PlanStep{Perform: true}

// Plan is the sequence of steps the action runs:
//
//	snapshot:                 snapshot/pre → perform → snapshot/post
//	backup:                   backup/pre → snapshot/pre → perform → snapshot/post → backup/post
//	backup with SnapshotID:   backup/pre → perform → backup/post
//	restore:                  perform → restore/post
//	failover:                 perform → failover/post
//
// Once the action is failing (a FAIL-mode pre hook, a failed perform, a
// timed-out stage), later pre stages and perform are skipped, and a post
// stage runs only if its pre stage ran (or it has none).
func (a *Action) Plan() []PlanStep {
	const pre, post = events.StagePre, events.StagePost
	snap, backup := events.ActionSnapshot, events.ActionBackup
	switch a.Kind {
	case KindSnapshot:
		return []PlanStep{stage(snap, pre), perform, stage(snap, post)}
	case KindBackup:
		if a.SnapshotID != "" {
			return []PlanStep{stage(backup, pre), perform, stage(backup, post)}
		}
		return []PlanStep{stage(backup, pre), stage(snap, pre), perform, stage(snap, post), stage(backup, post)}
	case KindRestore, KindFailover:
		return []PlanStep{perform, stage(events.Action(a.Kind), post)}
	}
	return nil
}

// Terminal reports whether the action has finished (completed or failed).
func (a *Action) Terminal() bool { return a.State == StateCompleted || a.State == StateFailed }

// failing reports whether the action is on its way to failed: from then on
// only the post stages owed to pre stages that ran are run.
func (a *Action) failing() bool { return len(a.StateUnready) > 0 }

// shouldRun reports whether step s runs given what happened so far.
func (a *Action) shouldRun(plan []PlanStep, s PlanStep) bool {
	if !a.failing() {
		return true
	}
	if s.Perform || s.Stage == events.StagePre {
		return false
	}
	hasPre := slices.Contains(plan, stage(s.Action, events.StagePre))
	ranPre := slices.ContainsFunc(a.Stages, func(r StageRecord) bool {
		return r.Action == s.Action && r.Stage == events.StagePre
	})
	return !hasPre || ranPre
}

// advance moves Step past the step just done and every step that is not to
// run, and finishes the action when nothing is left.
func (a *Action) advance(now time.Time) {
	plan := a.Plan()
	a.StepStarted = nil
	a.Step = min(a.Step+1, len(plan))
	for a.Step < len(plan) && !a.shouldRun(plan, plan[a.Step]) {
		a.Step++
	}
	if a.Step < len(plan) {
		return
	}
	a.State = StateCompleted
	if a.failing() {
		a.State = StateFailed
	}
	a.Finished = &now
	a.Lease = nil
}

// addUnready records why the action fails, cut to Astra's limit.
func (a *Action) addUnready(reason string) {
	a.StateUnready = append(a.StateUnready, truncateRunes(reason, MaxStateUnready))
}

// clone is a copy that shares nothing mutable with a.
func (a *Action) clone() *Action {
	c := *a
	c.StateUnready = slices.Clone(a.StateUnready)
	c.HookStateDetails = slices.Clone(a.HookStateDetails)
	c.Stages = slices.Clone(a.Stages)
	c.Metadata.Labels = slices.Clone(a.Metadata.Labels)
	if a.StepStarted != nil {
		t := *a.StepStarted
		c.StepStarted = &t
	}
	if a.Lease != nil {
		l := *a.Lease
		c.Lease = &l
	}
	if a.Finished != nil {
		t := *a.Finished
		c.Finished = &t
	}
	return &c
}

// dns1123Label is Astra's type_dns_1123 for names.
var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// prepare fills defaults of a new action and validates it.
func (a *Action) prepare(now time.Time) error {
	if a.ID == "" {
		a.ID = store.NewID()
	}
	a.RunID = cmp.Or(a.RunID, a.ID)
	if a.Name == "" && a.Kind.Valid() {
		a.Name = fmt.Sprintf("%s-%s", a.Kind, now.UTC().Format("20060102150405"))
	}
	ve := &ValidationError{}
	for _, f := range []struct{ name, v string }{{"account", a.Account}, {"appID", a.AppID}, {"id", a.ID}, {"runID", a.RunID}} {
		if !events.ValidToken(f.v) {
			ve.add(f.name, "must be 1–128 characters of A–Z a–z 0–9 _ -")
		}
	}
	if a.Name != "" && (len(a.Name) > 63 || !dns1123Label.MatchString(a.Name)) {
		ve.add("name", "must be a DNS-1123 label of 1–63 characters")
	}
	if !a.Kind.Valid() {
		ve.add("kind", fmt.Sprintf("must be one of %s, %s, %s, %s, not %q", KindSnapshot, KindBackup, KindRestore, KindFailover, a.Kind))
	}
	if a.SnapshotID != "" {
		if a.Kind != KindBackup {
			ve.add("snapshotID", "only a backup is made from an existing snapshot")
		} else if !events.ValidToken(a.SnapshotID) {
			ve.add("snapshotID", "must be 1–128 characters of A–Z a–z 0–9 _ -")
		}
	}
	return ve.orNil()
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
