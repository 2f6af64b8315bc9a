package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestApplyFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given string // filter parameter(s), raw query
		want  []string
	}{
		{name: "no filter", given: "", want: []string{"01", "02", "03", "04"}},
		{name: "eq string", given: "filter=name%20eq%20'Payroll%20script'", want: []string{"01"}},
		{name: "eq keeps trailing space", given: "filter=name%20eq%20'NetApp%20preloaded%20'", want: []string{"02"}},
		{name: "eq without trailing space", given: "filter=name%20eq%20'NetApp%20preloaded'", want: nil},
		{name: "eq punctuation", given: "filter=description%20eq%20'a,%20b:%20c@d%20%7Be%7D%20%22f%22%20it''s'", want: []string{"04"}},
		{name: "eq number", given: "filter=size%20eq%20'10'", want: []string{"01"}},
		{name: "eq number other spelling", given: "filter=size%20eq%20'1.0e1'", want: []string{"01"}},
		{name: "number field, text value", given: "filter=size%20lt%20'a'", want: []string{"01", "02", "03", "04"}},
		{name: "lt number", given: "filter=size%20lt%20'10'", want: []string{"02"}},
		{name: "gt number, string field", given: "filter=size%20gt%20'9'", want: []string{"01", "03", "04"}},
		{name: "lte number", given: "filter=size%20lte%20'10'", want: []string{"01", "02"}},
		{name: "gte number", given: "filter=size%20gte%20'11'", want: []string{"03", "04"}},
		{name: "gt text", given: "filter=name%20gt%20'N'", want: []string{"01", "02", "04"}},
		{name: "lt text", given: "filter=sourceType%20lt%20'script'", want: []string{"03"}},
		{name: "lte text", given: "filter=sourceType%20lte%20'script'", want: []string{"01", "02", "03"}},
		{name: "gt timestamp", given: "filter=metadata.creationTimestamp%20gt%20'2020-08-06T12:24:52.256624Z'", want: []string{"03"}},
		{name: "gte timestamp", given: "filter=metadata.creationTimestamp%20gte%20'2020-08-06T12:24:52.256624Z'", want: []string{"01", "03"}},
		{name: "lt date as text", given: "filter=metadata.creationTimestamp%20lt%20'2020-08-01'", want: []string{"02"}},
		{
			name:  "timestamps compare as instants, not text",
			given: "filter=metadata.creationTimestamp%20lt%20'2020-08-08T12:24:52.256624Z'",
			want:  []string{"01", "02", "03"},
		},
		{
			name:  "timestamps in another zone",
			given: "filter=metadata.creationTimestamp%20eq%20'2020-08-08T14:24:52.250%2B02:00'",
			want:  []string{"03"},
		},
		{name: "bool true", given: "filter=enabled%20eq%20'true'", want: []string{"01", "03"}},
		{name: "bool false", given: "filter=enabled%20eq%20'false'", want: []string{"02"}},
		{name: "bool lt", given: "filter=enabled%20lt%20'true'", want: []string{"02"}},
		{name: "string 'false'", given: "filter=private%20eq%20'false'", want: []string{"01"}},
		{name: "in text", given: "filter=sourceType%20in%20'binary,script'", want: []string{"01", "02", "03"}},
		{name: "in numbers", given: "filter=size%20in%20'9,100,11'", want: []string{"02", "03", "04"}},
		{name: "in one", given: "filter=sourceType%20in%20'binary'", want: []string{"03"}},
		{name: "in none", given: "filter=sourceType%20in%20'a,b'", want: nil},
		{name: "in is not trimmed", given: "filter=sourceType%20in%20'a,%20binary'", want: nil},
		{name: "array any element", given: "filter=matchingCriteria[*].type%20eq%20'podLabel'", want: []string{"01"}},
		{name: "array in", given: "filter=matchingCriteria[*].type%20in%20'containerName,containerImage'", want: []string{"01", "03"}},
		{name: "array nested", given: "filter=metadata.labels[*].name%20eq%20'team'", want: []string{"01"}},
		{name: "array of scalars", given: "filter=tags[*]%20eq%20'y'", want: []string{"04"}},
		{name: "array of scalars gt", given: "filter=tags[*]%20gt%20'x'", want: []string{"04"}},
		{name: "array without [*] never matches", given: "filter=tags%20eq%20'y'", want: nil},
		{name: "[*] on a scalar never matches", given: "filter=name[*]%20eq%20'Backup%20hook'", want: nil},
		{name: "object never matches", given: "filter=metadata%20gt%20'a'", want: nil},
		{name: "path through a scalar never matches", given: "filter=name.x%20gt%20'a'", want: nil},
		{name: "missing field, eq", given: "filter=nope%20eq%20'x'", want: nil},
		{name: "missing field, gt", given: "filter=metadata.creationTimestamp%20gt%20'0'", want: []string{"01", "02", "03"}},
		{name: "missing field, lt", given: "filter=metadata.creationTimestamp%20lt%20'zzz'", want: []string{"01", "02", "03"}},
		{name: "null never matches", given: "filter=nothing%20lt%20'zzz'", want: nil},
		{name: "AND in one parameter", given: "filter=sourceType%20eq%20'script',enabled%20eq%20'true'", want: []string{"01"}},
		{name: "AND over parameters", given: "filter=size%20gt%20'9'&filter=size%20lt%20'100'", want: []string{"01", "04"}},
	}
	items := decode(t, sources)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, err := Apply(items, mustParse(t, tt.given))
			if err != nil {
				t.Fatalf("Apply() = %v", err)
			}
			if got := ids(t, page.Items); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %q, want %q", got, tt.want)
			}
			if page.Count != len(tt.want) {
				t.Errorf("Count = %d, want %d", page.Count, len(tt.want))
			}
			if page.Continue != "" {
				t.Errorf("Continue = %q without a limit", page.Continue)
			}
		})
	}
}

