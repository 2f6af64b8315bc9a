package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// hsAPI sets a test server up through its HTTP API.
type hsAPI struct {
	t   *testing.T
	url string
}

// call sends body (JSON) with the admin token and decodes the answer,
// failing the test unless the status is want.
func (a hsAPI) call(method, path string, body any, want int) map[string]any {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.url+"/accounts/default"+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// app registers an app with inventory (JSON) and returns its id.
func (a hsAPI) app(name, inventory string) string {
	a.t.Helper()
	var cs []map[string]any
	if err := json.Unmarshal([]byte(inventory), &cs); err != nil {
		a.t.Fatal(err)
	}
	return a.call(http.MethodPost, "/hookshot/v1/apps", map[string]any{"type": "application/astra-app", "version": "1.0", "name": name, "containers": cs}, 201)["id"].(string)
}

// source stores a script and returns its id.
func (a hsAPI) source(name, script string) string {
	a.t.Helper()
	return a.call(http.MethodPost, "/core/v1/hookSources", map[string]any{"type": "application/astra-hookSource", "version": "1.0",
		"name": name, "sourceType": "script", "source": base64.StdEncoding.EncodeToString([]byte(script))}, 201)["id"].(string)
}

// hook creates an execution hook from fields over defaults (custom, the
// app, snapshot/pre) and returns its id.
func (a hsAPI) hook(app, source string, fields map[string]any) string {
	a.t.Helper()
	body := map[string]any{"type": "application/astra-executionHook", "version": "1.3", "hookType": "custom",
		"appID": app, "action": "snapshot", "stage": "pre", "hookSourceID": source}
	for k, v := range fields {
		body[k] = v
	}
	return a.call(http.MethodPost, "/core/v1/executionHooks", body, 201)["id"].(string)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to write it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it)\n--- got\n%s\n--- want\n%s", path, t.Name(), got, want)
	}
}

const dbInventory = `[{"namespaceName":"prod","podName":"db-0","containerName":"mysql","containerImage":"mysql:8.4","podLabels":[{"name":"app","value":"db"}]},
 {"namespaceName":"prod","podName":"web-0","containerName":"nginx","containerImage":"nginx:1.27","podLabels":[{"name":"app","value":"web"}]}]`

// echoScript prints "<stage> <arg1>", fails with arg2 as exit code (and a
// line on stderr) when given, and sleeps arg3 seconds first when given.
const echoScript = `#!/bin/sh
[ -n "$3" ] && sleep "$3"
echo "$HOOKSHOT_STAGE $1"
if [ "${2:-0}" != 0 ]; then echo "failing with $2" >&2; exit "$2"; fi
`

