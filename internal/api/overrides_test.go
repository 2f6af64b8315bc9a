package api_test

import (
	"encoding/base64"
	"net/http"
	"path/filepath"
	"testing"
)

// An override disables a netapp hook for one app: the snapshot no longer
// runs it, and enabling it again brings it back.
func TestOverridesChangeWhatRuns(t *testing.T) {
	t.Parallel()
	h := newFullHarness(t)
	trace := filepath.Join(t.TempDir(), "trace")
	app := h.do(http.MethodPost, acctPath("/hookshot/v1/apps"), memberToken, map[string]any{
		"type": "application/astra-app", "version": "1.0", "name": "db",
		"containers": []map[string]any{{"namespaceName": "ns", "podName": "p", "containerName": "pg", "containerImage": "postgres:16"}},
	})
	appID := app.body["id"].(string)
	src := h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, map[string]any{
		"type": "application/astra-hookSource", "version": "1.0", "name": "netapp-pg", "sourceType": "script",
		"source": base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho \"$HOOKSHOT_HOOK_NAME\" >> " + trace + "\n")),
	})
	hook := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), adminToken, map[string]any{
		"type": "application/astra-executionHook", "version": "1.3", "name": "netapp-pg-freeze", "hookType": "netapp",
		"action": "snapshot", "stage": "pre", "hookSourceID": src.body["id"], "appID": appID,
	})
	if hook.status != 201 {
		t.Fatal(string(hook.raw))
	}
	hookID := hook.body["id"].(string)
	overrides := acctPath("/k8s/v1/apps/" + appID + "/executionHookOverrides")
	snap := func() string {
		res := h.do(http.MethodPost, acctPath("/k8s/v1/apps/"+appID+"/appSnaps"), memberToken, map[string]any{"type": "application/astra-appSnap", "version": "1.3"})
		h.waitState(res.header.Get("Location"))
		got := readTrace(t, trace)
		return got
	}
	if got := snap(); got != "netapp-pg-freeze\n" {
		t.Fatalf("without override: %q", got)
	}

	ov := h.do(http.MethodPost, overrides, memberToken, map[string]any{"type": "application/astra-executionHookOverride", "version": "1.0", "executionHookID": hookID, "enabled": "false"})
	if ov.status != 201 || ov.body["appID"] != appID || ov.body["enabled"] != "false" {
		t.Fatalf("create override: %s", ov.raw)
	}
	if got := snap(); got != "netapp-pg-freeze\n" {
		t.Fatalf("the disabled hook ran again: %q", got)
	}
	// One override per app and hook.
	h.do(http.MethodPost, overrides, memberToken, map[string]any{"type": "application/astra-executionHookOverride", "version": "1.0", "executionHookID": hookID, "enabled": "true"}).wantProblem(t, 409, 10, "executionHookID")
	if r := h.do(http.MethodPut, ov.header.Get("Location"), memberToken, map[string]any{"type": "application/astra-executionHookOverride", "version": "1.0", "enabled": "true"}); r.status != 204 {
		t.Fatal(string(r.raw))
	}
	if got := snap(); got != "netapp-pg-freeze\nnetapp-pg-freeze\n" {
		t.Fatalf("re-enabled hook did not run: %q", got)
	}
	list := h.do(http.MethodGet, overrides, viewerToken, nil)
	if items := list.body["items"].([]any); len(items) != 1 || list.body["type"] != "application/astra-executionHookOverrides" {
		t.Fatalf("list: %s", list.raw)
	}
	if r := h.do(http.MethodDelete, ov.header.Get("Location"), memberToken, nil); r.status != 204 {
		t.Fatal(string(r.raw))
	}
	h.do(http.MethodGet, ov.header.Get("Location"), viewerToken, nil).wantProblem(t, 404, 1)

	// Only netapp hooks can be overridden.
	custom := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, map[string]any{
		"type": "application/astra-executionHook", "version": "1.3", "name": "custom", "hookType": "custom",
		"action": "snapshot", "stage": "post", "hookSourceID": src.body["id"], "appID": appID,
	})
	h.do(http.MethodPost, overrides, memberToken, map[string]any{"type": "application/astra-executionHookOverride", "version": "1.0", "executionHookID": custom.body["id"], "enabled": "false"}).wantProblem(t, 400, 9, "executionHookID")
	h.do(http.MethodPost, overrides, memberToken, map[string]any{"type": "application/astra-executionHookOverride", "version": "2.0", "executionHookID": "x", "enabled": "maybe", "colour": 1}).wantProblem(t, 400, 8, "version", "colour")
}

// A GET answers in the version the Accept header asks for; one the resource
// does not have is 404/30.
func TestVersionNegotiation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	res := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, func() map[string]any { b := seedHook(); b["version"] = "1.1"; return b }())
	if res.status != 201 || res.body["version"] != "1.1" {
		t.Fatalf("POST answers in the body's version: %s", res.raw)
	}
	path := res.header.Get("Location")
	if got := h.do(http.MethodGet, path, viewerToken, nil); got.body["version"] != "1.3" {
		t.Fatalf("GET without Accept: %s", got.raw)
	}
	if got := h.do(http.MethodGet, path, viewerToken, nil, "Accept", "application/astra-executionHook+json; version=1.0"); got.body["version"] != "1.0" {
		t.Fatalf("GET with Accept version 1.0: %s", got.raw)
	}
	h.do(http.MethodGet, path, viewerToken, nil, "Accept", "application/astra-executionHook+json; version=9.9").wantProblem(t, 404, 30, "Accept")
}