func TestApplyInclude(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given string
		want  string // JSON of Items
	}{
		{
			name:  "fields in include order, missing is null",
			given: "include=name,id,nope&filter=size%20lt%20'11'",
			want:  `[["Payroll script","01",null],["NetApp preloaded ","02",null]]`,
		},
		{name: "objects and arrays as they are", given: "include=tags,id&filter=id%20eq%20'04'", want: `[[["x","y"],"04"]]`},
		{name: "a field twice", given: "include=id,id&limit=1", want: `[["01","01"]]`},
		{name: "no match is an empty list", given: "include=id&filter=id%20eq%20'x'", want: `[]`},
	}
	items := decode(t, sources)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, err := Apply(items, mustParse(t, tt.given))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(page.Items)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Items = %s, want %s", got, tt.want)
			}
		})
	}
}

// walk follows continue tokens from p to the last page, checking that
// Count is the same on every page, and returns the ids in order and the
// number of pages.
func walk(t *testing.T, items []map[string]any, p Params) (got []string, pages int) {
	t.Helper()
	count := -1
	for {
		page, err := Apply(items, p)
		if err != nil {
			t.Fatalf("page %d: Apply() = %v", pages, err)
		}
		pages++
		if count >= 0 && page.Count != count {
			t.Fatalf("page %d: Count = %d, was %d", pages, page.Count, count)
		}
		count = page.Count
		if p.Limit > 0 && len(page.Items) > p.Limit {
			t.Fatalf("page %d: %d items over limit %d", pages, len(page.Items), p.Limit)
		}
		got = append(got, ids(t, page.Items)...)
		if page.Continue == "" {
			if len(got) != count {
				t.Fatalf("walk returned %d items, Count = %d", len(got), count)
			}
			return got, pages
		}
		if len(page.Items) == 0 {
			t.Fatal("empty page with a continue token")
		}
		if pages > len(items)+1 {
			t.Fatal("walk does not end")
		}
		p.Continue = page.Continue
	}
}

func TestApplyPaging(t *testing.T) {
	t.Parallel()
	idsOf := func(from, to, step int) (out []string) {
		for i := from; i < to; i += step {
			out = append(out, fmt.Sprintf("item-%05d", i))
		}
		return out
	}
	tests := []struct {
		name      string
		given     string
		items     int
		want      []string
		wantPages int
	}{
		{name: "no limit", given: "", items: 10, want: idsOf(0, 10, 1), wantPages: 1},
		{name: "limit 4 over 25 of 50", given: "limit=4&filter=n%20in%20'" + evenList(50) + "'", items: 50, want: idsOf(0, 50, 2), wantPages: 7},
		{name: "limit equal to the matches: one page", given: "limit=5&filter=n%20lt%20'10',n%20in%20'" + evenList(50) + "'", items: 50, want: idsOf(0, 10, 2), wantPages: 1},
		{name: "limit 1", given: "limit=1&filter=n%20gte%20'7'", items: 10, want: idsOf(7, 10, 1), wantPages: 3},
		{name: "nothing matches", given: "limit=3&filter=n%20gt%20'100'", items: 10, want: nil, wantPages: 1},
		{name: "no items", given: "limit=3", items: 0, want: nil, wantPages: 1},
		{name: "with include", given: "limit=3&include=id,n", items: 7, want: idsOf(0, 7, 1), wantPages: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, pages := walk(t, numbered(tt.items), mustParse(t, tt.given))
			if !slices.Equal(got, tt.want) {
				t.Errorf("walk = %q, want %q", got, tt.want)
			}
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
		})
	}
}

