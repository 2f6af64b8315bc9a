package query

import (
	"encoding/base64"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"testing"
)

// FuzzParse parses an arbitrary raw query. Parse must not panic, must fail
// only with an *Error naming parameters of the query, and what it accepts
// must apply to a fixed collection and give filters back from their
// String.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"filter=name%20eq%20'Payroll%20script'",
		"filter=name%2520eq%2520'x'&limit=2&include=id,name",
		"filter=matchingCriteria[*].type%20in%20'podLabel,containerName',size%20gte%20'10'",
		"filter=metadata.creationTimestamp%20lt%20'2020-08-08T12:24:52.256624Z'&filter=enabled%20eq%20'true'",
		"filter=description%20eq%20'it''s%20a,b:c@d%20%7B%7D%22'",
		"filter=tags[*]%20gt%20'x'&include=tags,nothing",
		"limit=0&include=a-b&filter=x&continue=%21&foo=1",
		"continue=AQAA&limit=99999999999999999999",
		"filter=a%20eq%20'x',&include=id,,id",
		"filter=a[0]%20EQ%20''",
		"a=1;b=2&%zz",
	} {
		f.Add(s)
	}
	items := decode(f, sources)
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // a handler reads r.URL.Query(), which drops the error too
		p, err := Parse(q)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() = %T %v, want an *Error", err, err)
			}
			if e.Problem != ProblemInvalidParams && e.Problem != ProblemUnsupportedParams || len(e.Params) == 0 {
				t.Fatalf("Parse() = %+v", e)
			}
			for _, ip := range e.Params {
				if _, ok := q[ip.Name]; !ok {
					t.Fatalf("Parse() names %q, not in the query %v", ip.Name, q)
				}
			}
			return
		}
		for _, fl := range p.Filters {
			back, err := parseFilters(fl.String())
			if err != nil || len(back) != 1 || !reflect.DeepEqual(back[0], fl) {
				t.Fatalf("parseFilters(%q) = %+v, %v; want %+v", fl.String(), back, err, fl)
			}
		}
		page, err := Apply(items, p)
		if err != nil {
			t.Fatalf("Parse accepted %q but Apply() = %v", raw, err)
		}
		if len(page.Items) > page.Count || p.Limit > 0 && len(page.Items) > p.Limit {
			t.Fatalf("%d items, Count %d, limit %d", len(page.Items), page.Count, p.Limit)
		}
		if page.Continue != "" {
			q.Set(ParamContinue, page.Continue)
			if _, err := Parse(q); err != nil {
				t.Fatalf("Parse() refuses its own token: %v", err)
			}
		}
	})
}

// FuzzContinue resumes a listing from arbitrary tokens: the token as given,
// the payload base64-encoded, and the payload as the id of a token of the
// right fingerprint. Apply must not panic, must refuse a bad token naming
// continue only, and must return the matching items after the token's id,
// in order, and then walk to the end.
func FuzzContinue(f *testing.F) {
	items := numbered(40)
	p := Params{Filters: []Filter{{Path: []Segment{{Name: "n"}}, Op: OpGte, Value: "3"}}}
	fp := fingerprintOf(p.Filters, nil)
	f.Add(encodeToken(fp, "item-00007"), []byte("item-00007"), uint8(3))
	f.Add(encodeToken(fp, "item-00007a"), []byte("item-0001"), uint8(0))
	f.Add(encodeToken(fp, "zzz"), []byte(""), uint8(1))
	f.Add("AQ==", []byte("\x01"), uint8(5))
	f.Add("", []byte("\xff\xfe"), uint8(2))
	f.Add("!!!!", []byte("item-00039"), uint8(7))

	f.Fuzz(func(t *testing.T, token string, payload []byte, limit uint8) {
		p := p
		p.Limit = int(limit % 8)
		for _, tok := range []string{token, base64.StdEncoding.EncodeToString(payload), encodeToken(fp, string(payload))} {
			p.Continue = tok
			page, err := Apply(items, p)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Problem != ProblemInvalidParams || len(e.Params) != 1 || e.Params[0].Name != ParamContinue {
					t.Fatalf("Apply(continue=%q) = %v", tok, err)
				}
				continue
			}
			var after string
			if tok != "" {
				c, err := decodeToken(tok)
				if err != nil {
					t.Fatalf("Apply accepted %q that does not decode: %v", tok, err)
				}
				after = c.id
			}
			var want []string
			for _, it := range items {
				if id := it["id"].(string); it["n"].(float64) >= 3 && id > after {
					want = append(want, id)
				}
			}
			n := len(want)
			if p.Limit > 0 {
				n = min(n, p.Limit)
			}
			got := ids(t, page.Items)
			if !slices.Equal(got, want[:n]) {
				t.Fatalf("continue=%q limit %d: ids %q, want the start of %q", tok, p.Limit, got, want)
			}
			if page.Count != 37 {
				t.Fatalf("Count = %d, want 37", page.Count)
			}
			// Walk on: the rest follows in order, each id once.
			for page.Continue != "" {
				p.Continue = page.Continue
				if page, err = Apply(items, p); err != nil {
					t.Fatalf("own token refused: %v", err)
				}
				got = append(got, ids(t, page.Items)...)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("walk from %q: %q, want %q", tok, got, want)
			}
		}
	})
}
