package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookshot-dev/hookshot/internal/store"
)

// Every route that takes an Astra body knows the media type of its resource,
// so a client may send it as Content-Type.
func TestEveryBodyRouteHasAMediaType(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Store: &store.Store{}, Tokens: &Tokens{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Routes() {
		if r.Scope == "rfs" || !(slices.Contains(r.Methods, http.MethodPost) || slices.Contains(r.Methods, http.MethodPut)) {
			continue
		}
		mt := bodyMediaType(r.Pattern)
		if !strings.HasPrefix(mt, "application/astra-") && !strings.HasPrefix(mt, "application/hookshot-") {
			t.Errorf("%s: body media type %q", r.Pattern, mt)
		}
	}
}

func TestBadUnicodeAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given string
		want  int
	}{
		{"ascii", `"abc"`, -1},
		{"separators before", `, "abc"`, -1},
		{"utf-8", "\"naïve ☃ 😀\"", -1},
		{"raw byte", "\"ab\xffc\"", 3},
		{"overlong", "\"\xc0\xaf\"", 1},
		{"encoded surrogate", "\"\xed\xa0\x80\"", 1},
		{"pair", `"\ud83d\ude00"`, -1},
		{"pair upper case", `"\uD83D\uDE00"`, -1},
		{"lone high", `"x\ud800"`, 2},
		{"lone high at end of pair slot", `"\ud800\u0041"`, 1},
		{"high high low", `"\ud800\ud800\udc00"`, 1},
		{"lone low", `"\udc00"`, 1},
		{"escaped backslash", `"\\ud800"`, -1},
		{"escaped quote", `"\"\ud800"`, 3},
		{"replacement char", `"\ufffd"`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := badUnicodeAt([]byte(tt.given)); got != tt.want {
				t.Errorf("badUnicodeAt(%q) = %d, want %d", tt.given, got, tt.want)
			}
		})
	}
}

// FuzzInvalidUnicode: a JSON text that is not UTF-8 is always refused with
// its field named, and what is accepted is UTF-8.
func FuzzInvalidUnicode(f *testing.F) {
	f.Add([]byte("{\"name\":\"a\xffb\"}"))
	f.Add([]byte(`{"name":"\ud800","arguments":["\udc00"]}`))
	f.Add([]byte(`{"name":"\ud83d\ude00","metadata":{"labels":[{"name":"\\ud800"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		bad := invalidUnicode(data)
		if !utf8.Valid(data) && len(bad) == 0 {
			t.Fatalf("%q is not UTF-8 but no field is named", data)
		}
		if p := decodeStrict(data, &hookBody{}, nil, nil); p == nil && !utf8.Valid(data) {
			t.Fatalf("accepted %q", data)
		}
	})
}
