package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
)

// scenarioExample is a shipped example scenario.
func scenarioExample(name string) string {
	return filepath.Join("..", "..", "..", "examples", "scenarios", name)
}

// scenarioFailing is a valid scenario whose expectation is wrong: the hook
// exits 3, the scenario says 0.
const scenarioFailing = `name: expects the wrong exit code
apps:
  - name: db
    containers:
      - {namespace: ns, pod: db-0, container: mysql, image: "mysql:8.4"}
sources:
  - {name: fail, script: "exit 3\n"}
hooks:
  - {name: freeze, app: db, action: snapshot, stage: pre, source: fail, failureMode: FAIL}
steps:
  - name: freeze fails under FAIL
    action: snapshot
    app: db
    expect:
      executions:
        - {hook: freeze, container: db-0/mysql, exitCode: 0}
`

func scenarioFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestScenarioRunExamplePasses(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t, 2*time.Minute)
	code, out, errOut := run(t, ctx, "scenario", "run", scenarioExample("freeze-thaw.yaml"), scenarioExample("backup-stage-order.yaml"))
	if code != 0 || !strings.Contains(out, "PASS  "+scenarioExample("freeze-thaw.yaml")) || !strings.Contains(out, "2 of 2 scenarios passed") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = run(t, ctx, "scenario", "run", "-o", "json", scenarioExample("freeze-thaw.yaml"))
	if code != 0 || !strings.Contains(out, `"passed": true`) || !strings.Contains(out, `"hook": "freeze"`) {
		t.Fatalf("-o json: exit %d\n%s", code, out)
	}
}

func TestScenarioRunFailingExpectationExits2(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t, 2*time.Minute)
	path := scenarioFile(t, t.TempDir(), "failing.yaml", scenarioFailing)
	code, out, errOut := run(t, ctx, "scenario", "run", path)
	if code != 2 ||
		!strings.Contains(out, "FAIL  "+path+": expects the wrong exit code") ||
		!strings.Contains(out, "step 1 'freeze fails under FAIL': executions: freeze@db-0/mysql exitCode = 3, want 0") ||
		!strings.Contains(errOut, "1 of 1 scenarios failed") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestScenarioRunInvalidFileExits1WithFileAndLine(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t, time.Minute)
	dir := t.TempDir()
	bad := scenarioFile(t, dir, "bad.yaml", strings.Replace(scenarioFailing, "source: fail,", "source: missing,", 1))
	code, out, errOut := run(t, ctx, "scenario", "run", scenarioExample("freeze-thaw.yaml"), bad)
	if code != 1 || out != "" ||
		!strings.Contains(errOut, bad+`:9: hooks[0].source: no source named "missing" (defined: fail)`) ||
		!strings.Contains(errOut, "1 of 2 scenario files invalid; nothing was run") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, ctx, "scenario", "check", bad); code != 1 || !strings.Contains(errOut, bad+":9: hooks[0].source") {
		t.Fatalf("check: exit %d\n%s", code, errOut)
	}
}

