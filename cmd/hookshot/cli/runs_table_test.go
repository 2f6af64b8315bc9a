package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/client"
	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/engine"
)

// runViewAsClient encodes v as the API does (engine.RunView is what
// GET /hookshot/v1/runs/{id} answers) and decodes it as `runs get` does.
func runViewAsClient(t *testing.T, v *engine.RunView) *client.Run {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var run client.Run
	if err := json.Unmarshal(raw, &run); err != nil {
		t.Fatal(err)
	}
	return &run
}

// TestRunsGetTableShowsWhereStagesRan: the table of `runs get` names, for
// each stage of an app 2.x, the cluster and every container of the
// inventory the stage matched hooks against — not only -o json — and
// leaves the output of a static app's run as it was.
func TestRunsGetTableShowsWhereStagesRan(t *testing.T) {
	planned := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	exit := 0
	shop := func(svc string) events.Container {
		return events.Container{NamespaceName: "shop", PodName: "shop-" + svc + "-1", ContainerName: svc, ContainerImage: "localhost/target:" + svc}
	}
	db, web, cache := shop("db"), shop("web"), shop("cache")
	finished := planned.Add(time.Second)
	v := &engine.RunView{RunID: "run-1", AccountID: "acct", AppID: "app-1", Stages: []engine.StageView{
		{
			Action: "snapshot", Stage: "pre", Planned: planned, Finished: &finished, HookState: events.HookStateSuccess,
			Cluster: "prod-eu", Discovered: true, Inventory: []events.Container{cache, db, web},
			Executions: []engine.ExecutionView{{HookName: "freeze", Container: db, Status: events.StatusSucceeded, ExitCode: &exit}},
		},
		{
			// Selectors that matched nothing: an empty inventory, said so.
			Action: "snapshot", Stage: "post", Planned: planned, Finished: &finished, HookState: events.HookStateFailed,
			Cluster: "prod-eu", Discovered: true, Inventory: []events.Container{}, Executions: []engine.ExecutionView{},
			Details: []events.StateDetail{{Type: events.DetailMatchFailed, Title: "No container to run hooks in", Detail: "no running container"}},
		},
		{
			// The controller named the containers itself.
			Action: "backup", Stage: "pre", Planned: planned, Finished: &finished, HookState: events.HookStateSuccess,
			Cluster: "prod-eu", Inventory: []events.Container{web}, Executions: []engine.ExecutionView{},
		},
	}}
	var out bytes.Buffer
	if err := printRun(&out, runViewAsClient(t, v), false); err != nil {
		t.Fatal(err)
	}
	got := trimLines(out.String())
	want := `
STAGE          CLUSTER  INVENTORY           CONTAINER                IMAGE
snapshot/pre   prod-eu  discovered (3)      shop/shop-cache-1/cache  localhost/target:cache
                                            shop/shop-db-1/db        localhost/target:db
                                            shop/shop-web-1/web      localhost/target:web
snapshot/post  prod-eu  discovered (0)      -
backup/pre     prod-eu  from the event (1)  shop/shop-web-1/web      localhost/target:web
`
	if !strings.Contains(got, want) {
		t.Errorf("runs get table has no inventory section\n%s\nwant it to contain\n%s", got, want)
	}
	// The executions table comes first, the stage details after.
	if i, j, k := strings.Index(got, "freeze"), strings.Index(got, "CLUSTER"), strings.Index(got, "snapshot/post: no running container"); i < 0 || j < i || k < j {
		t.Errorf("sections out of order (%d %d %d):\n%s", i, j, k, got)
	}

	// A long inventory is cut, and says how much more there is.
	big := make([]events.Container, maxInventoryRows+7)
	for i := range big {
		big[i] = events.Container{NamespaceName: "shop", PodName: fmt.Sprintf("web-%03d", i), ContainerName: "nginx", ContainerImage: "nginx"}
	}
	v.Stages = []engine.StageView{{Action: "snapshot", Stage: "pre", Planned: planned, Cluster: "prod-eu", Discovered: true, Inventory: big, Executions: []engine.ExecutionView{}}}
	out.Reset()
	if err := printRun(&out, runViewAsClient(t, v), false); err != nil {
		t.Fatal(err)
	}
	got = out.String()
	last := fmt.Sprintf("shop/web-%03d/nginx", maxInventoryRows-1)
	if !strings.Contains(got, last) || strings.Contains(got, fmt.Sprintf("shop/web-%03d/nginx", maxInventoryRows)) ||
		!strings.Contains(got, "… 7 more (-o json lists them)") {
		t.Errorf("long inventory:\n%s", got)
	}

	// A static app's run (cluster local, inventory from the app) prints no
	// inventory section: its output is what it always was.
	v.Stages = []engine.StageView{{Action: "snapshot", Stage: "pre", Planned: planned, Cluster: events.ClusterLocal,
		Inventory: []events.Container{db}, Executions: []engine.ExecutionView{{HookName: "freeze", Container: db, Status: events.StatusSucceeded, ExitCode: &exit}}}}
	out.Reset()
	if err := printRun(&out, runViewAsClient(t, v), false); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); strings.Contains(got, "CLUSTER") || strings.Contains(got, "INVENTORY") {
		t.Errorf("static app's run shows an inventory section:\n%s", got)
	}
}

// trimLines drops the spaces a table pads its last cells with.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
