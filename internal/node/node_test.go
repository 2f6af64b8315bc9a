package node_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/node"
	"github.com/hookshot-dev/hookshot/internal/worker"
)

// Every part the node started has stopped (its goroutines ended) once Stop
// returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "node-test-admin-token-0123456789"

// A node with every part answers the API, bootstraps no token when one is
// configured, and stops everything.
func TestStartEveryPartAndStop(t *testing.T) {
	env := natstest.Start(t)
	ctx := natstest.Context(t, time.Minute)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	spec, err := api.ParseTokenSpec("default:admin:" + token)
	if err != nil {
		t.Fatal(err)
	}
	bootstrapped := false
	n, err := node.Start(ctx, node.Config{JS: env.JS, Engine: &engine.Config{}, Worker: &worker.Config{},
		Driver: &driver.Config{}, API: &node.APIConfig{Tokens: []api.TokenSpec{spec}, Bootstrap: func(string) { bootstrapped = true }}})
	if err != nil {
		t.Fatal(err)
	}
	if n.Engine == nil || n.Worker == nil || n.Driver == nil || n.Collector == nil || n.Tokens == nil || n.Handler == nil {
		t.Fatalf("parts missing: %+v", n)
	}
	if bootstrapped {
		t.Error("a token was bootstrapped although one is configured")
	}
	srv := httptest.NewServer(n.Handler)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/accounts/default/core/v1/hookSources", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("API answered %d", res.StatusCode)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n.Engine != nil || n.Worker != nil || n.Handler != nil {
		t.Fatalf("parts left after Stop: %+v", n)
	}
}

// Without tokens a bootstrap token is created once; a failed start stops
// what it started, and a start with nothing configured wrongly is refused
// before anything starts.
func TestStartBootstrapsAndUndoesAFailedStart(t *testing.T) {
	env := natstest.Start(t)
	ctx := natstest.Context(t, time.Minute)
	if _, err := node.Start(ctx, node.Config{JS: env.JS, API: &node.APIConfig{}}); err == nil || !strings.Contains(err.Error(), "needs the engine") {
		t.Fatalf("API without engine: %v", err)
	}
	// Not provisioned: the engine starts no consumer, and nothing is left.
	if _, err := node.Start(ctx, node.Config{JS: env.JS, Engine: &engine.Config{}, Worker: &worker.Config{}}); err == nil {
		t.Fatal("started on an unprovisioned JetStream")
	}
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	cfg := node.Config{JS: env.JS, Engine: &engine.Config{}, Driver: &driver.Config{},
		API: &node.APIConfig{Bootstrap: func(s string) { secrets = append(secrets, s) }}}
	for range 2 {
		n, err := node.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(secrets) != 1 {
		t.Fatalf("bootstrapped %d tokens over two starts, want 1", len(secrets))
	}
}
