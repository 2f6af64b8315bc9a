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

	dto "github.com/prometheus/client_model/go"

	"github.com/hookshot-dev/hookshot/internal/embedded"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
	natsAddr, addrFile := freePort(t), filepath.Join(dir, "addrs.json")
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
		code, _, _ := run(t, ctx, "worker", "--nats-url", "nats://"+natsAddr, "--ops-listen", "127.0.0.1:0", "--addr-file", addrFile,
			"--log-level", "error", "--nats-reconnect-wait", "100ms")
		done <- code
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("worker exited %d", code)
		}
	}()
	opsURL := boundAddrs(t, addrFile)["ops"]
	ready := func() int {
		code, _ := getJSON(t, opsURL+"/readyz", "", http.MethodGet, "")
		return code
	}
	waitUntil(t, 20*time.Second, "ready", func() bool { return ready() == http.StatusOK })
	if code, body := getJSON(t, opsURL+"/healthz", "", http.MethodGet, ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz %d %v", code, body)
	}

	srv.Shutdown(context.Background())
	waitUntil(t, 20*time.Second, "not ready without NATS", func() bool { return ready() == http.StatusServiceUnavailable })
	code, body := getJSON(t, opsURL+"/readyz", "", http.MethodGet, "")
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
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--nats-creds-file", filepath.Join(dir, "missing.creds"), "--nats-url", "nats://127.0.0.1:1"}, "missing.creds"},
		{[]string{"--tls-cert", filepath.Join(dir, "missing-cert.pem"), "--tls-key", filepath.Join(dir, "missing-key.pem")}, "missing-cert.pem"},
		{[]string{"--tls-cert", file, "--tls-key", file}, file},
		{[]string{"--ack-wait", "soon"}, "--ack-wait"},
	} {
		code, _, errOut = run(t, context.Background(), append([]string{"server", "--data-dir", filepath.Join(dir, "data"), "--nats-listen", freePort(t)}, tt.args...)...)
		if code != 1 || !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Fatalf("%v: %d %q", tt.args, code, errOut)
		}
	}
}

// /metrics is scraped, parsed with the Prometheus text parser, and its
// counters move after a stage runs.
func TestMetricsMoveAfterARun(t *testing.T) {
	url, apiURL := startServerWithAPI(t)
	scrape := func() map[string]*dto.MetricFamily {
		res, err := http.Get(apiURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return fams
	}
	sum := func(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
		total := 0.0
		f := fams[name]
		if f == nil {
			return 0
		}
	next:
		for _, m := range f.Metric {
			have := map[string]string{}
			for _, l := range m.Label {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				total += m.Counter.GetValue()
			case m.Gauge != nil:
				total += m.Gauge.GetValue()
			case m.Histogram != nil:
				total += float64(m.Histogram.GetSampleCount())
			}
		}
		return total
	}
	before := scrape()
	dir := t.TempDir()
	script := filepath.Join(dir, "ok.sh")
	if err := os.WriteFile(script, []byte("exit 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--nats-url", url}
	api := []string{"--server", apiURL, "--token", testToken}
	code, out, errOut := run(t, context.Background(), append([]string{"sources", "create", "--name", "ok", "--script", script, "-o", "json"}, api...)...)
	if code != 0 {
		t.Fatal(errOut)
	}
	var rec struct{ ID string }
	_ = json.Unmarshal([]byte(out), &rec)
	app := "7be5ae7c-151d-4230-ac39-ac1d0b33c2a9"
	if code, _, errOut := run(t, context.Background(), append([]string{"hooks", "create", "--name", "m", "--app", app, "--action", "backup", "--stage", "pre", "--source", rec.ID}, api...)...); code != 0 {
		t.Fatal(errOut)
	}
	inv := filepath.Join(dir, "inv.json")
	_ = os.WriteFile(inv, []byte(`[{"namespaceName":"n","podName":"p","containerName":"c","containerImage":"i"}]`), 0o600)
	if code, _, errOut := run(t, context.Background(), append([]string{"events", "publish", "--app", app, "--action", "backup", "--stage", "pre", "--containers", inv, "--wait"}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	waitUntil(t, 10*time.Second, "executions counted", func() bool {
		after := scrape()
		return sum(after, "hookshot_executions_total", map[string]string{"action": "backup", "stage": "pre", "outcome": "succeeded"})-
			sum(before, "hookshot_executions_total", map[string]string{"action": "backup", "stage": "pre", "outcome": "succeeded"}) == 1
	})
	if code, _ := getJSON(t, apiURL+"/accounts/default/core/v1/hookSources", testToken, http.MethodGet, ""); code != 200 {
		t.Fatalf("list sources: %d", code)
	}
	after := scrape()
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"hookshot_stage_results_total", map[string]string{"action": "backup", "stage": "pre", "hook_state": "success"}},
		{"hookshot_execution_duration_seconds", map[string]string{"action": "backup", "stage": "pre"}},
		{"hookshot_api_requests_total", map[string]string{"route": "/accounts/{account_id}/core/v1/hookSources", "method": "GET", "code": "200"}},
	} {
		if d := sum(after, c.name, c.labels) - sum(before, c.name, c.labels); d < 1 {
			t.Errorf("%s%v moved by %v", c.name, c.labels, d)
		}
	}
	if _, ok := after["hookshot_jobs_pending"]; !ok {
		t.Error("hookshot_jobs_pending missing")
	}
}
