package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/matcher"
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

// Listing hooks evaluates each hook's criteria once: matchingContainers and
// matchingImages come from the same evaluation (issue 10, bug 5: each hook
// was matched twice).
func TestHookViewsEvaluateCriteriaOnce(t *testing.T) {
	t.Parallel()
	ix := matcher.NewIndex(matcher.Config{})
	h := newHarnessWith(t, natstest.Start(t), api.Config{Matcher: ix})
	app := h.do(http.MethodPost, acctPath("/hookshot/v1/apps"), memberToken, map[string]any{
		"type": "application/astra-app", "version": "1.0", "name": "shop",
		"containers": []map[string]any{
			{"namespaceName": "prod", "podName": "db-0", "containerName": "mysql", "containerImage": "mysql:8.4"},
			{"namespaceName": "prod", "podName": "db-1", "containerName": "mysql", "containerImage": "mysql:8.4"},
			{"namespaceName": "prod", "podName": "web-0", "containerName": "nginx", "containerImage": "nginx:1.27"},
		},
	})
	if app.status != 201 {
		t.Fatal(string(app.raw))
	}
	appID := app.body["id"].(string)
	hook := matchingFixture(t, h, appID)

	// Each request below must evaluate this many hooks, no more.
	tests := []struct {
		name  string
		do    func() response
		hooks int64
	}{
		{"create", func() response {
			id := hook("a-mysql", [2]string{"containerImage", `\bmysql\b`})
			return h.do(http.MethodGet, acctPath("/core/v1/executionHooks/"+id), viewerToken, nil)
		}, 2},
		{"create another", func() response { hook("b-all"); return response{status: 200} }, 1},
		{"create a third", func() response { hook("c-none", [2]string{"podName", "^cache-"}); return response{status: 200} }, 1},
		{"list", func() response { return h.do(http.MethodGet, acctPath("/core/v1/executionHooks"), viewerToken, nil) }, 3},
		{"list the app's", func() response {
			return h.do(http.MethodGet, acctPath("/k8s/v1/apps/"+appID+"/executionHooks"), viewerToken, nil)
		}, 3},
	}
	for _, tt := range tests {
		before := ix.Evaluations()
		if r := tt.do(); r.status != 200 {
			t.Fatalf("%s: %d %s", tt.name, r.status, r.raw)
		}
		if got := ix.Evaluations() - before; got != tt.hooks {
			t.Errorf("%s evaluated hooks %d times, want %d", tt.name, got, tt.hooks)
		}
	}

	// And the answer is still right.
	list := h.do(http.MethodGet, acctPath("/core/v1/executionHooks"), viewerToken, nil)
	got := map[string]string{}
	for _, it := range list.body["items"].([]any) {
		m := it.(map[string]any)
		var pods []string
		for _, c := range m["matchingContainers"].([]any) {
			pods = append(pods, c.(map[string]any)["podName"].(string))
		}
		got[m["name"].(string)] = fmt.Sprint(pods, m["matchingImages"])
	}
	want := map[string]string{
		"a-mysql": "[db-0 db-1] [mysql:8.4]",
		"b-all":   "[db-0 db-1 web-0] [mysql:8.4 nginx:1.27]",
		"c-none":  "[] []",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: matchingContainers, matchingImages = %s, want %s", name, got[name], w)
		}
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
