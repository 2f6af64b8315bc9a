package query

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func seg(name string) Segment    { return Segment{Name: name} }
func anySeg(name string) Segment { return Segment{Name: name, Any: true} }

func TestParse(t *testing.T) {
	t.Parallel()

	nameTok := encodeToken(fingerprintOf([]Filter{{Path: []Segment{seg("name")}, Op: OpEq, Value: "x"}}, nil), "02")
	plainTok := encodeToken(fingerprintOf(nil, nil), "02")
	plusTok := ""
	for id := 0; ; id++ { // a token holding '+', to send unencoded
		if tok := encodeToken(fingerprintOf(nil, nil), strings.Repeat("x", id)+"\xfb"); strings.Contains(tok, "+") {
			plusTok = tok
			break
		}
	}

	tests := []struct {
		name    string
		given   string // raw query
		want    Params
		wantErr *Error
	}{
		{name: "empty", given: "", want: Params{}},
		{
			name:  "eq with %20",
			given: "filter=name%20eq%20'Payroll%20script'",
			want:  Params{Filters: []Filter{{Path: []Segment{seg("name")}, Op: OpEq, Value: "Payroll script"}}},
		},
		{
			name:  "lt with +",
			given: "filter=size+lt+'10'",
			want:  Params{Filters: []Filter{{Path: []Segment{seg("size")}, Op: OpLt, Value: "10"}}},
		},
		{
			name:  "gt",
			given: "filter=size%20gt%20'10'",
			want:  Params{Filters: []Filter{{Path: []Segment{seg("size")}, Op: OpGt, Value: "10"}}},
		},
		{
			name:  "lte nested path",
			given: "filter=metadata.creationTimestamp%20lte%20'2020-08-06T12:24:52.256624Z'",
			want: Params{Filters: []Filter{{
				Path: []Segment{seg("metadata"), seg("creationTimestamp")}, Op: OpLte, Value: "2020-08-06T12:24:52.256624Z",
			}}},
		},
		{
			name:  "gte",
			given: "filter=timeoutSeconds%20gte%20'5'",
			want:  Params{Filters: []Filter{{Path: []Segment{seg("timeoutSeconds")}, Op: OpGte, Value: "5"}}},
		},
		{
			name:  "in",
			given: "filter=sourceType%20in%20'script,binary'",
			want:  Params{Filters: []Filter{{Path: []Segment{seg("sourceType")}, Op: OpIn, Value: "script,binary"}}},
		},
		{
			name:  "array path, brackets as sent",
			given: "filter=matchingCriteria[*].type%20eq%20'podLabel'",
			want: Params{Filters: []Filter{{
				Path: []Segment{anySeg("matchingCriteria"), seg("type")}, Op: OpEq, Value: "podLabel",
			}}},
		},
		{
			name:  "array path, brackets encoded, arrays at several levels",
			given: "filter=a%5B*%5D.b.c%5B*%5D%20eq%20'1'",
			want:  Params{Filters: []Filter{{Path: []Segment{anySeg("a"), seg("b"), anySeg("c")}, Op: OpEq, Value: "1"}}},
		},
		{
			name:  "several filters in one parameter",
			given: "filter=name%20eq%20'a,b',sourceType%20eq%20'script',metadata.labels[*].name%20in%20'x,y'",
			want: Params{Filters: []Filter{
				{Path: []Segment{seg("name")}, Op: OpEq, Value: "a,b"},
				{Path: []Segment{seg("sourceType")}, Op: OpEq, Value: "script"},
				{Path: []Segment{seg("metadata"), anySeg("labels"), seg("name")}, Op: OpIn, Value: "x,y"},
			}},
		},
		{
			name:  "several filter parameters",
			given: "filter=name%20eq%20'a'&filter=size%20gt%20'1',size%20lt%20'9'",
			want: Params{Filters: []Filter{
				{Path: []Segment{seg("name")}, Op: OpEq, Value: "a"},
				{Path: []Segment{seg("size")}, Op: OpGt, Value: "1"},
				{Path: []Segment{seg("size")}, Op: OpLt, Value: "9"},
			}},
		},
		{
			name:  "value with spaces, commas, colons, @, braces, double quotes",
			given: "filter=description%20eq%20'a,%20b:%20c@d%20%7Be%7D%20%22f%22%20-_.'",
			want: Params{Filters: []Filter{{
				Path: []Segment{seg("description")}, Op: OpEq, Value: `a, b: c@d {e} "f" -_.`,
			}}},
		},
		{
			name:  "value holding the grammar",
			given: "filter=name%20eq%20'x%20eq%20,y%20gt%20'",
			want:  Params{Filters: []Filter{{Path: []Segment{seg("name")}, Op: OpEq, Value: "x eq ,y gt "}}},
		},
		{
			name:  "doubled quote is a quote",
			given: "filter=description%20eq%20'it''s%20''x'''",
			want:  Params{Filters: []Filter{{Path: []Segment{seg("description")}, Op: OpEq, Value: "it's 'x'"}}},
		},
		{
			name:  "literal %20 separators (query encoded twice)",
			given: "filter=name%2520eq%2520'Payroll%20script'",
			want:  Params{Filters: []Filter{{Path: []Segment{seg("name")}, Op: OpEq, Value: "Payroll script"}}},
		},
		{
			name:  "include and limit",
			given: "include=id,name,metadata&limit=2",
			want:  Params{Include: []string{"id", "name", "metadata"}, Limit: 2},
		},
		{name: "limit above MaxLimit is lowered", given: "limit=10001", want: Params{Limit: MaxLimit}},
		{name: "huge limit is lowered", given: "limit=99999999999999999999999999", want: Params{Limit: MaxLimit}},
		{name: "limit at MaxLimit", given: "limit=10000", want: Params{Limit: 10000}},
		{name: "empty continue is none", given: "continue=", want: Params{}},
		{
			name:  "continue with its filter",
			given: "filter=name%20eq%20'x'&continue=" + url.QueryEscape(nameTok),
			want:  Params{Filters: []Filter{{Path: []Segment{seg("name")}, Op: OpEq, Value: "x"}}, Continue: nameTok},
		},
		{name: "continue", given: "continue=" + url.QueryEscape(plainTok), want: Params{Continue: plainTok}},
		{name: "continue with '+' not encoded", given: "continue=" + plusTok, want: Params{Continue: plusTok}},

		{
			name:    "unknown parameter",
			given:   "orderBy=name",
			wantErr: &Error{Problem: ProblemUnsupportedParams, Params: []InvalidParam{{Name: "orderBy", Reason: "unsupported"}}},
		},
		{
			name:    "names are case sensitive",
			given:   "Limit=2&limit=3",
			wantErr: &Error{Problem: ProblemUnsupportedParams, Params: []InvalidParam{{Name: "Limit"}}},
		},
		{
			name:  "unknown parameters first, then invalid values",
			given: "skip=1&limit=0&count=true",
			wantErr: &Error{Problem: ProblemUnsupportedParams, Params: []InvalidParam{
				{Name: "count"}, {Name: "skip"}, {Name: "limit", Reason: "positive integer"},
			}},
		},
		{name: "limit 0", given: "limit=0", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "limit", Reason: `"0"`}}}},
		{name: "limit -1", given: "limit=-1", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "limit"}}}},
		{name: "limit abc", given: "limit=abc", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "limit"}}}},
		{name: "limit 1e3", given: "limit=1e3", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "limit"}}}},
		{name: "limit 02", given: "limit=02", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "limit"}}}},
		{name: "limit empty", given: "limit=", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "limit"}}}},
		{name: "limit twice", given: "limit=1&limit=2", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "limit", Reason: "at most once"}}}},
		{name: "include empty name", given: "include=id,,name", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "include", Reason: `"id,,name"`}}}},
		{name: "include a-b", given: "include=a-b", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "include"}}}},
		{name: "include trailing comma", given: "include=id,", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "include"}}}},
		{name: "include path", given: "include=metadata.labels", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "include"}}}},
		{name: "include empty", given: "include=", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "include"}}}},
		{name: "include twice", given: "include=id&include=name", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "include", Reason: "at most once"}}}},
		{
			name:    "filter missing closing quote",
			given:   "filter=name%20eq%20'x",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "at offset 8: missing the closing quote"}}},
		},
		{
			name:    "filter without quotes",
			given:   "filter=name%20eq%20x",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "single quotes"}}},
		},
		{
			name:    "filter unknown operator",
			given:   "filter=name%20ne%20'x'",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: `unknown operator "ne"`}}},
		},
		{
			name:    "filter operators are case sensitive",
			given:   "filter=name%20EQ%20'x'",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: `unknown operator "EQ"`}}},
		},
		{
			name:    "filter empty path",
			given:   "filter=%20eq%20'x'",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "at offset 0: expected a field name"}}},
		},
		{
			name:    "filter empty",
			given:   "filter=",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "found the end"}}},
		},
		{name: "filter empty segment", given: "filter=a..b%20eq%20'x'", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "at offset 2"}}}},
		{name: "filter trailing dot", given: "filter=a.%20eq%20'x'", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter"}}}},
		{name: "filter index", given: "filter=a[0].b%20eq%20'x'", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "expected [*]"}}}},
		{name: "filter two spaces", given: "filter=a%20%20eq%20'x'", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter"}}}},
		{name: "filter no operator", given: "filter=a%20'x'", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "expected an operator"}}}},
		{name: "filter empty value", given: "filter=a%20eq%20''", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "empty value"}}}},
		{name: "filter trailing comma", given: "filter=a%20eq%20'x',", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "at offset 9"}}}},
		{name: "filter space after comma", given: "filter=a%20eq%20'x',%20b%20eq%20'y'", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter"}}}},
		{name: "filter text after value", given: "filter=a%20eq%20'x'y", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "expected ','"}}}},
		{name: "filter non-ASCII name", given: "filter=n%C3%A4me%20eq%20'x'", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter"}}}},
		{
			name:  "each bad filter parameter named once per reason",
			given: "filter=a%20eq%20'x'&filter=b&filter=c%20xx%20'1'&filter=b",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{
				{Name: "filter", Reason: `"b" at offset 1`}, {Name: "filter", Reason: `"c xx '1'"`},
			}},
		},
		{
			name:    "too many filters",
			given:   "filter=" + strings.Repeat("a%20eq%20'1',", MaxFilters) + "a%20eq%20'1'",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "filter", Reason: "at most 100"}}},
		},
		{name: "continue not base64", given: "continue=abc", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue", Reason: "base64"}}}},
		{name: "continue bad characters", given: "continue=ab-_", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue", Reason: "base64"}}}},
		{name: "continue with a newline", given: "continue=AQAA%0AAAAA", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue", Reason: "base64"}}}},
		{name: "continue not a token", given: "continue=AAAA", wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue", Reason: "not a continue token"}}}},
		{
			name:    "continue for another filter",
			given:   "filter=name%20eq%20'y'&continue=" + url.QueryEscape(nameTok),
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue", Reason: "other filter"}}},
		},
		{
			name:    "continue for another include",
			given:   "include=id&filter=name%20eq%20'x'&continue=" + url.QueryEscape(nameTok),
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue", Reason: "other filter or include"}}},
		},
		{
			name:    "continue twice",
			given:   "continue=" + url.QueryEscape(plainTok) + "&continue=" + url.QueryEscape(plainTok),
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{{Name: "continue", Reason: "at most once"}}},
		},
		{
			name:  "every invalid parameter named",
			given: "continue=%21%21&filter=x&limit=0&include=a-b&filter=y%20eq%20'1'",
			wantErr: &Error{Problem: ProblemInvalidParams, Params: []InvalidParam{
				{Name: "include"}, {Name: "limit"}, {Name: "filter"}, {Name: "continue"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tt.given)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(q)
			if tt.wantErr != nil {
				checkError(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestFilterString checks that String gives back what parses to the same
// filter.
func TestFilterString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given Filter
		want  string
	}{
		{name: "plain", given: Filter{Path: []Segment{seg("name")}, Op: OpEq, Value: "a b"}, want: "name eq 'a b'"},
		{name: "array", given: Filter{Path: []Segment{anySeg("a"), seg("b")}, Op: OpIn, Value: "x,y"}, want: "a[*].b in 'x,y'"},
		{name: "quote", given: Filter{Path: []Segment{seg("d")}, Op: OpGte, Value: "it's"}, want: "d gte 'it''s'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.given.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, err := parseFilters(tt.want)
			if err != nil || len(back) != 1 || !reflect.DeepEqual(back[0], tt.given) {
				t.Fatalf("parseFilters(%q) = %+v, %v", tt.want, back, err)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given string
		want  error
		not   error
		text  string
	}{
		{name: "invalid", given: "limit=0", want: ErrInvalidParams, not: ErrUnsupportedParams, text: `query: invalid query parameters: limit: "0" is not a positive integer`},
		{name: "unsupported", given: "x=1", want: ErrUnsupportedParams, not: ErrInvalidParams, text: "query: query parameters not supported: x: unsupported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, _ := url.ParseQuery(tt.given)
			_, err := Parse(q)
			if !errors.Is(err, tt.want) || errors.Is(err, tt.not) {
				t.Fatalf("Parse() = %v, want errors.Is %v only", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.text) {
				t.Fatalf("Error() = %q, want prefix %q", err.Error(), tt.text)
			}
		})
	}
}
