package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
)

func (r response) wantRFS(t *testing.T, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if status >= 400 && (r.body["error_code"] == nil || r.body["error_code"] == "" || r.body["error_msg"] == "") {
		t.Fatalf("not an RFS error body: %s", r.raw)
	}
}

func TestRFSPrivateHookMetadata(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	res := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook())
	if res.status != 201 {
		t.Fatal(string(res.raw))
	}
	id := res.body["id"].(string)
	hookPath := acctPath("/core/v1/executionHooks/" + id)
	meta := "/v1/private-hooks/Payroll/metadata"
	reqID := []string{"Client-Request-Id", "9c1f7a5e-8d1b-4c2e-9a43-0f6b1d2c3e4f"}
	patch := func(token string, body any, headers ...string) response {
		return h.do(http.MethodPatch, meta, token, body, append(append([]string{}, reqID...), headers...)...)
	}

	// The seed's examples, one by one and together.
	patch(memberToken, map[string]any{"hook_description": "my first private hook"}).wantRFS(t, 204)
	if got := h.do(http.MethodGet, hookPath, viewerToken, nil); got.body["description"] != "my first private hook" {
		t.Fatalf("description not updated: %s", got.raw)
	}
	patch(memberToken, map[string]any{"configuration": map[string]any{"target_stacks": "NONE", "failure_mode": "FAIL"}}).wantRFS(t, 204)
	got := h.do(http.MethodGet, hookPath, viewerToken, nil)
	if got.body["enabled"] != "false" || got.body["failureMode"] != "FAIL" || got.body["description"] != "my first private hook" {
		t.Fatalf("configuration not applied incrementally: %s", got.raw)
	}
	patch(memberToken, map[string]any{"hook_id": id, "hook_description": "again", "configuration": map[string]any{"target_stacks": "ALL"}}).wantRFS(t, 204)

	// Versions: changing the arguments makes 1.0.1 the default; rolling back
	// to 1.0.0 restores them.
	if r := h.do(http.MethodPut, hookPath, memberToken, map[string]any{"type": "application/astra-executionHook", "version": "1.3", "arguments": []string{"thaw"}}); r.status != 204 {
		t.Fatal(string(r.raw))
	}
	view := h.do(http.MethodGet, "/v1/private-hooks/Payroll", viewerToken, nil)
	if view.body["default_version"] != "1.0.1" || len(view.body["versions"].([]any)) != 2 || view.body["hook_id"] != id {
		t.Fatalf("versions: %s", view.raw)
	}
	patch(memberToken, map[string]any{"default_version": "1.0.0"}).wantRFS(t, 204)
	if got := h.do(http.MethodGet, hookPath, viewerToken, nil); fmt.Sprint(got.body["arguments"]) != "[freeze]" {
		t.Fatalf("rollback did not restore the arguments: %s", got.raw)
	}

	// Errors, in RFS's format.
	h.do(http.MethodPatch, meta, memberToken, map[string]any{"hook_description": "x"}).wantRFS(t, 400) // no Client-Request-Id
	patch(memberToken, map[string]any{}).wantRFS(t, 400)                                               // updates nothing
	patch(memberToken, map[string]any{"configuration": map[string]any{}}).wantRFS(t, 400)              // still nothing
	patch(memberToken, map[string]any{"hook_id": "11111111-1111-4111-8111-111111111111", "hook_description": "x"}).wantRFS(t, 400)
	patch(memberToken, map[string]any{"configuration": map[string]any{"target_stacks": "SOME"}}).wantRFS(t, 400)
	patch(memberToken, map[string]any{"configuration": map[string]any{"failure_mode": "IGNORE"}}).wantRFS(t, 400)
	patch(memberToken, map[string]any{"hook_description": "x", "colour": "red"}).wantRFS(t, 400)
	patch(memberToken, `{"hook_description":`).wantRFS(t, 400)
	patch(memberToken, map[string]any{"default_version": "9.9.9"}).wantRFS(t, 404)
	h.do(http.MethodPatch, "/v1/private-hooks/NoSuchHook/metadata", memberToken, map[string]any{"hook_description": "x"}, reqID...).wantRFS(t, 404)
	patch(memberToken, map[string]any{"hook_description": "x"}, "If-Match", `"1"`).wantRFS(t, 409)
	patch(viewerToken, map[string]any{"hook_description": "x"}).wantRFS(t, 403)
	patch("", map[string]any{"hook_description": "x"}).wantRFS(t, 401)
	patch("no-such-token-at-all", map[string]any{"hook_description": "x"}).wantRFS(t, 401)
	// Another account's token does not see the hook.
	patch(otherToken, map[string]any{"hook_description": "x"}).wantRFS(t, 404)
	h.do(http.MethodPut, meta, memberToken, nil, reqID...).wantRFS(t, 405)
}

func TestRFSRateLimitPerToken(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, natstest.Start(t), api.Config{RFSRate: 1}) // bursts of 3
	h.seedRefs()
	if r := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook()); r.status != 201 {
		t.Fatal(string(r.raw))
	}
	codes := map[int]int{}
	for range 10 {
		codes[h.do(http.MethodPatch, "/v1/private-hooks/Payroll/metadata", memberToken, map[string]any{"hook_description": "x"}, "Client-Request-Id", "r").status]++
	}
	if codes[204] == 0 || codes[429] == 0 || codes[204]+codes[429] != 10 {
		t.Fatalf("10 quick requests: %v", codes)
	}
	// Another token has its own bucket.
	h.do(http.MethodPatch, "/v1/private-hooks/Payroll/metadata", adminToken, map[string]any{"hook_description": "y"}, "Client-Request-Id", "r").wantRFS(t, 204)
}
