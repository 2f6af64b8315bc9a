package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Invalid is one invalid field or parameter named by the server.
type Invalid struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// APIError is an error answer: an Astra problem, or an RFS error.
type APIError struct {
	Status        int       `json:"-"`
	Type          string    `json:"type"`
	Title         string    `json:"title"`
	Detail        string    `json:"detail"`
	CorrelationID string    `json:"correlationID"`
	InvalidFields []Invalid `json:"invalidFields"`
	InvalidParams []Invalid `json:"invalidParams"`
	ErrorCode     string    `json:"error_code"`
	ErrorMsg      string    `json:"error_msg"`
	// RetryAfter is the server's Retry-After on a 503 or 429: how long to
	// wait before trying again (0 when it said nothing).
	RetryAfter time.Duration `json:"-"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	switch {
	case e.Title != "":
		fmt.Fprintf(&b, "%s (%d): %s", e.Title, e.Status, e.Detail)
	case e.ErrorCode != "":
		fmt.Fprintf(&b, "%s (%d): %s", e.ErrorCode, e.Status, e.ErrorMsg)
	default:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " (correlation ID %s)", e.CorrelationID)
	}
	for _, f := range append(e.InvalidFields, e.InvalidParams...) {
		fmt.Fprintf(&b, "\n  %s: %s", f.Name, f.Reason)
	}
	return b.String()
}

// Problem is a number of NetApp Astra's problem catalogue
// (https://astra.netapp.io/problems/N), as APIError.Problem returns it.
type Problem = astra.Problem

// The problems the server answers with.
const (
	ProblemResourceNotFound    = astra.ResourceNotFound    // 404: no resource has the id (in this account)
	ProblemCollectionNotFound  = astra.CollectionNotFound  // 404: no such collection
	ProblemMissingToken        = astra.MissingToken        // 401
	ProblemInvalidToken        = astra.InvalidToken        // 401
	ProblemInvalidQuery        = astra.InvalidQuery        // 400: a query parameter is invalid (invalidParams)
	ProblemQueryNotSupported   = astra.QueryNotSupported   // 400
	ProblemInvalidJSONPayload  = astra.InvalidJSONPayload  // 400: the body is not JSON
	ProblemInvalidJSONResource = astra.InvalidJSONResource // 400: the body does not conform to the schema (invalidFields)
	ProblemInvalidField        = astra.InvalidField        // 400: a field's value is refused (invalidFields)
	ProblemConflict            = astra.Conflict            // 409: a field conflicts, as a name another resource has
	ProblemNotPermitted        = astra.NotPermitted        // 403: the token's role does not allow it
	ProblemInvalidHeaders      = astra.InvalidHeaders      // 400, or 415 for a Content-Type that is not JSON
	ProblemServiceUnavailable  = astra.ServiceUnavailable  // 503: the storage cannot be reached; retry after RetryAfter
	ProblemVersionNotAvailable = astra.VersionNotAvailable // 404: the resource has no such version
	ProblemInternal            = astra.Internal            // 500: the server failed; its log has the correlation ID
	ProblemPreconditionNotMet  = astra.PreconditionNotMet  // 412: If-Match does not match the stored revision
	ProblemMethodNotSupported  = astra.MethodNotSupported  // 405
	ProblemPreloadedSourceRO   = astra.PreloadedSourceRO   // 403: preloaded hook sources are read only
	ProblemSourceReferenced    = astra.SourceReferenced    // 403: a hook source an execution hook uses
	ProblemNetAppHookRO        = astra.NetAppHookRO        // 403: NetApp execution hooks are read only
	ProblemBodyTooLarge        = astra.BodyTooLarge        // 413
	ProblemClusterNotFound     = astra.ClusterNotFound     // 400
	ProblemBackupNameExists    = astra.BackupNameExists    // 409
	ProblemUnexpectedState     = astra.UnexpectedState     // 409: the resource is not in a state that allows it
	ProblemSnapshotNameExists  = astra.SnapshotNameExists  // 409
)

// Problem is the Astra problem number of the answer (the last element of
// Type, https://astra.netapp.io/problems/N), or 0 for an RFS error or an
// answer that was not a problem.
func (e *APIError) Problem() Problem {
	i := strings.LastIndexByte(e.Type, '/')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(e.Type[i+1:])
	if err != nil {
		return 0
	}
	return Problem(n)
}

// Fields is every invalid field and parameter the server named.
func (e *APIError) Fields() []Invalid {
	return append(append([]Invalid(nil), e.InvalidFields...), e.InvalidParams...)
}

// IsNotFound reports whether err is a 404 answer: the resource does not
// exist (for this account).
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports whether err says the request conflicts with what is
// stored: a 409 (a name taken, a resource in a state that refuses it) or a
// 412 (the resource changed since the revision given with If-Match).
func IsConflict(err error) bool {
	s := statusOf(err)
	return s == http.StatusConflict || s == http.StatusPreconditionFailed
}

// IsUnavailable reports whether err is an answer worth retrying later: 503
// (the server cannot reach its storage; see RetryAfter) or 429.
func IsUnavailable(err error) bool {
	s := statusOf(err)
	return s == http.StatusServiceUnavailable || s == http.StatusTooManyRequests
}

func statusOf(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status
	}
	return 0
}
