package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/cluster/clustertest"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// waitApp polls the stored app until ok says so.
func waitApp(t *testing.T, st *store.Store, id string, what string, ok func(*store.App) bool) *store.App {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		e, err := st.Apps.Get(ctx, "acct", id)
		cancel()
		if err == nil && ok(&e.Value) {
			return &e.Value
		}
		if time.Now().After(deadline) {
			t.Fatalf("app %s never %s (last: %+v, %v)", id, what, e, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The collector follows a cluster's answers: discovering → ready, ready →
// unavailable while the cluster does not answer, back to ready; an app whose
// cluster is not configured fails; Stop leaves no goroutine behind.
func TestCollectorStates(t *testing.T) {
	env := natstest.Start(t)
	ctx := natstest.Context(t, time.Minute)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	backend := clustertest.New(events.Container{NamespaceName: "payroll", PodName: "db-0", ContainerName: "mysql", ContainerImage: "mysql:8.4"})
	reg := clustertest.Registry(t, map[string]*clustertest.Backend{"prod-eu": backend})
	ignore := goleak.IgnoreCurrent() // NATS, its store, the registry
	col, err := cluster.NewCollector(cluster.CollectorConfig{Store: st, Registry: reg, Interval: 50 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := col.Start(ctx); err == nil {
		t.Error("a second Start succeeded")
	}

	app := store.App{Name: "payroll", Version: "2.2", ClusterID: cluster.IDOf("prod-eu"),
		NamespaceScopedResources: []events.NamespaceSelector{{Namespace: "payroll"}}}
	e, err := st.CreateAppV2(ctx, "acct", app, "tester")
	if err != nil {
		t.Fatal(err)
	}
	// No Trigger: the watch finds the app in state discovering.
	ready := waitApp(t, st, e.ID, "ready", func(a *store.App) bool { return a.State == store.AppStateReady })
	if ready.LastResourceCollection.IsZero() || len(ready.StateDetails) != 0 || ready.Name != "payroll" {
		t.Fatalf("ready app: %+v", ready)
	}

	backend.SetDown(errors.New("connection refused"))
	down := waitApp(t, st, e.ID, "unavailable", func(a *store.App) bool { return a.State == store.AppStateUnavailable })
	if len(down.StateDetails) != 1 || down.StateDetails[0].Type != events.DetailClusterUnavailable || !down.LastResourceCollection.Equal(ready.LastResourceCollection) {
		t.Fatalf("unavailable app: %+v", down)
	}
	backend.SetDown(nil)
	waitApp(t, st, e.ID, "ready again", func(a *store.App) bool { return a.State == store.AppStateReady })

	app.Name, app.ClusterID = "gone", cluster.IDOf("gone")
	g, err := st.CreateAppV2(ctx, "acct", app, "tester")
	if err != nil {
		t.Fatal(err)
	}
	col.Trigger("acct", g.ID)
	failed := waitApp(t, st, g.ID, "failed", func(a *store.App) bool { return a.State == store.AppStateFailed })
	if len(failed.StateDetails) != 1 || failed.StateDetails[0].Type != cluster.DetailClusterUnknown {
		t.Fatalf("failed app: %+v", failed)
	}

	// Static apps and deleted apps are left alone.
	s, err := st.CreateApp(ctx, "acct", store.App{Name: "static"}, "tester")
	if err != nil {
		t.Fatal(err)
	}
	col.Trigger("acct", s.ID)
	col.Trigger("acct", "no-such-app")
	if err := st.DeleteApp(ctx, "acct", g.ID, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // a few intervals: nothing may recreate the deleted app
	if _, err := st.Apps.Get(ctx, "acct", g.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted app: %v", err)
	}
	if got, _ := st.Apps.Get(ctx, "acct", s.ID); got.Value.State != "" {
		t.Fatalf("static app got a state: %+v", got.Value)
	}

	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := col.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, ignore)
}
