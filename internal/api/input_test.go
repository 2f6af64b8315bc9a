package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// rawBody is a JSON body with raw bytes spliced into it: {"name":"<bad>",…}.
func rawBody(t *testing.T, fields map[string]any, name string) []byte {
	t.Helper()
	fields["name"] = "NAME"
	raw, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.Replace(string(raw), `"NAME"`, `"`+name+`"`, 1))
}

func TestBodyThatIsNotUnicodeIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	source := func() map[string]any {
		return map[string]any{"type": "application/astra-hookSource", "version": "1.0", "sourceType": "script", "source": seedSource}
	}
	tests := []struct {
		name  string
		path  string
		given []byte
		want  string // the field named
	}{
		{"raw byte in a hook name", "/core/v1/executionHooks", rawBody(t, seedHook(), "Pay\xffroll"), "name"},
		{"raw byte in a source name", "/core/v1/hookSources", rawBody(t, source(), "scr\xc3ipt"), "name"},
		{"truncated rune", "/core/v1/hookSources", rawBody(t, source(), "script\xe2\x82"), "name"},
		{"lone high surrogate", "/core/v1/hookSources", rawBody(t, source(), `a\ud800b`), "name"},
		{"lone low surrogate", "/core/v1/executionHooks", rawBody(t, seedHook(), `\uDC00`), "name"},
		{"high surrogate then not a low one", "/core/v1/hookSources", rawBody(t, source(), `\ud800\u0041`), "name"},
		{"in an array item", "/core/v1/executionHooks", []byte(strings.Replace(string(rawBody(t, seedHook(), "Payroll")), `"freeze"`, "\"fr\xffeze\"", 1)), "arguments[0]"},
		{"in a field name", "/core/v1/hookSources", []byte(strings.Replace(string(rawBody(t, source(), "s")), `{`, "{\"x\xff\":1,", 1)), "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(http.MethodPost, acctPath(tt.path), memberToken, tt.given)
			res.wantProblem(t, 400, 8, tt.want)
			if !strings.Contains(string(res.raw), "byte offset") {
				t.Errorf("the problem does not name the byte offset: %s", res.raw)
			}
		})
	}

	// The offset is the bad byte's, in the body as sent.
	body := rawBody(t, source(), "s\xff")
	res := h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, body)
	at := strings.IndexByte(string(body), 0xff)
	if !strings.Contains(string(res.raw), "byte offset "+itoa(at)+")") {
		t.Errorf("offset of the bad byte is %d: %s", at, res.raw)
	}

	// Valid Unicode, escaped or not, is stored as sent: a surrogate pair,
	// an escaped U+FFFD, multibyte UTF-8.
	for _, name := range []string{`pair \ud83d\ude00`, `replacement \ufffd`, "naïve ☃", `back\\slash \\ud800`} {
		res := h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, rawBody(t, source(), name))
		if res.status != http.StatusCreated {
			t.Fatalf("%s: %d %s", name, res.status, res.raw)
		}
		var want string
		if err := json.Unmarshal([]byte(`"`+name+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if res.body["name"] != want {
			t.Errorf("name %q, want %q", res.body["name"], want)
		}
	}
	// Nothing was stored by the refusals.
	list := h.do(http.MethodGet, acctPath("/core/v1/executionHooks"), viewerToken, nil)
	if n := list.body["metadata"].(map[string]any)["count"]; n != float64(0) {
		t.Errorf("%v hooks stored after refusals: %s", n, list.raw)
	}
}

