package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// sources is a small collection in ascending id order, as json.Unmarshal
// decodes it (float64 numbers).
const sources = `[
 {"id":"01","name":"Payroll script","sourceType":"script","size":10,"enabled":true,"private":"false",
  "metadata":{"creationTimestamp":"2020-08-06T12:24:52.256624Z","labels":[{"name":"team","value":"pay"}]},
  "matchingCriteria":[{"type":"containerImage","value":"mysql"},{"type":"podLabel","value":"app=pay"}]},
 {"id":"02","name":"NetApp preloaded ","sourceType":"script","size":9,"enabled":false,"private":"true",
  "metadata":{"creationTimestamp":"2020-07-12T12:24:52.256624Z","labels":[]},"matchingCriteria":[]},
 {"id":"03","name":"Backup hook","sourceType":"binary","size":100,"enabled":true,
  "metadata":{"creationTimestamp":"2020-08-08T12:24:52.25Z"},
  "matchingCriteria":[{"type":"containerName","value":"db"}]},
 {"id":"04","name":"no metadata","size":"11","tags":["x","y"],"nothing":null,
  "description":"a, b: c@d {e} \"f\" it's"}
]`

// decode returns the items of a JSON array of objects.
func decode(t testing.TB, s string) []map[string]any {
	t.Helper()
	var items []map[string]any
	if err := json.Unmarshal([]byte(s), &items); err != nil {
		t.Fatal(err)
	}
	return items
}

// numbered returns n items with ids "item-00000".."item-<n-1>" and a number
// field n.
func numbered(n int) []map[string]any {
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprintf("item-%05d", i), "n": float64(i)}
	}
	return items
}

// ids returns the ids of a page's items: maps, or projections whose first
// field is id.
func ids(t testing.TB, items []any) []string {
	t.Helper()
	out := make([]string, 0, len(items))
	for _, it := range items {
		var id any
		switch x := it.(type) {
		case map[string]any:
			id = x["id"]
		case []any:
			if len(x) > 0 {
				id = x[0]
			}
		}
		s, ok := id.(string)
		if !ok {
			t.Fatalf("item %v has no id", it)
		}
		out = append(out, s)
	}
	return out
}

// mustParse parses a raw query string.
func mustParse(t testing.TB, raw string) Params {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(q)
	if err != nil {
		t.Fatalf("Parse(%q) = %v", raw, err)
	}
	return p
}

// checkError compares err with want: the problem, the names in order, and
// each wanted reason as a substring ("" checks nothing).
func checkError(t testing.TB, err error, want *Error) {
	t.Helper()
	var got *Error
	if !errors.As(err, &got) {
		t.Fatalf("error = %T %v, want an *Error", err, err)
	}
	if got.Problem != want.Problem {
		t.Errorf("Problem = %d, want %d (%v)", got.Problem, want.Problem, err)
	}
	names := func(ps []InvalidParam) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	if !slices.Equal(names(got.Params), names(want.Params)) {
		t.Fatalf("names = %q, want %q (%v)", names(got.Params), names(want.Params), err)
	}
	for i, p := range want.Params {
		if !strings.Contains(got.Params[i].Reason, p.Reason) {
			t.Errorf("reason %d = %q, want it to contain %q", i, got.Params[i].Reason, p.Reason)
		}
	}
}
