package query

import (
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Names of the supported query parameters.
const (
	ParamInclude  = "include"
	ParamLimit    = "limit"
	ParamFilter   = "filter"
	ParamContinue = "continue"
)

const (
	// MaxLimit is the largest page size. A larger limit is lowered to it
	// silently: the page then carries a continue token, so a client that
	// follows tokens still sees every item.
	MaxLimit = 10000
	// MaxFilters is the most filters a query may hold, over all its filter
	// parameters; each costs a pass over the items.
	MaxFilters = 100
)

// Params is a parsed list query.
type Params struct {
	// Include lists top-level field names, in the order given. When set,
	// each item of a page is the array of those fields' values.
	Include []string
	// Limit is the page size; 0 means no limit.
	Limit int
	// Filters are ANDed.
	Filters []Filter
	// Continue is the raw continue token, checked by Apply.
	Continue string
}

// Parse reads the list query q (as from url.ParseQuery or
// http.Request.URL.Query, so %20 is already a space). It returns an *Error
// naming every unsupported or invalid parameter.
//
// A continue token is checked here too (it must decode and belong to the
// same filter and include parameters), so that one response names every
// problem; Apply checks it again.
func Parse(q url.Values) (Params, error) {
	var p Params
	unsupported := &Error{Problem: ProblemUnsupportedParams}
	invalid := &Error{Problem: ProblemInvalidParams}

	for _, name := range slices.Sorted(maps.Keys(q)) {
		switch name {
		case ParamInclude, ParamLimit, ParamFilter, ParamContinue:
		default:
			unsupported.add(name, "unsupported query parameter (supported: include, limit, filter, continue)")
		}
	}

	includeOK := true
	if vs := q[ParamInclude]; len(vs) > 1 {
		includeOK = false
		invalid.add(ParamInclude, "must be given at most once")
	} else if len(vs) == 1 {
		if p.Include, includeOK = parseInclude(vs[0]); !includeOK {
			invalid.add(ParamInclude, "%s is not a comma-separated list of field names (^([0-9a-zA-Z]+)(,[0-9a-zA-Z]+)*$)", excerpt(vs[0]))
		}
	}

	if vs := q[ParamLimit]; len(vs) > 1 {
		invalid.add(ParamLimit, "must be given at most once")
	} else if len(vs) == 1 {
		var ok bool
		if p.Limit, ok = parseLimit(vs[0]); !ok {
			invalid.add(ParamLimit, "%s is not a positive integer (^([1-9][0-9]*)$)", excerpt(vs[0]))
		}
	}

	filtersOK := true
	for _, v := range q[ParamFilter] {
		fs, err := parseFilters(v)
		if err != nil {
			filtersOK = false
			invalid.add(ParamFilter, "%s %v", excerpt(v), err)
			continue
		}
		p.Filters = append(p.Filters, fs...)
	}
	if len(p.Filters) > MaxFilters {
		filtersOK = false
		invalid.add(ParamFilter, "at most %d filters are allowed, got %d", MaxFilters, len(p.Filters))
	}

	if vs := q[ParamContinue]; len(vs) > 1 {
		invalid.add(ParamContinue, "must be given at most once")
	} else if len(vs) == 1 && vs[0] != "" {
		// A '+' of the token reaches us as a space when the client did
		// not percent-encode it; a space is never part of base64.
		tok := strings.ReplaceAll(vs[0], " ", "+")
		c, err := decodeToken(tok)
		switch {
		case err != nil:
			invalid.add(ParamContinue, "%v", err)
		case filtersOK && includeOK && c.fp != fingerprintOf(p.Filters, p.Include):
			invalid.add(ParamContinue, "%v", errTokenQuery)
		default:
			p.Continue = tok
		}
	}

	if len(unsupported.Params) > 0 {
		unsupported.Params = append(unsupported.Params, invalid.Params...)
		return Params{}, unsupported
	}
	if err := invalid.orNil(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// parseInclude reads ^([0-9a-zA-Z]+)(,[0-9a-zA-Z]+)*$.
func parseInclude(s string) ([]string, bool) {
	names := strings.Split(s, ",")
	for _, n := range names {
		if n == "" {
			return nil, false
		}
		for i := 0; i < len(n); i++ {
			if !isAlnum(n[i]) {
				return nil, false
			}
		}
	}
	return names, true
}

// parseLimit reads ^([1-9][0-9]*)$, lowered to MaxLimit.
func parseLimit(s string) (int, bool) {
	if s == "" || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n <= MaxLimit {
			n = n*10 + int(c-'0')
		}
	}
	return min(n, MaxLimit), true
}
