package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// retryAfterSeconds is the Retry-After of a 503 while NATS is unreachable:
// about the time a client takes to reconnect to a restarted server.
const retryAfterSeconds = 5

// unavailable reports whether err means the storage (NATS JetStream) could
// not be reached or did not answer in time: the request may succeed later,
// so it is a 503, never a 404 or a 500. It is the one place that knows which
// errors of nats.go mean that.
func unavailable(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrNoServers),
		errors.Is(err, jetstream.ErrConnectionClosed),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return true
	}
	// JetStream answers 503 itself when, say, a stream has no leader.
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == http.StatusServiceUnavailable
}

// unavailableProblem logs err and answers 503/24 (Service unavailable) with
// a Retry-After header.
func (s *Server) unavailableProblem(r *http.Request, err error) *Problem {
	s.log.Warn("storage unavailable", zap.String("correlation_id", reqCtx(r).correlationID),
		zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	p := problem(24)
	p.retryAfter = retryAfterSeconds
	return p
}