func evenList(n int) string {
	var s string
	for i := 0; i < n; i += 2 {
		if s != "" {
			s += ","
		}
		s += fmt.Sprint(i)
	}
	return s
}

// TestApplyPagingChanges edits the collection between pages.
func TestApplyPagingChanges(t *testing.T) {
	t.Parallel()
	item := func(id string) map[string]any { return map[string]any{"id": id, "kind": "a"} }
	tests := []struct {
		name  string
		given func(items []map[string]any, last string) []map[string]any // the change, after the first page
		want  []string                                                   // second page
	}{
		{
			name: "last returned item deleted",
			given: func(items []map[string]any, last string) []map[string]any {
				return slices.DeleteFunc(items, func(m map[string]any) bool { return m["id"] == last })
			},
			want: []string{"c", "d"},
		},
		{
			name: "last returned and next deleted",
			given: func(items []map[string]any, last string) []map[string]any {
				return slices.DeleteFunc(items, func(m map[string]any) bool { return m["id"] == last || m["id"] == "c" })
			},
			want: []string{"d", "e"},
		},
		{
			name: "inserted before and after the token",
			given: func(items []map[string]any, last string) []map[string]any {
				items = append(items, item("a1"), item("b1"))
				slices.SortFunc(items, func(x, y map[string]any) int { return cmpID(x, y) })
				return items
			},
			want: []string{"b1", "c"},
		},
		{
			name: "item no longer matching",
			given: func(items []map[string]any, last string) []map[string]any {
				items[2]["kind"] = "b" // c
				return items
			},
			want: []string{"d", "e"},
		},
		{
			name: "everything after deleted",
			given: func(items []map[string]any, last string) []map[string]any {
				return items[:2]
			},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			items := []map[string]any{item("a"), item("b"), item("c"), item("d"), item("e")}
			p := mustParse(t, "limit=2&filter=kind%20eq%20'a'")
			first, err := Apply(items, p)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(t, first.Items); !slices.Equal(got, []string{"a", "b"}) || first.Continue == "" {
				t.Fatalf("first page = %q, continue %q", got, first.Continue)
			}
			items = tt.given(items, "b")
			p.Continue = first.Continue
			second, err := Apply(items, p)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(t, second.Items); !slices.Equal(got, tt.want) {
				t.Errorf("second page = %q, want %q", got, tt.want)
			}
		})
	}
}

