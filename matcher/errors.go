package matcher

import (
	"errors"
	"fmt"

	"github.com/hookshot-dev/hookshot/events"
)

var (
	// ErrInvalidHook is matched (errors.Is) by every *ValidationError.
	ErrInvalidHook = errors.New("matcher: invalid execution hook")
	// ErrAccountRequired is returned by Index.Put for an empty account.
	ErrAccountRequired = errors.New("matcher: account is required")
)

// FieldError names one invalid field of an execution hook: the field error
// every Hookshot package shares (see events.FieldError).
type FieldError = events.FieldError

// ValidationError lists every invalid field of an execution hook, in the
// order of the Astra schema.
type ValidationError struct {
	Fields []FieldError
}

// FieldErrors lists the invalid fields (the API names each in its problem).
func (e *ValidationError) FieldErrors() []FieldError { return e.Fields }

func (e *ValidationError) Error() string { return events.FieldsText(ErrInvalidHook.Error(), e.Fields) }

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
