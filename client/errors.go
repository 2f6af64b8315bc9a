package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
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

// Astra problem numbers the server answers with (the number at the end of
// an APIError's Type, https://astra.netapp.io/problems/N). The catalogue is
// NetApp Astra's; these are the ones Hookshot uses.
const (
	ProblemResourceNotFound    = 1   // 404: no resource has the id (in this account)
	ProblemCollectionNotFound  = 2   // 404: no such collection
	ProblemMissingToken        = 3   // 401
	ProblemInvalidToken        = 4   // 401
	ProblemInvalidQuery        = 5   // 400: a query parameter is invalid (invalidParams)
	ProblemQueryNotSupported   = 6   // 400
	ProblemInvalidJSONPayload  = 7   // 400: the body is not JSON
	ProblemInvalidJSONResource = 8   // 400: the body does not conform to the schema (invalidFields)
	ProblemInvalidField        = 9   // 400: a field's value is refused (invalidFields)
	ProblemConflict            = 10  // 409: a field conflicts, as a name another resource has
	ProblemNotPermitted        = 11  // 403: the token's role does not allow it
	ProblemInvalidHeaders      = 12  // 400, or 415 for a Content-Type that is not JSON
	ProblemServiceUnavailable  = 24  // 503: the storage cannot be reached; retry after RetryAfter
	ProblemVersionNotAvailable = 30  // 404: the resource has no such version
	ProblemInternal            = 34  // 500: the server failed; its log has the correlation ID
	ProblemPreconditionNotMet  = 38  // 412: If-Match does not match the stored revision
	ProblemServiceNotReady     = 41  // 503
	ProblemMethodNotSupported  = 69  // 405
	ProblemBodyTooLarge        = 85  // 413
	ProblemClusterNotFound     = 106 // 400
	ProblemBackupNameExists    = 143 // 409
	ProblemUnexpectedState     = 164 // 409: the resource is not in a state that allows it
	ProblemSnapshotNameExists  = 176 // 409
)

// Problem is the Astra problem number of the answer (the last element of
// Type, https://astra.netapp.io/problems/N), or 0 for an RFS error or an
// answer that was not a problem.
func (e *APIError) Problem() int {
	i := strings.LastIndexByte(e.Type, '/')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(e.Type[i+1:])
	if err != nil {
		return 0
	}
	return n
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