// snapshot, backup, restore and failover through the CLI, with --wait and
// without, and what runs list and runs get show of them afterwards.
func TestLifecycleCommandsAndRuns(t *testing.T) {
	_, apiURL := startServerWithAPI(t)
	api := hsAPI{t, apiURL}
	ctx := context.Background()
	hs := cliAgainst(t, ctx, apiURL)

	app := api.app("payroll", dbInventory)
	src := api.source("echo", echoScript)
	mysql := []map[string]string{{"type": "containerImage", "value": `\bmysql\b`}}
	api.hook(app, src, map[string]any{"name": "freeze", "arguments": []string{"freeze"}, "matchingCriteria": mysql})
	api.hook(app, src, map[string]any{"name": "thaw", "stage": "post", "arguments": []string{"thaw"}, "matchingCriteria": mysql})

	// 1. Everything succeeds: one line per start and end, the outcome, exit 0.
	code, out, errOut := hs("snapshot", app, "--name", "first", "--wait")
	if code != cli.ExitOK {
		t.Fatalf("snapshot --wait: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, re := range []string{
		`(?m)^snapshot/pre  +freeze +prod/db-0/mysql +succeeded \d+\.\d\ds$`,
		`(?m)^snapshot/pre  +stage success$`,
		`(?m)^snapshot/post +thaw +prod/db-0/mysql +succeeded \d+\.\d\ds$`,
		`(?m)^snapshot first \([0-9a-f-]{36}\) completed, hookState success\n\z`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("snapshot --wait output does not match %s:\n%s", re, out)
		}
	}

	// 2. A WARN hook fails: completed, hookState failed, exit 2, the hook's exit code shown.
	boom := api.hook(app, src, map[string]any{"name": "boom", "arguments": []string{"boom", "3"}, "matchingCriteria": mysql})
	code, out, errOut = hs("snapshot", app, "--name", "warned", "--wait")
	if code != cli.ExitHookFailed || !regexp.MustCompile(`(?m)^snapshot/pre +boom +prod/db-0/mysql +failed exit 3 \d+\.\d\ds$`).MatchString(out) ||
		!strings.Contains(out, "completed, hookState failed\n") || !strings.Contains(out, `  hook "boom" failed in container prod/db-0/mysql (image mysql:8.4): exit code 3; stderr: failing with 3`) ||
		!strings.Contains(errOut, "hookshot: snapshot warned completed, hookState failed") {
		t.Fatalf("snapshot with a failing WARN hook: exit %d\n%s\n%s", code, out, errOut)
	}
	warnedRun := regexp.MustCompile(`warned \(([0-9a-f-]{36})\)`).FindStringSubmatch(out)[1] // an action's run ID is its id

	// 3. The same hook in FAIL mode: the action fails, exit 2, stateUnready says why.
	api.call(http.MethodPut, "/core/v1/executionHooks/"+boom, map[string]any{"type": "application/astra-executionHook", "version": "1.3", "failureMode": "FAIL"}, 204)
	code, out, _ = hs("snapshot", app, "--wait")
	if code != cli.ExitHookFailed || !strings.Contains(out, "stage failed (abortAction: the action is not taken)") ||
		!regexp.MustCompile(`\) failed, hookState failed\n  unready: .*boom`).MatchString(out) {
		t.Fatalf("snapshot with a failing FAIL hook: exit %d\n%s", code, out)
	}
	api.call(http.MethodDelete, "/core/v1/executionHooks/"+boom, nil, 204)

	// 4. Without --wait: the created resource; -o json for scripts.
	code, out, _ = hs("backup", app, "--name", "nightly", "-o", "json")
	var created map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil || created["name"] != "nightly" || created["state"] != "pending" || created["runID"] == "" {
		t.Fatalf("backup: exit %d\n%s", code, out)
	}
	if code, out, _ = hs("restore", app); code != 0 || !regexp.MustCompile(`(?s)^ID +NAME +STATE +RUN\n[0-9a-f-]{36} +restore-\d+ +pending +[0-9a-f-]{36}\n$`).MatchString(out) {
		t.Fatalf("restore: exit %d\n%q", code, out)
	}

	// 5. --wait -o json: progress on stderr, the final resource alone on stdout.
	code, out, errOut = hs("failover", app, "--wait", "-o", "json")
	var final map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &final) != nil || final["state"] != "completed" || final["hookState"] != "success" ||
		!strings.Contains(errOut, "failover/post  stage success (no hook matched)") {
		t.Fatalf("failover --wait -o json: exit %d\n%s\n%s", code, out, errOut)
	}

	// 6. Errors: exit 1 with the server's problem.
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown app", []string{"snapshot", "2f1a9a8e-2b3c-4d5e-8f90-123456789abc", "--wait"}, `app "2f1a9a8e-2b3c-4d5e-8f90-123456789abc" not found`},
		{"unknown snapshot", []string{"backup", app, "--snapshot-id", "2f1a9a8e-2b3c-4d5e-8f90-123456789abc"}, "snapshotID: no snapshot of this app with this id"},
		{"bad name", []string{"snapshot", app, "--name", "Not A DNS Label"}, "name:"},
		{"no app", []string{"restore"}, "accepts 1 arg(s), received 0"},
	} {
		code, _, errOut := hs(tc.args...)
		if code != cli.ExitError || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want 1 and %q", tc.name, code, errOut, tc.want)
		}
	}

	// 7. --timeout: exit 1, the action goes on.
	api.hook(app, src, map[string]any{"name": "slow", "action": "failover", "stage": "post", "arguments": []string{"slow", "0", "10"}, "matchingCriteria": mysql})
	code, out, errOut = hs("failover", app, "--name", "slow", "--wait", "--timeout", "2s")
	if code != cli.ExitError || !strings.Contains(errOut, "failover slow still running after 2s; it goes on (hookshot runs get ") ||
		!regexp.MustCompile(`(?m)^failover/post +slow +prod/db-0/mysql +running$`).MatchString(out) {
		t.Fatalf("restore --timeout: exit %d\n%s\n%s", code, out, errOut)
	}

	// runs list: newest first; --limit; -o json.
	code, out, _ = hs("runs", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || !strings.HasPrefix(lines[0], "RUN ") || len(lines) != 8 || !strings.Contains(out, warnedRun) ||
		!regexp.MustCompile(`^\S+ +`+app+` +\S+ +running +failover/post running$`).MatchString(lines[1]) {
		t.Fatalf("runs list: exit %d\n%s", code, out)
	}
	if strings.Index(out, warnedRun) < strings.Index(out, "failover/post success") {
		t.Errorf("runs list is not newest first:\n%s", out)
	}
	if code, out, _ = hs("runs", "list", "--limit", "2"); code != 0 || strings.Count(out, "\n") != 3 {
		t.Fatalf("runs list --limit 2: exit %d\n%s", code, out)
	}
	code, out, _ = hs("runs", "list", "-o", "json", "--limit", "0")
	var summaries []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &summaries) != nil || len(summaries) != 7 {
		t.Fatalf("runs list -o json: exit %d\n%s", code, out)
	}

	// runs get: the tables (golden, times and durations normalised) with
	// --no-output, the output by default, everything in yaml.
	code, out, errOut = hs("runs", "get", warnedRun, "--no-output")
	if code != 0 {
		t.Fatalf("runs get: exit %d\n%s", code, errOut)
	}
	golden(t, "runs-get.golden", normaliseRun(out, warnedRun, app))
	if strings.Contains(out, "\n--- ") {
		t.Errorf("runs get --no-output printed output:\n%s", out)
	}
	code, out, _ = hs("runs", "get", warnedRun)
	for _, want := range []string{
		"\n--- snapshot/pre boom prod/db-0/mysql: stdout\npre boom\n",
		"\n--- snapshot/pre boom prod/db-0/mysql: stderr\nfailing with 3\n",
		"\n--- snapshot/post thaw prod/db-0/mysql: stdout\npost thaw\n",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("runs get: exit %d, no %q in\n%s", code, want, out)
		}
	}
	if code, out, _ = hs("runs", "get", warnedRun, "-o", "yaml"); code != 0 || !strings.Contains(out, "text: |\n") || !strings.Contains(out, "failing with 3") ||
		!strings.Contains(out, "type: application/hookshot-run") {
		t.Fatalf("runs get -o yaml: exit %d\n%s", code, out)
	}
	if code, _, errOut = hs("runs", "get", "no-such-run"); code != cli.ExitError || !strings.Contains(errOut, "Resource not found (404)") {
		t.Fatalf("runs get of an unknown run: exit %d\n%s", code, errOut)
	}
}

var (
	rfc3339  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	duration = regexp.MustCompile(`\b\d\.\d\ds\b`)
)

// normaliseRun replaces what changes from run to run with placeholders of
// the same width, so the table's alignment is kept.
func normaliseRun(out, runID, app string) string {
	out = strings.ReplaceAll(out, runID, "RUN_ID")
	out = strings.ReplaceAll(out, app, "APP_ID")
	out = rfc3339.ReplaceAllString(out, "YYYY-MM-DDTHH:MM:SSZ")
	return duration.ReplaceAllString(out, "0.00s")
}
