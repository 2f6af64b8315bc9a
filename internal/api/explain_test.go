package api_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// explain says, hook by hook, whether it would run and why not: which
// criterion failed on which container, disabled, overridden, another stage.
func TestExplain(t *testing.T) {
	t.Parallel()
	h := newFullHarness(t)
	app := h.do(http.MethodPost, acctPath("/hookshot/v1/apps"), memberToken, map[string]any{
		"type": "application/astra-app", "version": "1.0", "name": "shop",
		"containers": []map[string]any{
			{"namespaceName": "prod", "podName": "web-0", "containerName": "nginx", "containerImage": "nginx:1.27", "podLabels": []map[string]string{{"name": "app", "value": "web"}}},
			{"namespaceName": "prod", "podName": "db-0", "containerName": "mysql", "containerImage": "mysql:8.4", "podLabels": []map[string]string{{"name": "app", "value": "db"}}},
		},
	})
	appID := app.body["id"].(string)
	src := h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, map[string]any{
		"type": "application/astra-hookSource", "version": "1.0", "name": "noop", "sourceType": "script",
		"source": base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\ntrue\n")),
	})
	hook := func(token string, body map[string]any) string {
		t.Helper()
		base := map[string]any{"type": "application/astra-executionHook", "version": "1.3", "hookType": "custom",
			"action": "snapshot", "stage": "pre", "hookSourceID": src.body["id"], "appID": appID}
		for k, v := range body {
			base[k] = v
		}
		r := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), token, base)
		if r.status != 201 {
			t.Fatal(string(r.raw))
		}
		return r.body["id"].(string)
	}
	crit := func(typ, value string) []map[string]string { return []map[string]string{{"type": typ, "value": value}} }
	hook(memberToken, map[string]any{"name": "freeze", "matchingCriteria": crit("containerImage", `\bmysql\b`)})
	hook(memberToken, map[string]any{"name": "cache-only", "matchingCriteria": append(crit("namespaceName", "^prod$"), crit("podLabel", "^app=cache$")...)})
	hook(memberToken, map[string]any{"name": "old-freeze", "enabled": "false", "matchingCriteria": crit("containerImage", `\bmysql\b`)})
	hook(memberToken, map[string]any{"name": "thaw", "stage": "post"})
	netapp := hook(adminToken, map[string]any{"name": "netapp-freeze", "hookType": "netapp"})
	if r := h.do(http.MethodPost, acctPath("/k8s/v1/apps/"+appID+"/executionHookOverrides"), memberToken, map[string]any{
		"type": "application/astra-executionHookOverride", "version": "1.0", "executionHookID": netapp, "enabled": "false",
	}); r.status != 201 {
		t.Fatal(string(r.raw))
	}

	path := acctPath("/k8s/v1/apps/" + appID + "/explain?action=snapshot&stage=pre")
	type verdict struct{ hook, reason, containers string }
	var got []verdict
	// One request: explain waits for the engine's index to catch up with the
	// hooks just written.
	res := h.do(http.MethodGet, path, viewerToken, nil)
	if res.status != 200 {
		t.Fatalf("explain: %d %s", res.status, res.raw)
	}
	for _, x := range res.body["hooks"].([]any) {
		hx := x.(map[string]any)
		var cs []string
		for _, c := range hx["containers"].([]any) {
			cv := c.(map[string]any)
			name := cv["container"].(map[string]any)["podName"].(string)
			if cv["matched"] == true {
				cs = append(cs, name+" matched")
			} else {
				fc := cv["failedCriterion"].(map[string]any)
				cs = append(cs, name+" "+fc["type"].(string)+"#"+itoa(int(fc["index"].(float64))))
			}
		}
		got = append(got, verdict{hx["hookName"].(string), hx["reason"].(string) + " " + strconv.FormatBool(hx["wouldRun"] == true), strings.Join(cs, ", ")})
	}
	want := []verdict{
		{"cache-only", "no-container-matched false", "db-0 podLabel#1, web-0 podLabel#1"},
		{"freeze", "matched true", "db-0 matched, web-0 containerImage#0"},
		{"netapp-freeze", "overridden false", "db-0 matched, web-0 matched"},
		{"old-freeze", "disabled false", "db-0 matched, web-0 containerImage#0"},
		{"thaw", "other-action-stage false", "db-0 matched, web-0 matched"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("explain\n got %q\nwant %q\n%s", got, want, res.raw)
	}
	if res.header.Get("Content-Type") != "application/hookshot-explanation+json" || res.body["type"] != "application/hookshot-explanation" ||
		res.body["version"] != "1.0" || res.body["appID"] != appID || res.body["action"] != "snapshot" || res.body["stage"] != "pre" {
		t.Fatalf("explanation envelope: %v %s", res.header, res.raw)
	}
	// Containers come sorted: db-0 before web-0.
	if cs := res.body["containers"].([]any); len(cs) != 2 || cs[0].(map[string]any)["podName"] != "db-0" {
		t.Fatalf("containers: %v", cs)
	}
	miss := res.body["hooks"].([]any)[0].(map[string]any)["containers"].([]any)[0].(map[string]any)
	if d := miss["detail"].(string); !strings.Contains(d, "^app=cache$") || !strings.Contains(d, "app=db") {
		t.Fatalf("detail of a miss: %q", d)
	}

	explain := acctPath("/k8s/v1/apps/" + appID + "/explain")
	tests := []struct {
		name   string
		query  string
		status int
		number int
		params []string
	}{
		{name: "missing both", query: "", status: 400, number: 5, params: []string{"action", "stage"}},
		{name: "unknown action", query: "?action=clone&stage=pre", status: 400, number: 5, params: []string{"action"}},
		{name: "unknown stage", query: "?action=snapshot&stage=during", status: 400, number: 5, params: []string{"stage"}},
		{name: "no such pair", query: "?action=restore&stage=pre", status: 400, number: 5, params: []string{"stage"}},
		{name: "twice", query: "?action=snapshot&action=backup&stage=pre", status: 400, number: 5, params: []string{"action"}},
		{name: "unsupported parameter", query: "?action=snapshot&stage=pre&verbose=1", status: 400, number: 6, params: []string{"verbose"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.do(http.MethodGet, explain+tt.query, viewerToken, nil).wantProblem(t, tt.status, tt.number, tt.params...)
		})
	}
	h.do(http.MethodGet, acctPath("/k8s/v1/apps/2f1a9a8e-2b3c-4d5e-8f90-123456789abc/explain?action=snapshot&stage=pre"), viewerToken, nil).wantProblem(t, 404, 1)
	h.do(http.MethodGet, "/accounts/"+otherAccount+"/k8s/v1/apps/"+appID+"/explain?action=snapshot&stage=pre", otherToken, nil).wantProblem(t, 404, 1)
}
