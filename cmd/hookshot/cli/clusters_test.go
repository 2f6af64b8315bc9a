package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/cluster/clustertest"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// startAPIWithClusters serves the API alone (no engine) over a real NATS,
// with the clusters of backends and a collector of app states.
func startAPIWithClusters(t *testing.T, backends map[string]*clustertest.Backend) string {
	t.Helper()
	env := natstest.Start(t)
	ctx := natstest.Context(t, time.Minute)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := api.ParseTokenSpec("default:admin:" + testToken)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := api.NewTokens(ctx, env.JS, []api.TokenSpec{spec})
	if err != nil {
		t.Fatal(err)
	}
	reg := clustertest.Registry(t, backends)
	col, err := cluster.NewCollector(cluster.CollectorConfig{Store: st, Registry: reg, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = col.Stop(ctx)
	})
	srv, err := api.New(api.Config{Store: st, Tokens: tokens, Clusters: reg, AppCreated: col.Trigger})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL
}

// apps create --cluster makes an app 2.x, --containers a static app; both
// are listed; clusters list shows the configured clusters.
func TestAppsOfClustersAndClustersCommands(t *testing.T) {
	prod := clustertest.New(events.Container{NamespaceName: "payroll", PodName: "db-0", ContainerName: "mysql", ContainerImage: "mysql:8.4",
		PodLabels: []events.Label{{Name: "app.kubernetes.io/name", Value: "mysql"}}})
	edge := clustertest.New()
	edge.SetDown(errors.New("dial tcp 10.9.9.9:443: i/o timeout"))
	apiURL := startAPIWithClusters(t, map[string]*clustertest.Backend{"prod-eu": prod, "edge": edge})
	ctx := context.Background()
	flags := []string{"--server", apiURL, "--token", testToken}
	do := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, ctx, append(args, flags...)...)
	}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errOut := do(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}

	var created map[string]any
	out := ok("apps", "create", "--name", "payroll", "--cluster", "prod-eu", "--namespace", "payroll", "--selector", "app.kubernetes.io/name=mysql",
		"--namespace", "shared", "--selector", "tier notin (frontend)", "--selector", "tier=cache", "-o", "json")
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("not JSON: %s", out)
	}
	raw, _ := json.Marshal(created["namespaceScopedResources"])
	var scopes []events.NamespaceSelector
	_ = json.Unmarshal(raw, &scopes)
	scopesJSON, _ := json.Marshal(scopes)
	if created["clusterID"] != cluster.IDOf("prod-eu") || created["version"] != "2.2" ||
		string(scopesJSON) != `[{"namespace":"payroll","labelSelectors":["app.kubernetes.io/name=mysql"]},{"namespace":"shared","labelSelectors":["tier notin (frontend)","tier=cache"]}]` {
		t.Fatalf("app 2.x: %s", out)
	}
	inv := filepath.Join(t.TempDir(), "inv.json")
	if err := os.WriteFile(inv, []byte(`[{"namespaceName":"prod","podName":"web-0","containerName":"web","containerImage":"nginx:1.27"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	ok("apps", "create", "--name", "shop", "--containers", inv)

	// Both kinds listed, the app 2.x ready once collected.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out = ok("apps", "list")
		if strings.Contains(out, "ready") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID NAME CLUSTER NAMESPACES STATE CONTAINERS" {
		t.Fatalf("apps list:\n%s", out)
	}
	for _, want := range []string{"payroll prod-eu payroll,shared ready -", "shop local prod - 1"} {
		found := false
		for _, l := range lines[1:] {
			found = found || strings.HasSuffix(strings.Join(strings.Fields(l), " "), want)
		}
		if !found {
			t.Errorf("apps list has no row ending %q:\n%s", want, out)
		}
	}
	if out := ok("apps", "get", "payroll", "-o", "yaml"); !strings.Contains(out, "clusterName: prod-eu") || !strings.Contains(out, "state: ready") {
		t.Errorf("apps get of an app 2.x:\n%s", out)
	}
	ok("apps", "update", "payroll", "--name", "payroll-eu")
	if out := ok("apps", "get", "payroll-eu", "-o", "json"); !strings.Contains(out, `"name": "payroll-eu"`) {
		t.Errorf("after rename:\n%s", out)
	}

	// The server's refusals, named.
	if code, _, errOut := do("apps", "create", "--name", "x", "--cluster", "nowhere", "--namespace", "x"); code != cli.ExitError ||
		!strings.Contains(errOut, "Cluster not found (400)") || !strings.Contains(errOut, "clusterID:") {
		t.Errorf("unknown cluster: %d %s", code, errOut)
	}
	if code, _, errOut := do("apps", "create", "--name", "x", "--cluster", "prod-eu", "--namespace", "x", "--selector", "tier notin frontend"); code != cli.ExitError ||
		!strings.Contains(errOut, "namespaceScopedResources[0].labelSelectors[0]:") {
		t.Errorf("bad selector: %d %s", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--selector", "a=b", "--namespace", "x", "--cluster", "prod-eu"}, "give a --namespace before its --selector"},
		{[]string{"--cluster", "prod-eu"}, "--cluster needs at least one --namespace"},
		{[]string{"--namespace", "x"}, "--namespace needs --cluster"},
		{[]string{"--cluster", "prod-eu", "--namespace", "x", "--containers", inv}, "give one or the other"},
	} {
		if code, _, errOut := do(append([]string{"apps", "create", "--name", "x"}, tc.args...)...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("apps create %v: %d %s", tc.args, code, errOut)
		}
	}

	// Clusters.
	out = ok("clusters", "list")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "ID NAME TYPE STATE IN-USE DETAIL" {
		t.Fatalf("clusters list:\n%s", out)
	}
	rows := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[1]] = strings.Join(f[2:], " ")
	}
	if rows["prod-eu"] != "kubernetes running true" || rows["local"] != "static running true" ||
		!strings.HasPrefix(rows["edge"], "kubernetes unavailable false") || !strings.Contains(rows["edge"], "i/o timeout") {
		t.Errorf("clusters list rows %q:\n%s", rows, out)
	}
	if out := ok("clusters", "get", "prod-eu"); !strings.Contains(out, "id: "+cluster.IDOf("prod-eu")) || !strings.Contains(out, "managedState: managed") {
		t.Errorf("clusters get:\n%s", out)
	}
	if out := ok("clusters", "list", "--filter", "state eq 'unavailable'", "-o", "json"); !strings.Contains(out, `"name": "edge"`) || strings.Contains(out, `"name": "prod-eu"`) {
		t.Errorf("clusters list --filter:\n%s", out)
	}
	if code, _, errOut := do("clusters", "get", "nowhere"); code != cli.ExitError || !strings.Contains(errOut, `no cluster named "nowhere"`) {
		t.Errorf("unknown cluster: %d %s", code, errOut)
	}

	ok("apps", "delete", "payroll-eu")
	ok("apps", "delete", "shop")
	if out := ok("apps", "list", "-o", "json"); strings.Contains(out, "payroll") || strings.Contains(out, "shop") {
		t.Errorf("deleted apps listed:\n%s", out)
	}
}
