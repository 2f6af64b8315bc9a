package scenario

import (
	"errors"
	"strconv"
	"strings"
)

var (
	// ErrInvalidScenario is matched (errors.Is) by every *ValidationError.
	ErrInvalidScenario = errors.New("scenario: invalid scenario")
	// ErrInvalidRecording is wrapped by Replay and ReadRecording when a
	// recording line cannot be used.
	ErrInvalidRecording = errors.New("scenario: invalid recording")
)

// Problem is one thing wrong with a scenario file: where, which field, why.
type Problem struct {
	// File is the scenario file's path as given, "" for a scenario built in code.
	File string `json:"file,omitempty"`
	// Line is the 1-based line of the offending key or value, 0 when unknown.
	Line int `json:"line,omitempty"`
	// Field is a path into the scenario: "hooks[2].source", "steps[0].expect.executions[1].exitCode".
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// String formats the problem as file:line: field: reason, leaving out what
// is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// ValidationError lists every problem of a scenario, in file order. Nothing
// was run.
type ValidationError struct {
	Problems []Problem
}

// Error is one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is reports ErrInvalidScenario as a match.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidScenario }
