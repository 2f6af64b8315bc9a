package api_test

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/worker"
)

// newFullHarness runs the API with a real engine, worker and driver.
func newFullHarness(t *testing.T) *harness {
	t.Helper()
	env := natstest.Start(t)
	ctx := natstest.Context(t, 2*time.Minute)
	h := newHarnessWith(t, env, api.Config{}) // provisions; replaced below
	eng, err := engine.New(ctx, engine.Config{JS: env.JS, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(ctx, worker.Config{JS: env.JS, Logger: zaptest.NewLogger(t), AckWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := driver.New(ctx, driver.Config{JS: env.JS, Logger: zaptest.NewLogger(t), StageTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := contextWithTimeout(10 * time.Second)
		defer cancel()
		_ = d.Stop(stop)
		_ = w.Stop(stop)
		_ = eng.Stop(stop)
	})
	h.srv.Close()
	return newHarnessWith(t, env, api.Config{Matcher: eng.Index(), Actions: d, Runs: eng, SyncIndex: eng.SyncIndex})
}

// waitState polls an action until it leaves pending and running.
func (h *harness) waitState(path string) response {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := h.do(http.MethodGet, path, viewerToken, nil)
		if r.status != 200 {
			h.t.Fatalf("poll %s: %d %s", path, r.status, r.raw)
		}
		if s := r.body["state"]; s == "completed" || s == "failed" {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s still %v", path, r.body["state"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSnapshotsAndBackupsEndToEnd(t *testing.T) {
	t.Parallel()
	h := newFullHarness(t)
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace")

	app := h.do(http.MethodPost, acctPath("/hookshot/v1/apps"), memberToken, map[string]any{
		"type": "application/astra-app", "version": "1.0", "name": "payroll",
		"containers": []map[string]any{
			{"namespaceName": "payroll", "podName": "mariadb-0", "containerName": "mariadb", "containerImage": "docker.io/bitnami/mariadb:10.11"},
			{"namespaceName": "payroll", "podName": "web-0", "containerName": "web", "containerImage": "nginx:1.27"},
		},
	})
	if app.status != 201 {
		t.Fatal(string(app.raw))
	}
	appID := app.body["id"].(string)
	script := "#!/bin/sh\necho \"$HOOKSHOT_ACTION/$HOOKSHOT_STAGE $HOOKSHOT_HOOK_NAME $HOOKSHOT_CONTAINER_NAME $1\" >> " + trace + "\nexit ${2:-0}\n"
	src := h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, map[string]any{
		"type": "application/astra-hookSource", "version": "1.0", "name": "trace", "sourceType": "script",
		"source": base64.StdEncoding.EncodeToString([]byte(script)),
	})
	if src.status != 201 {
		t.Fatal(string(src.raw))
	}
	srcID := src.body["id"].(string)
	hook := func(name, action, stage string, args []string, extra map[string]any) string {
		body := map[string]any{"type": "application/astra-executionHook", "version": "1.3", "name": name, "hookType": "custom",
			"action": action, "stage": stage, "hookSourceID": srcID, "arguments": args,
			"matchingCriteria": []map[string]string{{"type": "containerImage", "value": `\bmariadb\b`}}}
		for k, v := range extra {
			body[k] = v
		}
		r := h.do(http.MethodPost, acctPath("/k8s/v1/apps/"+appID+"/executionHooks"), memberToken, body)
		if r.status != 201 {
			t.Fatal(string(r.raw))
		}
		if mc := r.body["matchingContainers"].([]any); len(mc) != 1 {
			t.Fatalf("matchingContainers %v", mc)
		}
		return r.body["id"].(string)
	}
	hook("freeze", "snapshot", "pre", []string{"freeze"}, nil)
	hook("thaw", "snapshot", "post", []string{"thaw"}, nil)
	snaps := acctPath("/k8s/v1/apps/" + appID + "/appSnaps")

	// 1. All hooks succeed: completed, hookState success, hooks ran in order.
	res := h.do(http.MethodPost, snaps, memberToken, map[string]any{"type": "application/astra-appSnap", "version": "1.2"})
	if res.status != 201 || res.body["state"] != "pending" || !strings.HasPrefix(res.body["name"].(string), "snapshot-") {
		t.Fatalf("create appSnap: %d %s", res.status, res.raw)
	}
	done := h.waitState(res.header.Get("Location"))
	if done.body["state"] != "completed" || done.body["hookState"] != "success" || done.body["version"] != "1.3" && done.body["version"] != "1.2" {
		t.Fatalf("snapshot: %s", done.raw)
	}
	if got := readTrace(t, trace); got != "snapshot/pre freeze mariadb freeze\nsnapshot/post thaw mariadb thaw\n" {
		t.Fatalf("trace:\n%s", got)
	}

	// 2. A WARN hook fails: completed, hookState failed, a detail naming it.
	warn := hook("flush-cache", "snapshot", "pre", []string{"flush", "3"}, nil)
	res = h.do(http.MethodPost, snaps, memberToken, map[string]any{"type": "application/astra-appSnap", "version": "1.3", "name": "with-warning"})
	done = h.waitState(res.header.Get("Location"))
	details, _ := done.body["hookStateDetails"].([]any)
	if done.body["state"] != "completed" || done.body["hookState"] != "failed" || len(details) != 1 ||
		!strings.Contains(details[0].(map[string]any)["detail"].(string), `"flush-cache"`) {
		t.Fatalf("WARN failure: %s", done.raw)
	}
	// The name is taken now.
	h.do(http.MethodPost, snaps, memberToken, map[string]any{"type": "application/astra-appSnap", "version": "1.3", "name": "with-warning"}).wantProblem(t, 409, 176, "name")

	// 3. The same hook in FAIL mode: the snapshot fails, thaw still runs.
	if r := h.do(http.MethodPut, acctPath("/core/v1/executionHooks/"+warn), memberToken, map[string]any{"type": "application/astra-executionHook", "version": "1.3", "failureMode": "FAIL"}); r.status != 204 {
		t.Fatal(string(r.raw))
	}
	_ = os.Remove(trace)
	res = h.do(http.MethodPost, snaps, memberToken, map[string]any{"type": "application/astra-appSnap", "version": "1.3"})
	done = h.waitState(res.header.Get("Location"))
	unready, _ := done.body["stateUnready"].([]any)
	if done.body["state"] != "failed" || done.body["hookState"] != "failed" || len(unready) == 0 || !strings.Contains(unready[0].(string), "flush-cache") {
		t.Fatalf("FAIL-mode pre hook: %s", done.raw)
	}
	if got := readTrace(t, trace); !strings.Contains(got, "snapshot/post thaw mariadb thaw") {
		t.Fatalf("thaw did not run after the aborted snapshot:\n%s", got)
	}

	// 4. A backup takes its own snapshot: backup and snapshot hooks nest.
	if r := h.do(http.MethodDelete, acctPath("/core/v1/executionHooks/"+warn), memberToken, nil); r.status != 204 {
		t.Fatal(string(r.raw))
	}
	hook("pre-backup", "backup", "pre", []string{"b1"}, nil)
	hook("post-backup", "backup", "post", []string{"b2"}, nil)
	_ = os.Remove(trace)
	backups := acctPath("/k8s/v1/apps/" + appID + "/appBackups")
	res = h.do(http.MethodPost, backups, memberToken, map[string]any{"type": "application/astra-appBackup", "version": "1.2", "name": "nightly"})
	if res.status != 201 || res.body["bucketID"] == nil {
		t.Fatalf("create appBackup: %s", res.raw)
	}
	done = h.waitState(res.header.Get("Location"))
	want := "backup/pre pre-backup mariadb b1\nsnapshot/pre freeze mariadb freeze\nsnapshot/post thaw mariadb thaw\nbackup/post post-backup mariadb b2\n"
	if done.body["state"] != "completed" || done.body["hookState"] != "success" || readTrace(t, trace) != want {
		t.Fatalf("backup %s\ntrace:\n%s", done.raw, readTrace(t, trace))
	}
	list := h.do(http.MethodGet, backups+"?include=name,state", viewerToken, nil)
	if items := list.body["items"].([]any); len(items) != 1 || items[0].([]any)[0] != "nightly" {
		t.Fatalf("list backups: %s", list.raw)
	}

	// 5. Restore and failover run their post hooks.
	hook("repoint", "failover", "post", []string{"dr"}, nil)
	_ = os.Remove(trace)
	res = h.do(http.MethodPost, acctPath("/k8s/v1/apps/"+appID+"/appFailovers"), memberToken, map[string]any{"type": "application/hookshot-appFailover", "version": "1.0"})
	if done = h.waitState(res.header.Get("Location")); done.body["state"] != "completed" || readTrace(t, trace) != "failover/post repoint mariadb dr\n" {
		t.Fatalf("failover %s\n%s", done.raw, readTrace(t, trace))
	}
	if r := h.do(http.MethodDelete, res.header.Get("Location"), memberToken, nil); r.status != 204 {
		t.Fatalf("delete a finished failover: %s", r.raw)
	}
}

func readTrace(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}
