package driver

import (
	"errors"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/errkind"
)

var (
	// ErrNotFound is returned for an action that does not exist (or was deleted).
	ErrNotFound = errkind.New("driver: action not found", errkind.NotFound)
	// ErrExists is returned by Create when the action's id is taken.
	ErrExists = errkind.New("driver: action already exists", errkind.Conflict)
	// ErrRunning is returned by Delete for an action that is not terminal yet
	// (pending or running): its hooks may be running and its post stages are
	// still owed.
	ErrRunning = errkind.New("driver: action is not finished", errkind.Conflict)
	// ErrConflict is returned when the stored action moved under a
	// compare-and-set write that is not the driver's own (Delete).
	ErrConflict = errkind.New("driver: action revision conflict", errkind.Conflict)
	// ErrNameTaken is returned by Create when another action of the same
	// kind and app has the name.
	ErrNameTaken = errkind.New("driver: action name already in use", errkind.Conflict)
	// ErrInvalidAction is matched (errors.Is) by every *ValidationError.
	ErrInvalidAction = errkind.New("driver: invalid action", errkind.Invalid)

	// errLeaseLost means another driver took the action over: this one must
	// stop driving it at once and write nothing more.
	errLeaseLost = errors.New("driver: lease lost")
)

// FieldError names one invalid field of an action ("kind", "snapshotID",
// "appID"): the field error every Hookshot package shares (see
// events.FieldError).
type FieldError = events.FieldError

// ValidationError lists every invalid field of an action given to Create.
type ValidationError struct {
	Fields []FieldError
}

// FieldErrors lists the invalid fields (the API names each in its problem).
func (e *ValidationError) FieldErrors() []FieldError { return e.Fields }

func (e *ValidationError) Error() string {
	return events.FieldsText(ErrInvalidAction.Error(), e.Fields)
}

// Is reports ErrInvalidAction as a match.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidAction }

func (e *ValidationError) add(field, reason string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: reason})
}

func (e *ValidationError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}