func cmpID(x, y map[string]any) int {
	a, b := x["id"].(string), y["id"].(string)
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestApplyContinueChecked(t *testing.T) {
	t.Parallel()
	items := numbered(10)
	first, err := Apply(items, mustParse(t, "limit=2&include=id&filter=n%20gt%20'1'"))
	if err != nil || first.Continue == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	tests := []struct {
		name    string
		given   string // query without continue
		want    []any
		wantErr *Error
	}{
		{name: "same query", given: "limit=2&include=id&filter=n%20gt%20'1'", want: []any{[]any{"item-00004"}, []any{"item-00005"}}},
		{name: "another limit", given: "limit=3&include=id&filter=n%20gt%20'1'", want: []any{[]any{"item-00004"}, []any{"item-00005"}, []any{"item-00006"}}},
		{name: "filters given otherwise", given: "limit=2&include=id&filter=n%20gt%20'1',n%20gt%20'1'", want: []any{[]any{"item-00004"}, []any{"item-00005"}}},
		{
			name:    "another filter",
			given:   "limit=2&include=id&filter=n%20gt%20'2'",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue", Reason: "other filter"}}},
		},
		{
			name:    "no filter",
			given:   "limit=2&include=id",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue"}}},
		},
		{
			name:    "another include",
			given:   "limit=2&include=id,n&filter=n%20gt%20'1'",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.given)
			p.Continue = first.Continue // as Parse would refuse it too
			page, err := Apply(items, p)
			if tt.wantErr != nil {
				checkError(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(page.Items, tt.want) {
				t.Errorf("Items = %v, want %v", page.Items, tt.want)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		items   []map[string]any
		given   Params
		wantErr error
		wantAPI *Error
	}{
		{name: "item without id", items: []map[string]any{{"id": "a"}, {"name": "x"}}, wantErr: ErrMissingID},
		{name: "id not a string", items: []map[string]any{{"id": 1.0}}, wantErr: ErrMissingID},
		{name: "empty id", items: []map[string]any{{"id": ""}}, wantErr: ErrMissingID},
		{name: "nil item", items: []map[string]any{nil}, wantErr: ErrMissingID},
		{name: "unsorted", items: []map[string]any{{"id": "b"}, {"id": "a"}}, wantErr: ErrUnsorted},
		{name: "duplicate id", items: []map[string]any{{"id": "a"}, {"id": "a"}}, wantErr: ErrUnsorted},
		{
			name: "bad params built by hand",
			given: Params{Limit: -1, Continue: "%%", Filters: []Filter{
				{Op: OpEq, Value: "x"}, {Path: []Segment{seg("a")}, Op: "ne", Value: "x"},
			}},
			wantAPI: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{
				{Name: "limit"}, {Name: "filter", Reason: "empty field path"}, {Name: "filter", Reason: `unknown operator "ne"`}, {Name: "continue"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Apply(tt.items, tt.given)
			if tt.wantAPI != nil {
				checkError(t, err, tt.wantAPI)
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Apply() = %v, want %v", err, tt.wantErr)
			}
			var api *Error
			if errors.As(err, &api) {
				t.Fatalf("Apply() = %v, a caller bug reported as a request error", err)
			}
		})
	}
}

func TestApplyLimitAboveMax(t *testing.T) {
	t.Parallel()
	page, err := Apply(numbered(MaxLimit+1), Params{Limit: MaxLimit + 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != MaxLimit || page.Continue == "" || page.Count != MaxLimit+1 {
		t.Fatalf("page of %d items, count %d, continue %q", len(page.Items), page.Count, page.Continue)
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	type meta struct {
		CreationTimestamp time.Time `json:"creationTimestamp"`
	}
	type source struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Size     int64  `json:"size"`
		Enabled  bool   `json:"enabled"`
		Metadata meta   `json:"metadata"`
	}
	ts := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	given := []source{
		{ID: "a", Name: "x", Size: 1 << 60, Enabled: true, Metadata: meta{ts("2020-08-06T12:24:52.25Z")}},
		{ID: "b", Name: "y", Size: 9007199254740993, Metadata: meta{ts("2020-08-06T12:24:52.256624Z")}},
		{ID: "c", Name: "z", Size: 3, Metadata: meta{ts("2020-08-06T12:24:52Z")}},
	}
	items, err := Fields(given)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		given string
		want  string
	}{
		{name: "large numbers exact", given: "include=id,size&filter=size%20gt%20'3'", want: `[["a",1152921504606846976],["b",9007199254740993]]`},
		{name: "bool", given: "include=id&filter=enabled%20eq%20'true'", want: `[["a"]]`},
		{name: "time.Time trims zeros, compared as instants", given: "include=id&filter=metadata.creationTimestamp%20lt%20'2020-08-06T12:24:52.256Z'", want: `[["a"],["c"]]`},
		{name: "whole item", given: "filter=id%20eq%20'c'", want: `[{"enabled":false,"id":"c","metadata":{"creationTimestamp":"2020-08-06T12:24:52Z"},"name":"z","size":3}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, err := Apply(items, mustParse(t, tt.given))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(page.Items)
			if string(got) != tt.want {
				t.Errorf("Items = %s, want %s", got, tt.want)
			}
		})
	}

	for _, bad := range []any{source{}, 3, []int{1}, make(chan int)} {
		if _, err := Fields(bad); err == nil {
			t.Errorf("Fields(%T) succeeded", bad)
		}
	}
	if got, err := Fields([]source(nil)); err != nil || len(got) != 0 {
		t.Errorf("Fields(nil) = %v, %v", got, err)
	}
}
