package executor

import (
	"errors"

	"github.com/hookshot-dev/hookshot/events"
)

var (
	// ErrInvalidSource is matched (errors.Is) by every *ValidationError: a hook
	// source or a decoded script that breaks the Astra schema or Hookshot's
	// script rules.
	ErrInvalidSource = errors.New("executor: invalid hook source")

	// ErrChecksumMismatch means a source's recorded sourceMD5Checksum is
	// missing or does not match its source: the source was changed after it
	// was sealed and must not run.
	ErrChecksumMismatch = errors.New("executor: source checksum mismatch")

	// ErrNoSource means a hook source carries a checksum of a script but no
	// script: a private source as the API returns it, without its source.
	ErrNoSource = errors.New("executor: source withheld")

	// ErrInvalidSpec means a Spec given to a Runner is malformed (a negative
	// duration or limit, an unusable environment variable name). It is a bug in
	// the caller, not a hook outcome.
	ErrInvalidSpec = errors.New("executor: invalid run spec")
)

// FieldError names one invalid field of a hook source (Field as the Astra
// schema spells it: "name", "source", "sourceMD5Checksum"): the field error
// every Hookshot package shares (see events.FieldError).
type FieldError = events.FieldError

// ValidationError lists every invalid field of a hook source, in the order of
// the fields in the Astra schema. It matches ErrInvalidSource with errors.Is.
type ValidationError struct {
	Fields []FieldError
}

// FieldErrors lists the invalid fields (the API names each in its problem).
func (e *ValidationError) FieldErrors() []FieldError { return e.Fields }

func (e *ValidationError) Error() string { return events.FieldsText("invalid hook source", e.Fields) }

// Is reports whether target is ErrInvalidSource.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidSource }

// Field returns the reason recorded for the named field and whether there is
// one.
func (e *ValidationError) Field(name string) (reason string, ok bool) {
	for _, f := range e.Fields {
		if f.Field == name {
			return f.Reason, true
		}
	}
	return "", false
}

func (e *ValidationError) add(field, reason string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: reason})
}

// errOrNil returns e if it names at least one field, else nil (an untyped nil,
// so callers never see a non-nil error interface holding a nil pointer).
func (e *ValidationError) errOrNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// ErrLocalUnsupported is NewLocalRunner's error on a system other than
// Linux: hooks run as local processes only on Linux.
var ErrLocalUnsupported = errors.New("executor: the local hook runner needs Linux; run workers on Linux or use a container cluster")
