package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// matchingFixture creates a source and returns a function that creates a
// custom pre-snapshot hook of app with the given name and criteria.
func matchingFixture(t *testing.T, h *harness, app string) func(name string, criteria ...[2]string) string {
	t.Helper()
	src := h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, map[string]any{
		"type": "application/astra-hookSource", "version": "1.0", "name": "noop", "sourceType": "script",
		"source": base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\ntrue\n")),
	})
	if src.status != 201 {
		t.Fatal(string(src.raw))
	}
	return func(name string, criteria ...[2]string) string {
		t.Helper()
		cs := []map[string]string{}
		for _, c := range criteria {
			cs = append(cs, map[string]string{"type": c[0], "value": c[1]})
		}
		r := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, map[string]any{
			"type": "application/astra-executionHook", "version": "1.3", "hookType": "custom", "name": name,
			"action": "snapshot", "stage": "pre", "hookSourceID": src.body["id"], "appID": app, "matchingCriteria": cs,
		})
		if r.status != 201 {
			t.Fatal(string(r.raw))
		}
		return r.body["id"].(string)
	}
}

// Explain of 10 hooks with catastrophic patterns (for a backtracking
// engine) on 20 containers as long as the limits allow answers RE2's
// verdicts: no criteria-error, no timeout (issue 10, bug 5: 40 s).
func TestExplainCatastrophicPatterns(t *testing.T) {
	t.Parallel()
	h := newFullHarness(t)
	run := strings.Repeat("a", 240)
	var containers []map[string]any
	matching := map[string]bool{}
	for i := range 20 {
		c := map[string]any{
			"namespaceName": "prod", "podName": fmt.Sprintf("%s-%02d", run, i), "containerName": run + "!",
			"containerImage": strings.Repeat("a", 19) + strings.Repeat("b", 1000),
			"podLabels":      []map[string]string{{"name": "app", "value": run + "b"}},
		}
		if i%5 == 0 {
			c["podName"], c["containerName"] = fmt.Sprintf("%02d-%s", i, run), run
			c["containerImage"] = strings.Repeat("ab", 500)
			c["podLabels"] = []map[string]string{{"name": "app", "value": run}}
			matching[c["podName"].(string)] = true
		}
		containers = append(containers, c)
	}
	app := h.do(http.MethodPost, acctPath("/hookshot/v1/apps"), memberToken, map[string]any{
		"type": "application/astra-app", "version": "1.0", "name": "evil", "containers": containers,
	})
	if app.status != 201 {
		t.Fatal(string(app.raw))
	}
	appID := app.body["id"].(string)
	hook := matchingFixture(t, h, appID)
	patterns := [][2]string{
		{"podName", `(a+)+$`}, {"containerName", `(a|aa)+$`}, {"containerImage", `(.*a){20}`},
		{"podLabel", `^app=(a+)+$`}, {"containerName", `^(a|a?)+$`},
	}
	for i := range 10 {
		p := patterns[i%len(patterns)]
		if i >= len(patterns) { // the same patterns, anchored differently
			p[1] = "(?:" + p[1] + ")"
		}
		hook(fmt.Sprintf("evil-%02d", i), p)
	}

	res := h.do(http.MethodGet, acctPath("/k8s/v1/apps/"+appID+"/explain?action=snapshot&stage=pre"), viewerToken, nil)
	if res.status != 200 {
		t.Fatalf("explain: %d %s", res.status, res.raw)
	}
	hooks := res.body["hooks"].([]any)
	if len(hooks) != 10 {
		t.Fatalf("%d hooks explained, want 10", len(hooks))
	}
	for _, x := range hooks {
		hx := x.(map[string]any)
		name := hx["hookName"].(string)
		if hx["reason"] != "matched" || hx["wouldRun"] != true || hx["message"] != "would run on 4 of 20 containers" {
			t.Errorf("%s: %v %v %q", name, hx["reason"], hx["wouldRun"], hx["message"])
		}
		var got []string
		for _, c := range hx["containers"].([]any) {
			cv := c.(map[string]any)
			if cv["matched"] == true {
				got = append(got, cv["container"].(map[string]any)["podName"].(string))
			}
		}
		var want []string
		for pod := range matching {
			want = append(want, pod)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s matched %q, want %q", name, got, want)
		}
	}
}
