package scenario

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hookshot-dev/hookshot/events"
)

// Report is the outcome of one scenario: every step, what came of it and
// every expectation it did not meet.
type Report struct {
	Name           string       `json:"name"`
	File           string       `json:"file,omitempty"`
	Steps          []StepReport `json:"steps"`
	DurationMillis int64        `json:"durationMillis"`
}

// Passed reports whether every step met its expectations.
func (r *Report) Passed() bool {
	for i := range r.Steps {
		if !r.Steps[i].Passed() {
			return false
		}
	}
	return true
}

// Mismatches lists every unmet expectation of every step, each prefixed with
// its step: "step 2 'freeze fails under FAIL': executions: freeze@db-0/mysql
// exitCode = 3, want 0".
func (r *Report) Mismatches() []string {
	var out []string
	for i := range r.Steps {
		s := &r.Steps[i]
		for _, m := range s.Mismatches {
			out = append(out, s.Title()+": "+m)
		}
	}
	return out
}

// StepReport is one step's outcome.
type StepReport struct {
	// Index is the step's position, from 1.
	Index int    `json:"step"`
	Name  string `json:"name"`
	// Kind is action or event.
	Kind   string        `json:"kind"`
	Action events.Action `json:"action"`
	// Stage is set for an event step.
	Stage   events.Stage `json:"stage,omitempty"`
	App     string       `json:"app"`
	RunID   string       `json:"runID"`
	Outcome Outcome      `json:"outcome"`
	// Mismatches name every expectation the outcome did not meet.
	Mismatches     []string `json:"mismatches,omitempty"`
	DurationMillis int64    `json:"durationMillis"`
}

// Passed reports whether the step met every expectation.
func (s *StepReport) Passed() bool { return len(s.Mismatches) == 0 }

// Title names the step in messages: step 2 'freeze fails under FAIL'.
func (s *StepReport) Title() string { return fmt.Sprintf("step %d '%s'", s.Index, s.Name) }

// Outcome is what a step came to.
type Outcome struct {
	// State and StateUnready are an action's (completed|failed).
	State        string   `json:"state,omitempty"`
	StateUnready []string `json:"stateUnready,omitempty"`
	// HookState is the stage's, or the action's: failed when any stage's was.
	HookState events.HookState `json:"hookState,omitempty"`
	// AbortAction is the stage's, or whether any stage of the action set it.
	AbortAction      bool                 `json:"abortAction"`
	HookStateDetails []events.StateDetail `json:"hookStateDetails,omitempty"`
	// Stages are the stages that finished, in the order they ran.
	Stages []StageOutcome `json:"stages,omitempty"`
	// Executions are the step's execution results, in the order they started.
	Executions []Execution `json:"executions"`
	// Error says why the outcome is incomplete: no result within the stage timeout.
	Error string `json:"error,omitempty"`
}

// StageOutcome is one finished stage.
type StageOutcome struct {
	Action      events.Action    `json:"action"`
	Stage       events.Stage     `json:"stage"`
	HookState   events.HookState `json:"hookState"`
	AbortAction bool             `json:"abortAction,omitempty"`
	TimedOut    bool             `json:"timedOut,omitempty"`
}

// Execution is one hook run in one container, from its execution result.
type Execution struct {
	Hook           string           `json:"hook"`
	Container      events.Container `json:"container"`
	Action         events.Action    `json:"action"`
	Stage          events.Stage     `json:"stage"`
	Status         events.Status    `json:"status"`
	ExitCode       int              `json:"exitCode"`
	Signal         string           `json:"signal,omitempty"`
	TimedOut       bool             `json:"timedOut,omitempty"`
	Error          string           `json:"error,omitempty"`
	Attempt        int              `json:"attempt"`
	Stdout         string           `json:"stdout,omitempty"`
	Stderr         string           `json:"stderr,omitempty"`
	Started        time.Time        `json:"started"`
	DurationMillis int64            `json:"durationMillis"`
}

// WriteText writes the report for a terminal: one line for the scenario,
// one per step, and under a step that failed every mismatch.
//
//	FAIL  examples/scenarios/x.yaml: freeze and thaw (2 steps, 1.31s)
//	  ok    step 1 'snapshot': completed, hookState success, 2 executions (0.52s)
//	  FAIL  step 2 'freeze fails under FAIL': failed, hookState failed, abortAction, 2 executions (0.61s)
//	          step 2 'freeze fails under FAIL': executions: freeze@db-0/mysql exitCode = 3, want 0
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	where := r.Name
	if r.File != "" {
		where = r.File + ": " + r.Name
	}
	steps := "steps"
	if len(r.Steps) == 1 {
		steps = "step"
	}
	fmt.Fprintf(&b, "%s  %s (%d %s, %s)\n", verdict, where, len(r.Steps), steps, seconds(r.DurationMillis))
	for i := range r.Steps {
		s := &r.Steps[i]
		mark := "ok  "
		if !s.Passed() {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %s  %s: %s (%s)\n", mark, s.Title(), s.Outcome.summary(), seconds(s.DurationMillis))
		for _, m := range s.Mismatches {
			fmt.Fprintf(&b, "          %s: %s\n", s.Title(), m)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// summary is the outcome in a few words.
func (o *Outcome) summary() string {
	var parts []string
	if o.State != "" {
		parts = append(parts, o.State)
	}
	if o.HookState != "" {
		parts = append(parts, "hookState "+string(o.HookState))
	}
	if o.AbortAction {
		parts = append(parts, "abortAction")
	}
	switch n := len(o.Executions); n {
	case 1:
		parts = append(parts, "1 execution")
	default:
		parts = append(parts, fmt.Sprintf("%d executions", n))
	}
	if o.Error != "" {
		parts = append(parts, o.Error)
	}
	return strings.Join(parts, ", ")
}

func seconds(ms int64) string { return fmt.Sprintf("%.2fs", float64(ms)/1000) }
