package api_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// A snapshot's run shows both its stages with every execution: status, exit
// code, captured output. A failing hook's execution shows its exit code and
// stderr.
func TestRunOfAnAppSnap(t *testing.T) {
	t.Parallel()
	h := newFullHarness(t)
	app := h.do(http.MethodPost, acctPath("/hookshot/v1/apps"), memberToken, map[string]any{
		"type": "application/astra-app", "version": "1.0", "name": "payroll",
		"containers": []map[string]any{{"namespaceName": "payroll", "podName": "mariadb-0", "containerName": "mariadb", "containerImage": "mariadb:10.11"}},
	})
	appID := app.body["id"].(string)
	script := "#!/bin/sh\necho \"$HOOKSHOT_STAGE $1\"\n[ \"${2:-0}\" = 0 ] || echo \"failing with $2\" >&2\nexit ${2:-0}\n"
	src := h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, map[string]any{
		"type": "application/astra-hookSource", "version": "1.0", "name": "echo", "sourceType": "script",
		"source": base64.StdEncoding.EncodeToString([]byte(script)),
	})
	hook := func(name, stage string, args ...string) {
		r := h.do(http.MethodPost, acctPath("/k8s/v1/apps/"+appID+"/executionHooks"), memberToken, map[string]any{
			"type": "application/astra-executionHook", "version": "1.3", "name": name, "hookType": "custom",
			"action": "snapshot", "stage": stage, "hookSourceID": src.body["id"], "arguments": args,
		})
		if r.status != 201 {
			t.Fatal(string(r.raw))
		}
	}
	hook("freeze", "pre", "freeze")
	hook("thaw", "post", "thaw")
	snaps := acctPath("/k8s/v1/apps/" + appID + "/appSnaps")
	snapshot := func() string {
		t.Helper()
		res := h.do(http.MethodPost, snaps, memberToken, map[string]any{"type": "application/astra-appSnap", "version": "1.3"})
		if res.status != 201 {
			t.Fatal(string(res.raw))
		}
		h.waitState(res.header.Get("Location"))
		return res.body["runID"].(string)
	}
	type execution struct{ stage, hook, status, stdout, stderr string }
	executions := func(run map[string]any) []execution {
		var out []execution
		for _, s := range run["stages"].([]any) {
			st := s.(map[string]any)
			for _, e := range st["executions"].([]any) {
				ex := e.(map[string]any)
				code, _ := ex["exitCode"].(float64)
				out = append(out, execution{
					stage: st["action"].(string) + "/" + st["stage"].(string) + " " + st["hookState"].(string),
					hook:  ex["hookName"].(string), status: ex["status"].(string) + " " + itoa(int(code)),
					stdout: ex["stdout"].(map[string]any)["text"].(string), stderr: ex["stderr"].(map[string]any)["text"].(string),
				})
			}
		}
		return out
	}

	ok := snapshot()
	res := h.do(http.MethodGet, acctPath("/hookshot/v1/runs/"+ok), viewerToken, nil)
	if res.status != 200 || res.header.Get("Content-Type") != "application/hookshot-run+json" ||
		res.body["type"] != "application/hookshot-run" || res.body["id"] != ok || res.body["appID"] != appID {
		t.Fatalf("GET run: %d %v %s", res.status, res.header, res.raw)
	}
	want := []execution{
		{"snapshot/pre success", "freeze", "succeeded 0", "pre freeze\n", ""},
		{"snapshot/post success", "thaw", "succeeded 0", "post thaw\n", ""},
	}
	if got := executions(res.body); !slices.Equal(got, want) {
		t.Fatalf("executions\n got %q\nwant %q\n%s", got, want, res.raw)
	}

	hook("boom", "pre", "boom", "3")
	failed := snapshot()
	res = h.do(http.MethodGet, acctPath("/hookshot/v1/runs/"+failed), viewerToken, nil)
	want = []execution{
		{"snapshot/pre failed", "boom", "failed 3", "pre boom\n", "failing with 3\n"},
		{"snapshot/pre failed", "freeze", "succeeded 0", "pre freeze\n", ""},
		{"snapshot/post success", "thaw", "succeeded 0", "post thaw\n", ""},
	}
	if got := executions(res.body); !slices.Equal(got, want) {
		t.Fatalf("executions\n got %q\nwant %q\n%s", got, want, res.raw)
	}
	pre := res.body["stages"].([]any)[0].(map[string]any)
	if details := pre["hookStateDetails"].([]any); len(details) != 1 || !strings.Contains(details[0].(map[string]any)["detail"].(string), `"boom"`) {
		t.Fatalf("pre stage details: %v", pre)
	}

	// The list: sorted by id, with the list queries.
	list := h.do(http.MethodGet, acctPath("/hookshot/v1/runs"), viewerToken, nil)
	items, _ := list.body["items"].([]any)
	var ids []string
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	if list.status != 200 || list.body["type"] != "application/hookshot-runs" || !slices.Equal(ids, slices.Sorted(slices.Values([]string{ok, failed}))) {
		t.Fatalf("list runs: %s", list.raw)
	}
	list = h.do(http.MethodGet, acctPath("/hookshot/v1/runs?include=runID,stages&filter="+url.QueryEscape("hookState eq 'failed'")), viewerToken, nil)
	if items := list.body["items"].([]any); len(items) != 1 || items[0].([]any)[0] != failed ||
		!slices.Equal(items[0].([]any)[1].([]any), []any{"snapshot/pre failed", "snapshot/post success"}) {
		t.Fatalf("filtered list: %s", list.raw)
	}
	h.do(http.MethodGet, acctPath("/hookshot/v1/runs?sort=id"), viewerToken, nil).wantProblem(t, 400, 6, "sort")

	h.do(http.MethodGet, acctPath("/hookshot/v1/runs/no-such-run"), viewerToken, nil).wantProblem(t, 404, 1)
	h.do(http.MethodGet, acctPath("/hookshot/v1/runs/"+ok), otherToken, nil).wantProblem(t, 404, 1)
	h.do(http.MethodGet, "/accounts/"+otherAccount+"/hookshot/v1/runs/"+ok, otherToken, nil).wantProblem(t, 404, 1)
	h.do(http.MethodGet, acctPath("/hookshot/v1/runs/"+ok), "", nil).wantProblem(t, 401, 3)
	h.do(http.MethodDelete, acctPath("/hookshot/v1/runs/"+ok), adminToken, nil).wantProblem(t, 405, 69)
}

// Without a run reader the run routes say the service is not ready.
func TestRunsUnavailable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.do(http.MethodGet, acctPath("/hookshot/v1/runs"), viewerToken, nil).wantProblem(t, 503, 41)
	h.do(http.MethodGet, acctPath("/hookshot/v1/runs/run-1"), viewerToken, nil).wantProblem(t, 503, 41)
}
