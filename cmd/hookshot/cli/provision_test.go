package cli_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/internal/embedded"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
)

// readyz returns /readyz's status code and its checks.
func readyz(t *testing.T, base string) (int, map[string]any) {
	t.Helper()
	code, body := getJSON(t, base+"/readyz", "", http.MethodGet, "")
	checks, _ := body["checks"].(map[string]any)
	return code, checks
}

// startDaemon runs a hookshot daemon command in-process. exited receives
// its exit code; stop ends it and checks it exited 0 in time (it runs at
// cleanup too, and a second call does nothing).
func startDaemon(t *testing.T, args ...string) (exited <-chan int, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, errOut := run(t, ctx, args...)
		if code != 0 {
			t.Logf("%s stderr: %s", args[0], errOut)
		}
		done <- code
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("%s exited %d", args[0], code)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("%s did not stop", args[0])
			}
		})
	}
	t.Cleanup(stop)
	return done, stop
}

// A server whose NATS appears only after it started waits for it, says why
// on /readyz (503) meanwhile, and becomes ready without exiting.
func TestServerWaitsForALateNATS(t *testing.T) {
	natsAddr, addrFile := freePort(t), filepath.Join(t.TempDir(), "addrs.json")
	var srv *embedded.Server
	t.Cleanup(func() { // registered first, so it runs after the server stops
		if srv != nil {
			srv.Shutdown(context.Background())
		}
	})
	done, _ := startDaemon(t, "server", "--nats-url", "nats://"+natsAddr, "--api-listen", "127.0.0.1:0", "--addr-file", addrFile,
		"--token", "default:admin:"+testToken, "--log-level", "error", "--nats-reconnect-wait", "100ms")
	base := boundAddrs(t, addrFile)["api"]

	// Not ready while NATS is not there, for a few attempts, and saying so.
	var waiting map[string]any
	waitUntil(t, 20*time.Second, "a 503 after a few provisioning attempts", func() bool {
		code, checks := readyz(t, base)
		why, _ := checks["provisioned"].(string)
		waiting = checks
		return code == http.StatusServiceUnavailable && strings.Contains(why, "attempt 3")
	})
	t.Logf("waiting: %v", waiting)
	if why := waiting["provisioned"].(string); !strings.Contains(why, "waiting for JetStream") {
		t.Errorf("provisioned while NATS is down: %q", why)
	}
	if waiting["engine"] == "ok" || waiting["workers"] == "ok" || waiting["nats"] == "ok" {
		t.Errorf("checks while NATS is down: %v", waiting)
	}
	if code, body := getJSON(t, base+"/accounts/default/core/v1/hookSources", testToken, http.MethodGet, ""); code != http.StatusServiceUnavailable {
		t.Errorf("API before ready: %d %v", code, body)
	}
	select {
	case code := <-done:
		t.Fatalf("server exited %d while waiting for NATS", code)
	default:
	}

	var err error
	srv, err = embedded.Start(embedded.Config{Listen: natsAddr, StoreDir: filepath.Join(t.TempDir(), "js")})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "ready once NATS is there", func() bool {
		code, _ := readyz(t, base)
		return code == http.StatusOK
	})
	if code, body := getJSON(t, base+"/accounts/default/core/v1/hookSources", testToken, http.MethodGet, ""); code != http.StatusOK {
		t.Errorf("API once ready: %d %v", code, body)
	}
}

// An error no retry can fix stops start-up at once, with one line.
func TestServerRefusesReplicasTheServerCannotHave(t *testing.T) {
	env := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	code, _, errOut := run(t, ctx, "server", "--nats-url", env.Server.ClientURL(), "--replicas", "3",
		"--api-listen", "off", "--log-level", "error")
	took := time.Since(start)
	if code != 1 || !strings.Contains(errOut, "replicas > 1 not supported") || !strings.Contains(errOut, "not retried") ||
		strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if took > 10*time.Second {
		t.Errorf("took %s to give up", took)
	}
}

// With NATS gone, /readyz is 503 at once and every check names NATS.
func TestReadinessNamesNATSAtOnce(t *testing.T) {
	natsAddr, apiAddr, store := freePort(t), freePort(t), filepath.Join(t.TempDir(), "js")
	srv, err := embedded.Start(embedded.Config{Listen: natsAddr, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	_, stop := startDaemon(t, "server", "--nats-url", "nats://"+natsAddr, "--api-listen", apiAddr,
		"--token", "default:admin:"+testToken, "--log-level", "error", "--stop-grace", "2s", "--nats-reconnect-wait", "100ms")
	defer stop() // before the second NATS's cleanup
	base := "http://" + apiAddr
	waitUntil(t, 20*time.Second, "ready", func() bool {
		code, _ := readyz(t, base)
		return code == http.StatusOK
	})

	srv.Shutdown(context.Background())
	gone := time.Now()
	var checks map[string]any
	// The first 503 can come from a consumer check while the client has
	// not yet seen the connection close; within a second every check,
	// "nats" included, must say so.
	waitUntil(t, time.Second, "503 naming nats within a second of NATS going", func() bool {
		var code int
		code, checks = readyz(t, base)
		why, _ := checks["nats"].(string)
		return code == http.StatusServiceUnavailable && why != "ok"
	})
	t.Logf("503 after %s: %v", time.Since(gone), checks)
	for _, name := range []string{"nats", "provisioned", "engine", "workers"} {
		if why, _ := checks[name].(string); !strings.Contains(why, "nats") {
			t.Errorf("check %s: %q, want it to name nats", name, why)
		}
	}
	// NATS comes back before the server stops, so stopping does not wait
	// on it.
	if srv, err = embedded.Start(embedded.Config{Listen: natsAddr, StoreDir: store}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) }) // after the deferred stop
	back := time.Now()
	waitUntil(t, 30*time.Second, "ready again", func() bool {
		code, _ := readyz(t, base)
		return code == http.StatusOK
	})
	t.Logf("ready again after %s", time.Since(back))
}

// Told to stop while waiting for NATS, a worker stops cleanly.
func TestWorkerStopsWhileWaitingForNATS(t *testing.T) {
	natsAddr, addrFile := freePort(t), filepath.Join(t.TempDir(), "addrs.json")
	_, stop := startDaemon(t, "worker", "--nats-url", "nats://"+natsAddr, "--ops-listen", "127.0.0.1:0", "--addr-file", addrFile,
		"--log-level", "error", "--nats-reconnect-wait", "100ms")
	ops := boundAddrs(t, addrFile)["ops"]
	waitUntil(t, 20*time.Second, "not ready, waiting for NATS", func() bool {
		code, checks := readyz(t, ops)
		why, _ := checks["provisioned"].(string)
		return code == http.StatusServiceUnavailable && strings.Contains(why, "waiting for JetStream")
	})
	stop()
}