func TestScenarioRecordThenReplay(t *testing.T) {
	t.Parallel()
	ctx := natstest.Context(t, 2*time.Minute)
	dir := t.TempDir()
	content, err := os.ReadFile(scenarioExample("failure-modes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := scenarioFile(t, dir, "failure-modes.yaml", string(content))
	recording := filepath.Join(dir, "run.jsonl")
	if code, out, errOut := run(t, ctx, "scenario", "run", path, "--record", recording); code != 0 {
		t.Fatalf("record: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := run(t, ctx, "replay", recording, "--scenario", path)
	if code != 0 || !strings.Contains(out, "no difference: 4 stages replayed as recorded") {
		t.Fatalf("replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	// The failing script is fixed: the replay shows what changes, and exits 2.
	changed := scenarioFile(t, dir, "changed.yaml", strings.Replace(string(content), "      exit 3\n", "      exit 0\n", 1))
	code, out, errOut = run(t, ctx, "replay", recording, "--scenario", changed)
	squeezed := strings.Join(strings.Fields(out), " ")
	if code != 2 ||
		!strings.Contains(squeezed, "step-2 snapshot/pre (app strict): DIFFERS") ||
		!strings.Contains(squeezed, "abortAction true false changed") ||
		!strings.Contains(squeezed, "fail-freeze@db-0/mysql failed (exit 3) succeeded (exit 0) changed") ||
		!strings.Contains(errOut, "the replay differs from the recording") {
		t.Fatalf("replay with a change: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = run(t, ctx, "replay", recording, "--scenario", changed, "-o", "json")
	if code != 2 || !strings.Contains(out, `"differs": true`) || !strings.Contains(out, `"change": "changed"`) {
		t.Fatalf("replay -o json: exit %d\n%s", code, out)
	}
}

// A slice of a running server's lifecycle stream replays through the
// server's current hooks, in a fresh in-process Hookshot: the same hooks give
// the same outcome; a hook changed since shows the difference.
func TestReplayStreamSliceThroughCurrentHooks(t *testing.T) {
	natsURL, apiURL := startServerWithAPI(t)
	ctx := context.Background()
	api := []string{"--server", apiURL, "--token", testToken}
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv.json")
	_ = os.WriteFile(inv, []byte(`[{"namespaceName":"prod","podName":"db-0","containerName":"mysql","containerImage":"mysql:8.4"}]`), 0o600)
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, ctx, args...)
		if code != 0 {
			t.Fatalf("%v: %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	idOf := func(out string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(out), &m)
		return fmt.Sprint(m["id"])
	}
	app := idOf(mustRun(append([]string{"apps", "create", "--name", "db", "--containers", inv, "-o", "json"}, api...)...))
	script := filepath.Join(dir, "freeze.sh")
	_ = os.WriteFile(script, []byte("#!/bin/sh\necho frozen\n"), 0o600)
	src := idOf(mustRun(append([]string{"sources", "create", "--name", "freeze", "--script", script, "-o", "json"}, api...)...))
	mustRun(append([]string{"hooks", "create", "--name", "freeze", "--app", app, "--action", "snapshot", "--stage", "pre", "--source", src}, api...)...)
	out := mustRun(append([]string{"snapshot", app, "--wait", "-o", "json"}, api...)...)
	var snap struct{ RunID string }
	if err := json.Unmarshal([]byte(out), &snap); err != nil || snap.RunID == "" {
		t.Fatalf("snapshot output %q: %v", out, err)
	}

	replay := []string{"replay", "--nats-url", natsURL, "--account", "default", "--run", snap.RunID}
	if code, out, errOut := run(t, ctx, replay...); code != 0 {
		t.Fatalf("replay with unchanged hooks: %d\n%s%s", code, out, errOut)
	}
	mustRun(append([]string{"hooks", "update", "freeze", "--enabled", "false"}, api...)...)
	code, out, errOut := run(t, ctx, replay...)
	if code != cli.ExitHookFailed || !strings.Contains(out, "freeze") {
		t.Fatalf("replay after disabling the hook: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, ctx, "replay", "--nats-url", natsURL, "--account", "default", "--run", "no-such-run"); code != cli.ExitError || !strings.Contains(errOut, "no lifecycle events") {
		t.Fatalf("empty slice: %d %s", code, errOut)
	}
}

// A scenario runs against a running server too: its engine, workers and
// driver do the work, in an account of its own that is cleaned up after.
func TestScenarioAgainstARunningServer(t *testing.T) {
	natsURL, apiURL := startServerWithAPI(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "examples", "scenarios", "*.yaml"))
	if err != nil || len(files) < 6 {
		t.Fatalf("examples: %v %v", files, err)
	}
	args := append([]string{"scenario", "run", "--nats-url", natsURL}, files...)
	if code, out, errOut := run(t, context.Background(), args...); code != 0 {
		t.Fatalf("scenario run against the server: %d\n%s%s", code, out, errOut)
	}
	// Run twice: run IDs and names never meet the first run's.
	if code, out, errOut := run(t, context.Background(), args[:4+1]...); code != 0 {
		t.Fatalf("second run: %d\n%s%s", code, out, errOut)
	}
	// Nothing of the scenarios' definitions is left on the server.
	js := jetStream(t, natsURL)
	for _, b := range []string{events.BucketHooks, events.BucketSources, events.BucketApps, events.BucketOverrides} {
		kv, err := js.KeyValue(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		lister, err := kv.ListKeys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for k := range lister.Keys() {
			t.Errorf("%s: %s left behind", b, k)
		}
	}
	_ = apiURL
}
