package events

import (
	"errors"
	"strings"
)

// ErrMalformed is wrapped by every decoding error: the message can never be
// processed and must not be redelivered.
var ErrMalformed = errors.New("malformed message")

// FieldError names one invalid field and why. It is the one field error of
// every Hookshot package (matcher, executor, the driver alias it): Field is
// a JSON path into the body or message as its schema spells it ("name",
// "matchingCriteria[2].value", "containers[3].podName"), Reason says what
// is wrong in words an operator can act on. It maps onto an Astra
// problem's invalidFields item.
type FieldError struct {
	Field  string `json:"name"`
	Reason string `json:"reason"`
	// Extended is set when the field conforms to the schema but fails a
	// rule beyond it (a regex that does not compile, an action/stage pair
	// that does not exist, a reference to a missing resource): Astra's
	// problem 9 rather than 8.
	Extended bool `json:"-"`
}

func (f FieldError) String() string { return f.Field + ": " + f.Reason }

// Error makes a single FieldError an error too.
func (f FieldError) Error() string { return f.String() }

// FieldsText is what every validation error says: what was invalid, then
// each field and why ("invalid hook source: name: required; source: …").
func FieldsText(what string, fields []FieldError) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.String()
	}
	if len(parts) == 0 {
		return what
	}
	return what + ": " + strings.Join(parts, "; ")
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
	Action    Action
	Stage     Stage
}

func (e *DecodeError) Error() string { return FieldsText("malformed message", e.Fields) }

// Unwrap lets errors.Is(err, ErrMalformed) hold.
func (e *DecodeError) Unwrap() error { return ErrMalformed }

func (e *DecodeError) add(field, reason string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: reason})
}
