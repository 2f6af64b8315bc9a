package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// TestHookNamesPerApp: a custom hook's name is unique within its app, so
// the seed hook copied to another app keeps its name; RFS, which addresses
// hooks by name, asks for hook_id when a name is ambiguous.
func TestHookNamesPerApp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	const otherApp = "3f6c2a51-9b7e-4d7a-8c1e-2b5d6f7a8c90"
	ctx := natstest.Context(t, 10*time.Second)
	if _, err := h.store.SaveApp(ctx, account, store.App{ID: otherApp, Name: "payroll-dr"}, "test"); err != nil {
		t.Fatal(err)
	}
	first := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook())
	if first.status != 201 {
		t.Fatal(string(first.raw))
	}
	copied := seedHook()
	copied["appID"] = otherApp
	second := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, copied)
	if second.status != 201 {
		t.Fatalf("the same name in another app: %s", second.raw)
	}
	h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook()).wantProblem(t, 409, 10, "name")

	reqID := []string{"Client-Request-Id", "9c1f7a5e-8d1b-4c2e-9a43-0f6b1d2c3e4f"}
	meta := "/v1/private-hooks/Payroll/metadata"
	amb := h.do(http.MethodPatch, meta, memberToken, map[string]any{"hook_description": "x"}, reqID...)
	amb.wantRFS(t, 409)
	if msg, _ := amb.body["error_msg"].(string); !strings.Contains(msg, "hook_id") || !strings.Contains(msg, otherApp) {
		t.Errorf("ambiguous name: %s", amb.raw)
	}
	id := second.body["id"].(string)
	h.do(http.MethodPatch, meta, memberToken, map[string]any{"hook_id": id, "hook_description": "the copy"}, reqID...).wantRFS(t, 204)
	if got := h.do(http.MethodGet, acctPath("/core/v1/executionHooks/"+id), viewerToken, nil); got.body["description"] != "the copy" {
		t.Errorf("hook_id did not pick the copy: %s", got.raw)
	}
}
