package api

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/internal/errkind"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// retryAfterSeconds is the Retry-After of a 503 while NATS is unreachable:
// about the time a client takes to reconnect to a restarted server.
const retryAfterSeconds = 5

// unavailable reports whether err means the storage (NATS JetStream) could
// not be reached or did not answer in time (errkind.Unavailable): the
// request may succeed later, so it is a 503, never a 404 or a 500. An error
// of no known kind is a 500.
func unavailable(err error) bool { return errkind.Of(err) == errkind.Unavailable }

// unavailableProblem logs err and answers 503/24 (Service unavailable) with
// a Retry-After header.
func (s *Server) unavailableProblem(r *http.Request, err error) *Problem {
	s.log.Warn("storage unavailable", zap.String("correlation_id", reqCtx(r).correlationID),
		zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	p := problem(astra.ServiceUnavailable)
	p.retryAfter = retryAfterSeconds
	return p
}