func TestBodyContentType(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	hooks := acctPath("/core/v1/executionHooks")
	source := map[string]any{"type": "application/astra-hookSource", "version": "1.0", "name": "s", "sourceType": "script", "source": seedSource}

	for _, ct := range []string{
		"text/plain",
		"text/plain; charset=utf-8",
		"application/x-www-form-urlencoded", // curl -d without -H
		"application/xml",
		"application/astra-hookSource+json", // another resource's type
		"application/astra-executionHook",   // not +json
		"application/json; charset=latin1",
		"application/json;;",
	} {
		t.Run("refused "+ct, func(t *testing.T) {
			res := h.do(http.MethodPost, hooks, memberToken, seedHook(), "Content-Type", ct)
			res.wantProblem(t, http.StatusUnsupportedMediaType, 12, "Content-Type")
		})
	}
	for i, ct := range []string{
		"", // none: nothing claims the body is not JSON
		"application/json",
		"application/json; charset=utf-8",
		"Application/JSON; charset=UTF-8",
		"application/astra-executionHook+json",
		"application/astra-executionHook+json; version=1.3",
		"application/astra-executionHook+json; version=1.3; charset=utf-8",
	} {
		t.Run("accepted "+ct, func(t *testing.T) {
			body := seedHook()
			body["name"] = "hook " + itoa(i)
			res := h.do(http.MethodPost, hooks, memberToken, body, "Content-Type", ct)
			if res.status != http.StatusCreated {
				t.Fatalf("%d %s", res.status, res.raw)
			}
		})
	}

	// PUT, other resources, and the resource type of each.
	created := h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, source, "Content-Type", "application/astra-hookSource+json")
	if created.status != http.StatusCreated {
		t.Fatalf("%d %s", created.status, created.raw)
	}
	item := acctPath("/core/v1/hookSources/" + created.body["id"].(string))
	h.do(http.MethodPut, item, memberToken, map[string]any{"description": "x"}, "Content-Type", "text/plain").
		wantProblem(t, http.StatusUnsupportedMediaType, 12, "Content-Type")
	if res := h.do(http.MethodPut, item, memberToken, map[string]any{"type": "application/astra-hookSource", "version": "1.0", "description": "x"},
		"Content-Type", "application/astra-hookSource+json; version=1.0"); res.status != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", res.status, res.raw)
	}
	// RFS answers in its own format.
	res := h.do(http.MethodPatch, "/v1/private-hooks/Payroll/metadata", memberToken, `{"hook_description":"d"}`,
		"Client-Request-Id", "9c1f7a5e-8d1b-4c2e-9a43-0f6b1d2c3e4f", "Content-Type", "text/plain")
	res.wantRFS(t, http.StatusUnsupportedMediaType)
}

// The README's curl line: curl -d sends application/x-www-form-urlencoded
// unless told, so the README says -H 'Content-Type: application/json'.
func TestActionBodyContentType(t *testing.T) {
	t.Parallel()
	h, _ := newActionHarness(t, nil)
	snaps := acctPath("/k8s/v1/apps/" + seedAppID + "/appSnaps")
	body := `{"type":"application/astra-appSnap","version":"1.3"}`
	h.do(http.MethodPost, snaps, memberToken, body, "Content-Type", "application/x-www-form-urlencoded").
		wantProblem(t, http.StatusUnsupportedMediaType, 12, "Content-Type")
	h.do(http.MethodPost, snaps, memberToken, body, "Content-Type", "application/astra-appBackup+json").
		wantProblem(t, http.StatusUnsupportedMediaType, 12, "Content-Type")
	for _, ct := range []string{"application/json", "application/astra-appSnap+json; version=1.3"} {
		if res := h.do(http.MethodPost, snaps, memberToken, body, "Content-Type", ct); res.status != http.StatusCreated {
			t.Errorf("%s: %d %s", ct, res.status, res.raw)
		}
	}
}

func TestRFSStorageOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	if res := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook()); res.status != http.StatusCreated {
		t.Fatal(string(res.raw))
	}
	view := h.do(http.MethodGet, "/v1/private-hooks/Payroll", viewerToken, nil)
	view.wantRFS(t, http.StatusOK)

	h.env.Conn.Close() // the store's connection
	for _, res := range []response{
		h.do(http.MethodGet, "/v1/private-hooks/Payroll", viewerToken, nil),
		h.do(http.MethodPatch, "/v1/private-hooks/Payroll/metadata", memberToken, `{"hook_description":"d"}`,
			"Client-Request-Id", "9c1f7a5e-8d1b-4c2e-9a43-0f6b1d2c3e4f"),
	} {
		res.wantRFS(t, http.StatusServiceUnavailable)
		if res.body["error_code"] != "HOOKSHOT.503" || res.header.Get("Retry-After") == "" {
			t.Errorf("want HOOKSHOT.503 with Retry-After: %v %s", res.header, res.raw)
		}
	}
}
