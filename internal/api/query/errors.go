package query

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Astra problem numbers carried by Error.Problem.
const (
	// ProblemInvalidParams is https://astra.netapp.io/problems/5, "Invalid
	// query parameters": a supported parameter with a bad value, or given
	// more than once.
	ProblemInvalidParams = astra.InvalidQuery
	// ProblemUnsupportedParams is https://astra.netapp.io/problems/6, "Query
	// parameters not supported": a parameter name other than include, limit,
	// filter and continue.
	ProblemUnsupportedParams = astra.QueryNotSupported
)

var (
	// ErrInvalidParams is matched (errors.Is) by an *Error of problem 5.
	ErrInvalidParams = errors.New("query: invalid query parameters")
	// ErrUnsupportedParams is matched (errors.Is) by an *Error of problem 6.
	ErrUnsupportedParams = errors.New("query: query parameters not supported")
	// ErrMissingID is returned by Apply for an item without a non-empty
	// string "id": a bug of the caller, not of the request.
	ErrMissingID = errors.New("query: item has no string id")
	// ErrUnsorted is returned by Apply when the items are not in strictly
	// ascending id order: a bug of the caller, not of the request.
	ErrUnsorted = errors.New("query: items are not in ascending id order")
)

// InvalidParam names one invalid query parameter. It is an item of the
// invalidParams array of Astra problems 5 and 6.
type InvalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func (p InvalidParam) String() string { return p.Name + ": " + p.Reason }

// Error is a request error returned by Parse and Apply: every invalid or
// unsupported parameter, each named once per distinct reason. Problem is
// ProblemUnsupportedParams when any parameter name is unknown (those are
// listed first, followed by any invalid values of supported parameters),
// and ProblemInvalidParams otherwise.
type Error struct {
	Problem astra.Problem
	Params  []InvalidParam
}

func (e *Error) Error() string {
	var b strings.Builder
	switch e.Problem {
	case ProblemInvalidParams:
		b.WriteString(ErrInvalidParams.Error())
	case ProblemUnsupportedParams:
		b.WriteString(ErrUnsupportedParams.Error())
	default:
		fmt.Fprintf(&b, "query: problem %d", e.Problem)
	}
	for i, p := range e.Params {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Is reports ErrInvalidParams or ErrUnsupportedParams as a match, following
// Problem.
func (e *Error) Is(target error) bool {
	switch e.Problem {
	case ProblemInvalidParams:
		return target == ErrInvalidParams
	case ProblemUnsupportedParams:
		return target == ErrUnsupportedParams
	}
	return false
}

// add records an invalid parameter; an identical entry is recorded once
// (invalidParams has uniqueItems).
func (e *Error) add(name, format string, args ...any) {
	p := InvalidParam{Name: name, Reason: fmt.Sprintf(format, args...)}
	for _, q := range e.Params {
		if q == p {
			return
		}
	}
	e.Params = append(e.Params, p)
}

// orNil returns e as an error, or nil when nothing was recorded.
func (e *Error) orNil() error {
	if len(e.Params) == 0 {
		return nil
	}
	return e
}

// excerpt quotes s for a reason, shortened to about 64 bytes.
func excerpt(s string) string {
	const max = 64
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q…", s[:max])
}
