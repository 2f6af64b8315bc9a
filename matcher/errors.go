package matcher

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrInvalidHook is matched (errors.Is) by every *ValidationError.
	ErrInvalidHook = errors.New("matcher: invalid execution hook")
	// ErrAccountRequired is returned by Index.Put for an empty account.
	ErrAccountRequired = errors.New("matcher: account is required")
)

// FieldError names one invalid field of an execution hook. Field is a JSON
// path into the Astra request body: "name", "matchingCriteria[2].value",
// "arguments[3]". It maps onto an Astra problem's invalidFields item.
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

// ValidationError lists every invalid field of an execution hook, in the
// order of the Astra schema.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidHook.Error())
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// Is reports ErrInvalidHook as a match.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidHook }

// add records an invalid field.
func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// addExtended records a field that fails a rule beyond the schema.
func (e *ValidationError) addExtended(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Extended: true})
}

// orNil returns e as an error, or nil when no field was recorded.
func (e *ValidationError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}
