package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
	"github.com/hookshot-dev/hookshot/events"
)

// run runs one hookshot command in-process and returns its exit code and output.
func run(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// freePort is a port nobody listened on a moment ago. It races other
// processes, so it is only for what cannot listen on port 0 and say where
// (--addr-file): a NATS address a test needs before NATS starts, or one it
// restarts on, and an address that must refuse connections.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs `hookshot server` on a fresh data dir until the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	url, _ := startServerWithAPI(t)
	return url
}

// testToken is the admin token of account "default" on test servers.
const testToken = "test-admin-token-0123456789"

// startServerWithAPI also returns the API's base URL. The server listens on
// ports the system picks (port 0) and says which in its --addr-file: no
// free port is guessed that another test could take first.
func startServerWithAPI(t *testing.T) (string, string) {
	t.Helper()
	// The data directory is taken before the server starts: t.Cleanup
	// runs last-registered first, so a TempDir taken inside the goroutine
	// could be removed before the cleanup below stops the server that
	// still writes into it ("directory not empty").
	dataDir := t.TempDir()
	addrFile := filepath.Join(dataDir, "addrs.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, _ := run(t, ctx, "server", "--data-dir", dataDir, "--nats-listen", "127.0.0.1:0", "--log-level", "error",
			"--concurrency", "2", "--stop-grace", "2s", "--api-listen", "127.0.0.1:0", "--addr-file", addrFile,
			"--token", "default:admin:"+testToken)
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("server exited %d", code)
			}
			if _, err := os.Stat(addrFile); !os.IsNotExist(err) {
				t.Errorf("the addr file outlived the server (%v)", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("server did not stop")
		}
	})
	// The addr file appears whole once the listeners are bound; the
	// server is ready when /readyz says so: NATS connected, everything
	// provisioned, engine and workers consuming.
	addrs := boundAddrs(t, addrFile)
	natsURL, apiURL := addrs["nats"], addrs["api"]
	if !strings.HasPrefix(natsURL, "nats://127.0.0.1:") || !strings.HasPrefix(apiURL, "http://127.0.0.1:") || strings.HasSuffix(apiURL, ":0") {
		t.Fatalf("addr file: %v", addrs)
	}
	waitUntil(t, 20*time.Second, "server ready", func() bool {
		res, err := http.Get(apiURL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return natsURL, apiURL
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, context.Background(), "version")
	if code != 0 || !strings.HasPrefix(out, "hookshot dev (go") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestServerEndToEndThroughTheCLI(t *testing.T) {
	url, apiURL := startServerWithAPI(t)
	ctx := context.Background()
	dir := t.TempDir()
	app := "7be5ae7c-151d-4230-ac39-ac1d0b33c2a9"
	common := []string{"--nats-url", url}
	api := []string{"--server", apiURL, "--token", testToken}

	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	freeze := write("freeze.sh", "#!/bin/sh\necho \"freeze $HOOKSHOT_CONTAINER_NAME $1\" >> \""+dir+"/trace\"\n")
	fail := write("fail.sh", "echo boom >&2; exit 7\n")
	inv := write("inv.json", `[{"namespaceName":"prod","podName":"db-0","containerName":"mysql","containerImage":"mysql:8"},
	 {"namespaceName":"prod","podName":"web-0","containerName":"web","containerImage":"nginx:1"}]`)

	sourceID := func(args ...string) string {
		code, out, errOut := run(t, ctx, append(append([]string{"sources", "create", "-o", "json"}, api...), args...)...)
		if code != 0 {
			t.Fatalf("sources create: %d %s", code, errOut)
		}
		var rec struct{ ID, SourceMD5Checksum string }
		if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.ID == "" || len(rec.SourceMD5Checksum) != 32 {
			t.Fatalf("sources create printed %q (%v)", out, err)
		}
		return rec.ID
	}
	okSrc := sourceID("--name", "freeze", "--script", freeze)
	failSrc := sourceID("--name", "fail", "--script", fail)

	hook := func(args ...string) (int, string) {
		code, _, errOut := run(t, ctx, append(append([]string{"hooks", "create"}, api...), args...)...)
		return code, errOut
	}
	if code, errOut := hook("--name", "freeze", "--app", app, "--action", "snapshot", "--stage", "pre", "--source", okSrc, "--arg", "hard", "--criteria", `containerImage=\bmysql\b`); code != 0 {
		t.Fatalf("hooks create: %s", errOut)
	}
	// Every bad field is named, nothing is stored.
	code, errOut := hook("--name", "bad", "--app", "not-an-id", "--action", "restore", "--stage", "pre", "--source", okSrc, "--criteria", "podName=(")
	if code != cli.ExitError {
		t.Fatalf("invalid hook: exit %d", code)
	}
	for _, f := range []string{"appID", "stage", "matchingCriteria[0].value"} {
		if !strings.Contains(errOut, "  "+f+":") {
			t.Errorf("error does not name %s:\n%s", f, errOut)
		}
	}
	if _, out, _ := run(t, ctx, append([]string{"hooks", "list", "-o", "json"}, api...)...); strings.Count(out, `"name": "`) != 1 {
		t.Fatalf("hooks list after a refused hook:\n%s", out)
	}

	publish := func(stage string, extra ...string) (int, string, string) {
		return run(t, ctx, append(append([]string{"events", "publish", "--app", app, "--action", "snapshot", "--stage", stage, "--containers", inv, "--wait", "--wait-timeout", "60s"}, common...), extra...)...)
	}
	code, out, errOut := publish("pre", "--run-id", "run-1")
	if code != 0 || !strings.Contains(out, `"hookState": "success"`) {
		t.Fatalf("publish pre: exit %d\n%s\n%s", code, out, errOut)
	}
	trace, _ := os.ReadFile(filepath.Join(dir, "trace"))
	if string(trace) != "freeze mysql hard\n" {
		t.Fatalf("trace %q", trace)
	}
	if strings.Contains(out, `"replayed"`) {
		t.Fatalf("a first run says it is replayed:\n%s", out)
	}
	// The same run again: nothing runs, and the answer says it is the
	// recorded result.
	code, out, errOut = publish("pre", "--run-id", "run-1")
	if code != 0 || !strings.Contains(out, `"replayed": true`) || !strings.Contains(errOut, "nothing ran again") {
		t.Fatalf("publish pre again: exit %d\n%s\n%s", code, out, errOut)
	}
	if trace, _ := os.ReadFile(filepath.Join(dir, "trace")); string(trace) != "freeze mysql hard\n" {
		t.Fatalf("the hook ran again: trace %q", trace)
	}
	// And once JetStream's de-duplication window has passed (shortened
	// here to 100 ms), the event is stored as new, yet the stage was
	// answered before: the CLI still says it is the recorded result.
	js := jetStream(t, url)
	lifecycle, err := js.Stream(ctx, events.StreamLifecycle)
	if err != nil {
		t.Fatal(err)
	}
	cfg := lifecycle.CachedInfo().Config
	cfg.Duplicates = 100 * time.Millisecond
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the window passes
	code, out, errOut = publish("pre", "--run-id", "run-1")
	if code != 0 || !strings.Contains(out, `"replayed": true`) || !strings.Contains(errOut, "after the de-duplication window") {
		t.Fatalf("publish pre after the de-duplication window: exit %d\n%s\n%s", code, out, errOut)
	}
	if trace, _ := os.ReadFile(filepath.Join(dir, "trace")); string(trace) != "freeze mysql hard\n" {
		t.Fatalf("the hook ran again after the de-duplication window: trace %q", trace)
	}

	if code, errOut := hook("--name", "boom", "--app", app, "--action", "snapshot", "--stage", "post", "--source", failSrc, "--failure-mode", "WARN"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut = publish("post", "--run-id", "run-1")
	if code != cli.ExitHookFailed || !strings.Contains(out, `"hookState": "failed"`) || !strings.Contains(out, "exit code 7") || !strings.Contains(errOut, "hookState failed") {
		t.Fatalf("publish post: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestUnreachableServerIsOneClearLine(t *testing.T) {
	code, _, errOut := run(t, context.Background(), "hooks", "list", "--server", "http://"+freePort(t))
	if code != cli.ExitError || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "cannot reach the Hookshot API") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, context.Background(), "events", "publish", "--nats-url", "nats://"+freePort(t), "--timeout", "1s",
		"--app", "a", "--action", "snapshot", "--stage", "pre")
	if code != cli.ExitError || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "cannot reach NATS") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// The API served by `hookshot server` and the CLI see the same store.
func TestServerServesTheAPI(t *testing.T) {
	url, apiURL := startServerWithAPI(t)
	body := `{"type":"application/astra-hookSource","version":"1.0","name":"via-api","sourceType":"script","source":"ZWNobyBoaQo="}`
	req, _ := http.NewRequest(http.MethodPost, apiURL+"/accounts/default/core/v1/hookSources", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST hookSources: %d", res.StatusCode)
	}
	code, out, errOut := run(t, context.Background(), "sources", "list", "--server", apiURL, "--token", testToken)
	if code != 0 || !strings.Contains(out, "via-api") {
		t.Fatalf("sources list: %d %s %s", code, out, errOut)
	}
	_ = url
	res, err = http.Get(apiURL + "/accounts/default/core/v1/hookSources")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", res.StatusCode)
	}
}

// A token made with `hookshot tokens create` works against the API at once,
// within its account and role.
func TestTokensCreate(t *testing.T) {
	url, apiURL := startServerWithAPI(t)
	code, out, errOut := run(t, context.Background(), "tokens", "create", "--nats-url", url, "--account", "payroll", "--role", "viewer")
	secret := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(secret, "hs_") {
		t.Fatalf("tokens create: %d %q %s", code, out, errOut)
	}
	get := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, apiURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := get("/accounts/payroll/core/v1/executionHooks"); got != http.StatusOK {
		t.Fatalf("own account: %d", got)
	}
	if got := get("/accounts/default/core/v1/executionHooks"); got != http.StatusNotFound {
		t.Fatalf("another account: %d", got)
	}
	if code, _, _ := run(t, context.Background(), "tokens", "create", "--nats-url", url, "--role", "owner"); code != cli.ExitError {
		t.Fatal("unknown role accepted")
	}
}

// events watch prints what happened to a run: its lifecycle event, its
// execution results and its stage result.
func TestEventsWatch(t *testing.T) {
	url, apiURL := startServerWithAPI(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "ok.sh")
	_ = os.WriteFile(script, []byte("echo fine\n"), 0o600)
	api := []string{"--server", apiURL, "--token", testToken}
	_, out, _ := run(t, context.Background(), append([]string{"sources", "create", "--name", "ok", "--script", script, "-o", "json"}, api...)...)
	var src struct{ ID string }
	_ = json.Unmarshal([]byte(out), &src)
	app := "7be5ae7c-151d-4230-ac39-ac1d0b33c2a9"
	if code, _, errOut := run(t, context.Background(), append([]string{"hooks", "create", "--name", "w", "--app", app, "--action", "snapshot", "--stage", "pre", "--source", src.ID}, api...)...); code != 0 {
		t.Fatal(errOut)
	}
	inv := filepath.Join(dir, "inv.json")
	_ = os.WriteFile(inv, []byte(`[{"namespaceName":"n","podName":"p","containerName":"c","containerImage":"i"}]`), 0o600)
	if code, _, errOut := run(t, context.Background(), "events", "publish", "--nats-url", url, "--app", app, "--action", "snapshot", "--stage", "pre", "--containers", inv, "--run-id", "run-watch", "--wait"); code != 0 {
		t.Fatal(errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, out, errOut := run(t, ctx, "events", "watch", "--nats-url", url, "--all", "--run", "run-watch", "--count", "3")
	if code != 0 {
		t.Fatalf("watch: %d %s", code, errOut)
	}
	for _, want := range []string{"lifecycle  run-watch  snapshot/pre", "execution  run-watch  snapshot/pre  w  n/p/c  succeeded exit 0", "stage      run-watch  snapshot/pre  hookState success  1 executions"} {
		if !strings.Contains(out, want) {
			t.Errorf("watch output lacks %q:\n%s", want, out)
		}
	}
}

// cliAgainst runs hookshot commands against the API at apiURL with the
// test's admin token.
func cliAgainst(t *testing.T, ctx context.Context, apiURL string) func(args ...string) (int, string, string) {
	return func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, ctx, append(args, "--server", apiURL, "--token", testToken)...)
	}
}
