// Package errkind classifies errors once, by what they say about the thing
// asked for, so that every boundary decides from the kind and never from
// ad-hoc checks: the API's status (404 only for NotFound, 503 only for
// Unavailable, 500 for Unknown), a worker's choice between failing a hook
// (a definite answer) and handing the job back (no answer), provisioning's
// choice between waiting and giving up.
//
// The kinds of NATS and JetStream errors are known here; Hookshot's own
// packages give their errors a kind with New (sentinels) and Mark (wrapped
// errors). Errors of no known kind are Unknown, and each boundary says
// what Unknown means to it: a worker takes it as Unavailable (failing a
// hook needs a definite answer), the API as a 500 (a bug, logged).
package errkind

import (
	"context"
	"errors"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Kind is what an error says about the thing asked for.
type Kind uint8

const (
	// Unknown: an error of no known kind.
	Unknown Kind = iota
	// Unavailable: no answer was had (a timeout, a lost connection, no
	// JetStream leader, a server short of resources). Asking again later
	// may work.
	Unavailable
	// NotFound: the answer is that the thing does not exist.
	NotFound
	// Invalid: the request can never succeed as it is (a malformed key or
	// content, a message over the maximum payload, a configuration the
	// server refuses).
	Invalid
	// Conflict: the thing's state refuses the request now (a name taken, a
	// revision moved, the thing exists already).
	Conflict
	// Permanent: any other definite answer that asking again will not
	// change.
	Permanent
	// Canceled: the caller's own context ended; nobody is at fault.
	Canceled
)

func (k Kind) String() string {
	switch k {
	case Unavailable:
		return "unavailable"
	case NotFound:
		return "not found"
	case Invalid:
		return "invalid"
	case Conflict:
		return "conflict"
	case Permanent:
		return "permanent"
	case Canceled:
		return "canceled"
	}
	return "unknown"
}

// Definite reports whether an error of kind k is an answer that asking
// again will not change.
func (k Kind) Definite() bool {
	return k == NotFound || k == Invalid || k == Conflict || k == Permanent
}

// kinded is an error that says its own kind.
type kinded interface{ ErrKind() Kind }

type sentinel struct {
	text string
	kind Kind
}

func (e *sentinel) Error() string { return e.text }
func (e *sentinel) ErrKind() Kind { return e.kind }

// New returns a sentinel error of kind k, for a package's Err variables:
// errors.Is works on it as on errors.New's, and Of finds its kind through
// any wrapping.
func New(text string, k Kind) error { return &sentinel{text, k} }

type marked struct {
	err  error
	kind Kind
}

func (e *marked) Error() string { return e.err.Error() }
func (e *marked) Unwrap() error { return e.err }
func (e *marked) ErrKind() Kind { return e.kind }

// Mark gives err the kind k, keeping its text and its chain for errors.Is
// and errors.As. Mark(nil, k) is nil.
func Mark(err error, k Kind) error {
	if err == nil {
		return nil
	}
	return &marked{err, k}
}

// OrUnavailable is Of with Unknown taken as Unavailable: the kind for a
// boundary that must have a definite answer before it gives up (failing a
// hook, failing a stage).
func OrUnavailable(err error) Kind {
	if k := Of(err); k != Unknown {
		return k
	}
	return Unavailable
}

// JetStream API error codes whose kind differs from their HTTP code's.
const (
	// jsErrNoPeers: no suitable peers for placement (a 400); peers may
	// still join.
	jsErrNoPeers jetstream.ErrorCode = 10005
	// jsErrInvalidConfig: a configuration the server refuses (changing a
	// stream's storage, say), answered with code 500.
	jsErrInvalidConfig jetstream.ErrorCode = 10052
	// jsErrReplicasNotSupported: replicas > 1 on a server not clustered.
	jsErrReplicasNotSupported jetstream.ErrorCode = 10074
)

// Of classifies err; Unknown when nothing says its kind (and for nil).
// The outermost error that says its kind (New, Mark) decides; then the
// context's errors, then NATS's and JetStream's.
func Of(err error) Kind {
	if err == nil {
		return Unknown
	}
	var k kinded
	if errors.As(err, &k) {
		return k.ErrKind()
	}
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted),
		errors.Is(err, jetstream.ErrMsgNotFound), errors.Is(err, jetstream.ErrStreamNotFound),
		errors.Is(err, jetstream.ErrConsumerNotFound), errors.Is(err, jetstream.ErrBucketNotFound):
		return NotFound
	case errors.Is(err, jetstream.ErrInvalidKey), errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum),
		errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrBadSubject), errors.Is(err, jetstream.ErrInvalidSubject):
		return Invalid
	case errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return Permanent
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrNoServers),
		errors.Is(err, jetstream.ErrConnectionClosed), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrServerShutdown), errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		// JetStream not enabled (at all) is what a server answers while
		// its JetStream is still starting.
		return Unavailable
	case errors.As(err, &apiErr):
		return apiKind(apiErr)
	}
	return Unknown
}

func apiKind(e *jetstream.APIError) Kind {
	switch e.ErrorCode {
	case jsErrNoPeers:
		return Unavailable
	case jsErrInvalidConfig, jsErrReplicasNotSupported:
		return Invalid
	case jetstream.JSErrCodeJetStreamNotEnabledForAccount:
		return Permanent
	}
	switch {
	case e.Code == http.StatusNotFound:
		return NotFound
	case e.Code >= 400 && e.Code < 500:
		// The server refused the request itself (a bad request, a wrong
		// last sequence).
		return Permanent
	case e.Code >= 500:
		// Insufficient resources, storage exhausted, no leader.
		return Unavailable
	}
	return Unknown
}
