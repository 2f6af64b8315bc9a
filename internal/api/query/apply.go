package query

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Page is one page of a listing.
type Page struct {
	// Items holds the items of the page in order: the maps themselves, or
	// with Params.Include an []any per item of the named fields' values,
	// in Include order, nil for a field the item lacks. Never nil, so it
	// encodes as [] when empty.
	Items []any
	// Count is how many items match the filters in total, on every page
	// together: it does not depend on limit or continue, so it is the same
	// on each page of a walk (unless items change in between). It is the
	// metadata.count of the response.
	Count int
	// Continue is the token for the next page (metadata.continue), "" when
	// this page is the last.
	Continue string
}

// Apply filters items, pages them with p.Limit and p.Continue, and projects
// them with p.Include.
//
// Each item is the JSON object of one resource, as decoded by encoding/json
// into map[string]any (float64 or json.Number numbers), with a non-empty
// string "id". Items must be in strictly ascending id order (bytewise, as
// slices.Sort orders strings): a continue token resumes at the first
// matching item whose id is greater than the last one returned, so a walk
// is stable when items are inserted or deleted between pages — deleted
// items are not returned, inserted ones are when their id sorts after the
// token. A violation of this contract is an error wrapping ErrMissingID or
// ErrUnsorted; a bad p (including a token for other filters) is an *Error.
func Apply(items []map[string]any, p Params) (Page, error) {
	invalid := &Error{Problem: ProblemInvalidParams}
	limit := p.Limit
	if limit < 0 {
		invalid.add(ParamLimit, "must be a positive integer")
	}
	limit = min(limit, MaxLimit)

	filtersOK := true
	ms := make([]matcher, 0, len(p.Filters))
	for _, f := range p.Filters {
		switch {
		case len(f.Path) == 0:
			filtersOK = false
			invalid.add(ParamFilter, "%s: empty field path", excerpt(f.String()))
		case !validOp(f.Op):
			filtersOK = false
			invalid.add(ParamFilter, "%s: unknown operator %q (want eq, lt, gt, lte, gte or in)", excerpt(f.String()), f.Op)
		default:
			ms = append(ms, newMatcher(f))
		}
	}

	var fp fingerprint
	if filtersOK {
		fp = fingerprintOf(p.Filters, p.Include)
	}
	var after string
	resume := false
	if p.Continue != "" {
		c, err := decodeToken(p.Continue)
		switch {
		case err != nil:
			invalid.add(ParamContinue, "%v", err)
		case filtersOK && c.fp != fp:
			invalid.add(ParamContinue, "%v", errTokenQuery)
		default:
			after, resume = c.id, true
		}
	}
	if err := invalid.orNil(); err != nil {
		return Page{}, err
	}

	page := Page{Items: []any{}}
	var prev, last string
	more := false
	for i, it := range items {
		id, _ := it["id"].(string)
		if id == "" {
			return Page{}, fmt.Errorf("%w: item %d", ErrMissingID, i)
		}
		if i > 0 && id <= prev {
			return Page{}, fmt.Errorf("%w: item %d has id %q after %q", ErrUnsorted, i, id, prev)
		}
		prev = id
		if !matchAll(ms, it) {
			continue
		}
		page.Count++
		if resume && id <= after {
			continue
		}
		if limit > 0 && len(page.Items) == limit {
			more = true
			continue
		}
		page.Items = append(page.Items, project(it, p.Include))
		last = id
	}
	if more {
		page.Continue = encodeToken(fp, last)
	}
	return page, nil
}

func matchAll(ms []matcher, item map[string]any) bool {
	for i := range ms {
		if !ms[i].match(item) {
			return false
		}
	}
	return true
}

// project returns item, or with include the values of the named fields.
func project(item map[string]any, include []string) any {
	if len(include) == 0 {
		return item
	}
	row := make([]any, len(include))
	for i, name := range include {
		row[i] = item[name]
	}
	return row
}

// Fields converts items, a slice (or array) of values that encode to JSON
// objects — typically the typed resources of a handler — into the form
// Apply takes, through encoding/json. Numbers are decoded as json.Number,
// so they encode back exactly (an int64 id above 2^53 stays intact).
func Fields(items any) ([]map[string]any, error) {
	raw, err := json.Marshal(items)
	if err != nil {
		return nil, fmt.Errorf("query: encode items: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out []map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("query: items are not a list of JSON objects: %w", err)
	}
	return out, nil
}
