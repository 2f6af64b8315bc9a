package events

import (
	"errors"
	"strings"
)

// ErrMalformed is wrapped by every decoding error: the message can never be
// processed and must not be redelivered.
var ErrMalformed = errors.New("malformed message")

// FieldError names one invalid field of a message and why.
type FieldError struct {
	Field  string `json:"name"`
	Reason string `json:"reason"`
}

// DecodeError reports a message that could not be decoded or validated. RunID
// (and the rest of the stage identity) is filled in when the message carried
// it, so the engine can answer the waiting controller with a failed stage
// result instead of leaving it to time out.
type DecodeError struct {
	Fields    []FieldError
	RunID     string
	AccountID string
	AppID     string
	Action    string
	Stage     string
}

func (e *DecodeError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return "malformed message: " + strings.Join(parts, "; ")
}

// Unwrap lets errors.Is(err, ErrMalformed) hold.
func (e *DecodeError) Unwrap() error { return ErrMalformed }

func (e *DecodeError) add(field, reason string) {
	e.Fields = append(e.Fields, FieldError{field, reason})
}
