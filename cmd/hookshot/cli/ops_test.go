package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/engine/embedded"
)

func getJSON(t *testing.T, url, token string, method string, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// /readyz follows NATS: a worker daemon is ready while its NATS is up, not
// ready while it is down, and ready again once it is back.
func TestReadinessFollowsNATS(t *testing.T) {
	dir := t.TempDir()
	natsAddr, opsAddr := freePort(t), freePort(t)
	startNATS := func() *embedded.Server {
		srv, err := embedded.Start(embedded.Config{Listen: natsAddr, StoreDir: filepath.Join(dir, "js")})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	srv := startNATS()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, _ := run(t, ctx, "worker", "--nats-url", "nats://"+natsAddr, "--ops-listen", opsAddr, "--log-level", "error", "--nats-reconnect-wait", "100ms")
		done <- code
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("worker exited %d", code)
		}
	}()
	ready := func() int {
		code, _ := getJSON(t, "http://"+opsAddr+"/readyz", "", http.MethodGet, "")
		return code
	}
	waitUntil(t, 20*time.Second, "ready", func() bool { return ready() == http.StatusOK })
	if code, body := getJSON(t, "http://"+opsAddr+"/healthz", "", http.MethodGet, ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz %d %v", code, body)
	}

	srv.Shutdown(context.Background())
	waitUntil(t, 20*time.Second, "not ready without NATS", func() bool { return ready() == http.StatusServiceUnavailable })
	code, body := getJSON(t, "http://"+opsAddr+"/readyz", "", http.MethodGet, "")
	if checks, _ := body["checks"].(map[string]any); code != 503 || checks["nats"] == "ok" {
		t.Fatalf("readyz without NATS: %d %v", code, body)
	}
	srv = startNATS()
	defer srv.Shutdown(context.Background())
	waitUntil(t, 30*time.Second, "ready again", func() bool { return ready() == http.StatusOK })
}

// The log level changes at run time through /admin/loglevel, for admins only.
func TestLogLevelAtRunTime(t *testing.T) {
	_, apiURL := startServerWithAPI(t)
	if code, body := getJSON(t, apiURL+"/admin/loglevel", testToken, http.MethodGet, ""); code != 200 || body["level"] != "error" {
		t.Fatalf("GET loglevel: %d %v", code, body)
	}
	if code, _ := getJSON(t, apiURL+"/admin/loglevel", "", http.MethodPut, `{"level":"debug"}`); code != http.StatusForbidden {
		t.Fatalf("PUT without token: %d", code)
	}
	if code, body := getJSON(t, apiURL+"/admin/loglevel", testToken, http.MethodPut, `{"level":"debug"}`); code != 200 || body["level"] != "debug" {
		t.Fatalf("PUT loglevel: %d %v", code, body)
	}
	if code, body := getJSON(t, apiURL+"/admin/loglevel", testToken, http.MethodGet, ""); code != 200 || body["level"] != "debug" {
		t.Fatalf("level after PUT: %d %v", code, body)
	}
	if code, body := getJSON(t, apiURL+"/readyz", "", http.MethodGet, ""); code != 200 || body["status"] != "ready" {
		t.Fatalf("server readyz: %d %v", code, body)
	}
}

func TestConfigPrint(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hookshot.yaml")
	if err := os.WriteFile(file, []byte("workers:\n  concurrency: 6\nnats:\n  user: hooks\n  password: hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOKSHOT_WORKERS_ACK_WAIT", "45s")
	code, out, errOut := run(t, context.Background(), "config", "print", "--config", file, "--token", "acct:admin:super-secret-token-123")
	if code != 0 || !strings.Contains(out, "concurrency: 6") || !strings.Contains(out, "ackWait: 45s") ||
		strings.Contains(out, "hunter2") || strings.Contains(out, "super-secret-token-123") {
		t.Fatalf("config print: %d\n%s\n%s", code, out, errOut)
	}
	if err := os.WriteFile(file, []byte("workers:\n  concurency: 6\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, context.Background(), "server", "--config", file)
	if code != 1 || !strings.Contains(errOut, "unknown key workers.concurency") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("unknown key: %d %q", code, errOut)
	}
	code, _, errOut = run(t, context.Background(), "server", "--nats-creds-file", filepath.Join(dir, "missing.creds"), "--nats-url", "nats://127.0.0.1:1")
	if code != 1 || !strings.Contains(errOut, "missing.creds") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("unreadable creds: %d %q", code, errOut)
	}
}
