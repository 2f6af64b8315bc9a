package engine

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/engine/store"
)

// errKind is what an error says about the thing asked for, which is all a
// worker decides on: whether to fail the hook or to try again later.
type errKind int

const (
	// kindUnavailable: no answer was had (a timeout, a lost connection, a
	// server short of resources). Asking again later may work. Errors of no
	// known kind are taken as this: failing a hook needs a definite answer.
	kindUnavailable errKind = iota
	// kindNotFound: the store answered that the thing does not exist.
	kindNotFound
	// kindInvalid: the thing exists but cannot be used (a malformed key or
	// content, a message the stream refuses whatever its state).
	kindInvalid
	// kindPermanent: any other definite answer that asking again will not change.
	kindPermanent
	// kindCanceled: the caller's own context ended; nobody is at fault.
	kindCanceled
)

func (k errKind) String() string {
	switch k {
	case kindNotFound:
		return "not found"
	case kindInvalid:
		return "invalid"
	case kindPermanent:
		return "permanent"
	case kindCanceled:
		return "canceled"
	}
	return "unavailable"
}

// definite reports whether an error of kind k is an answer that retrying
// will not change.
func (k errKind) definite() bool {
	return k == kindNotFound || k == kindInvalid || k == kindPermanent
}

// permanentError marks an error the worker decided is definite (a source
// whose content no longer matches the job's checksum); its text is err's.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanent marks err as definite: retrying will not change it.
func permanent(err error) error { return &permanentError{err} }

// kindOf classifies err. A context.DeadlineExceeded is taken as a sub-operation's
// timeout (unavailable); the worker checks its own context before asking.
func kindOf(err error) errKind {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return kindCanceled
	case errors.Is(err, store.ErrNotFound), errors.Is(err, jetstream.ErrKeyNotFound),
		errors.Is(err, jetstream.ErrKeyDeleted), errors.Is(err, jetstream.ErrMsgNotFound):
		return kindNotFound
	case errors.Is(err, store.ErrInvalidKey), errors.Is(err, jetstream.ErrInvalidKey),
		errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum), errors.Is(err, nats.ErrMaxPayload),
		errors.Is(err, nats.ErrBadSubject), errors.Is(err, jetstream.ErrInvalidSubject):
		return kindInvalid
	case errors.As(err, new(*permanentError)):
		return kindPermanent
	case errors.As(err, &apiErr) && apiErr.Code >= 400 && apiErr.Code < 500:
		// The server refused the request itself (bad request, wrong
		// sequence); 5xx (insufficient resources, storage exhausted, no
		// leader) are unavailability.
		return kindPermanent
	}
	// context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders,
	// nats.ErrConnectionClosed and the other connection states,
	// jetstream.ErrNoStreamResponse, jetstream.ErrServerShutdown, 5xx API
	// errors, and whatever is not known: unavailable.
	return kindUnavailable
}
