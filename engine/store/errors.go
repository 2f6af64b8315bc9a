package store

import "errors"

var (
	// ErrNotFound is returned when a resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists is returned when creating a resource whose id is taken.
	ErrExists = errors.New("already exists")
	// ErrConflict is returned when the stored revision is not the one expected.
	ErrConflict = errors.New("revision conflict")
	// ErrNameTaken is returned when another resource of the account has the name.
	ErrNameTaken = errors.New("name already in use")
	// ErrReferenced is returned when deleting a source an execution hook uses.
	ErrReferenced = errors.New("referenced by another resource")
	// ErrNoVersion is returned when a hook has no version of that name.
	ErrNoVersion = errors.New("no such version")
	// ErrInvalidKey is returned for an account or id that cannot be a KV key token.
	ErrInvalidKey = errors.New("invalid account or id")
)
