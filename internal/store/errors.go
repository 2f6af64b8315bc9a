package store

import (
	"github.com/hookshot-dev/hookshot/internal/errkind"
)

var (
	// ErrNotFound is returned when a resource does not exist.
	ErrNotFound = errkind.New("not found", errkind.NotFound)
	// ErrExists is returned when creating a resource whose id is taken.
	ErrExists = errkind.New("already exists", errkind.Conflict)
	// ErrConflict is returned when the stored revision is not the one expected.
	ErrConflict = errkind.New("revision conflict", errkind.Conflict)
	// ErrNameTaken is returned when another resource of the account has the name.
	ErrNameTaken = errkind.New("name already in use", errkind.Conflict)
	// ErrReferenced is returned when deleting a source an execution hook uses.
	ErrReferenced = errkind.New("referenced by another resource", errkind.Conflict)
	// ErrNoVersion is returned when a hook has no version of that name.
	ErrNoVersion = errkind.New("no such version", errkind.NotFound)
	// ErrInvalidKey is returned for an account or id that cannot be a KV key token.
	ErrInvalidKey = errkind.New("invalid account or id", errkind.Invalid)
)
