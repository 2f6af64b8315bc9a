package api_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/cluster/clustertest"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// clusterHarness is an API with one Kubernetes cluster, prod-eu (a
// fakeBackend), and a collector of app states.
type clusterHarness struct {
	*harness
	backend *clustertest.Backend
	reg     *cluster.Registry
}

var prodID = cluster.IDOf("prod-eu")

func newClusterHarness(t *testing.T) *clusterHarness {
	t.Helper()
	fb := clustertest.New(
		events.Container{NamespaceName: "payroll", PodName: "db-0", ContainerName: "mysql", ContainerImage: "mysql:8.4",
			PodLabels: []events.Label{{Name: "app.kubernetes.io/name", Value: "mysql"}}},
		events.Container{NamespaceName: "payroll", PodName: "web-0", ContainerName: "nginx", ContainerImage: "nginx:1.27",
			PodLabels: []events.Label{{Name: "app.kubernetes.io/name", Value: "web"}, {Name: "tier", Value: "frontend"}}},
		events.Container{NamespaceName: "shared", PodName: "cache-0", ContainerName: "redis", ContainerImage: "redis:7",
			PodLabels: []events.Label{{Name: "tier", Value: "cache"}}},
	)
	reg := clustertest.Registry(t, map[string]*clustertest.Backend{"prod-eu": fb})
	var col atomic.Pointer[cluster.Collector]
	h := newHarnessWith(t, natstest.Start(t), api.Config{Clusters: reg, AppCreated: func(account, id string) {
		if c := col.Load(); c != nil {
			c.Trigger(account, id)
		}
	}})
	c, err := cluster.NewCollector(cluster.CollectorConfig{Store: h.store, Registry: reg, Interval: 200 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.Store(c)
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(10 * time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return &clusterHarness{harness: h, backend: fb, reg: reg}
}

func payrollApp() map[string]any {
	return map[string]any{
		"type": "application/astra-app", "version": "2.1", "name": "payroll", "clusterID": "prod-eu",
		"namespaceScopedResources": []map[string]any{
			{"namespace": "payroll", "labelSelectors": []string{"app.kubernetes.io/name=mysql"}},
			{"namespace": "shared", "labelSelectors": []string{"tier notin (frontend)"}},
		},
		"clusterScopedResources": []map[string]any{
			{"GVK": map[string]string{"group": "rbac.authorization.k8s.io", "version": "v1", "kind": "ClusterRole"}, "labelSelectors": []string{"app=payroll"}},
		},
		"metadata": map[string]any{"labels": []map[string]string{{"name": "team", "value": "hr"}}},
	}
}

// waitState polls the app until its state is want.
func (h *clusterHarness) waitState(t *testing.T, id, want string) response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := h.do(http.MethodGet, acctPath("/k8s/v2/apps/"+id), viewerToken, nil)
		if res.status != 200 {
			t.Fatalf("GET app: %d %s", res.status, res.raw)
		}
		if res.body["state"] == want {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %v, want %s: %s", res.body["state"], want, res.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAppV2Lifecycle(t *testing.T) {
	t.Parallel()
	h := newClusterHarness(t)
	h.seedRefs() // a static app and a source

	// Names are unique among every app of the account.
	h.do(http.MethodPost, acctPath("/k8s/v2/apps"), memberToken, payrollApp()).wantProblem(t, 409, 10, "name")
	app := payrollApp()
	app["name"] = "payroll-v2"
	res := h.do(http.MethodPost, acctPath("/k8s/v2/apps"), memberToken, app)
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.raw)
	}
	id, _ := res.body["id"].(string)
	if !uuidV4.MatchString(id) || res.header.Get("Location") != acctPath("/k8s/v2/apps/"+id) || res.header.Get("ETag") == "" ||
		res.header.Get("Content-Type") != "application/astra-app+json" {
		t.Fatalf("create answer: %v %s", res.header, res.raw)
	}
	b := res.body
	for field, want := range map[string]any{
		"type": "application/astra-app", "version": "2.1", "name": "payroll-v2", "clusterID": prodID,
		"clusterName": "prod-eu", "clusterType": "kubernetes", "protectionState": "none",
	} {
		if b[field] != want {
			t.Errorf("%s = %v, want %v", field, b[field], want)
		}
	}
	if st := b["state"]; st != "discovering" && st != "ready" {
		t.Errorf("state %v at creation", st)
	}
	if ns := b["namespaces"].([]any); len(ns) != 2 || ns[0] != "payroll" || ns[1] != "shared" {
		t.Errorf("namespaces %v", ns)
	}
	if tr := b["stateTransitions"].([]any); len(tr) != 5 {
		t.Errorf("stateTransitions %v", tr)
	}
	if csr := b["clusterScopedResources"].([]any); len(csr) != 1 {
		t.Errorf("clusterScopedResources %v", csr)
	}
	meta := b["metadata"].(map[string]any)
	if !astraTime.MatchString(meta["creationTimestamp"].(string)) || len(meta["labels"].([]any)) != 1 {
		t.Errorf("metadata %v", meta)
	}

	got := h.waitState(t, id, "ready")
	if ts, _ := got.body["lastResourceCollectionTimestamp"].(string); !astraTime.MatchString(ts) {
		t.Errorf("lastResourceCollectionTimestamp %q", ts)
	}
	if d := got.body["stateDetails"].([]any); len(d) != 0 {
		t.Errorf("stateDetails %v", d)
	}
	if got.body["version"] != "2.2" {
		t.Errorf("GET answers version %v, want the newest, 2.2", got.body["version"])
	}
	if v := h.do(http.MethodGet, acctPath("/k8s/v2/apps/"+id), viewerToken, nil, "Accept", "application/astra-app+json; version=2.0"); v.body["version"] != "2.0" {
		t.Errorf("Accept version=2.0: %s", v.raw)
	}
	h.do(http.MethodGet, acctPath("/k8s/v2/apps/"+id), viewerToken, nil, "Accept", "application/astra-app+json; version=1.0").wantProblem(t, 404, 30, "Accept")

	// Each kind on its own path.
	list := h.do(http.MethodGet, acctPath("/k8s/v2/apps"), viewerToken, nil)
	if items := list.body["items"].([]any); list.status != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Fatalf("v2 list: %s", list.raw)
	}
	static := h.do(http.MethodGet, acctPath("/hookshot/v1/apps"), viewerToken, nil)
	if items := static.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != seedAppID {
		t.Fatalf("static list: %s", static.raw)
	}
	h.do(http.MethodGet, acctPath("/hookshot/v1/apps/"+id), viewerToken, nil).wantProblem(t, 404, 1)
	h.do(http.MethodDelete, acctPath("/hookshot/v1/apps/"+id), memberToken, nil).wantProblem(t, 404, 1)
	// Astra's app 1.x path shows both, read only, in the 1.x shape: one
	// namespace, the cluster, a state, and no Hookshot-only field.
	v1 := h.do(http.MethodGet, acctPath("/k8s/v1/apps"), viewerToken, nil)
	items, _ := v1.body["items"].([]any)
	if v1.status != 200 || len(items) != 2 {
		t.Fatalf("v1 list: %s", v1.raw)
	}
	for _, it := range items {
		app := it.(map[string]any)
		if app["version"] != "1.2" || app["state"] != "running" || app["namespace"] != "payroll" || app["containers"] != nil || app["namespaceScopedResources"] != nil {
			t.Errorf("v1 item: %v", app)
		}
		if want := map[string]string{id: "prod-eu", seedAppID: "local"}[app["id"].(string)]; app["clusterName"] != want {
			t.Errorf("v1 item %s: clusterName %v, want %s", app["id"], app["clusterName"], want)
		}
	}
	if got := h.do(http.MethodGet, acctPath("/k8s/v1/apps/"+id), viewerToken, nil); got.status != 200 || got.body["clusterName"] != "prod-eu" {
		t.Fatalf("v1 get of an app 2.x: %s", got.raw)
	}
	h.do(http.MethodDelete, acctPath("/k8s/v1/apps/"+id), memberToken, nil).wantProblem(t, 405, 69)
	h.do(http.MethodPost, acctPath("/k8s/v1/apps"), memberToken, map[string]any{"type": "application/astra-app", "version": "1.0", "name": "x"}).wantProblem(t, 405, 69)
	h.do(http.MethodGet, acctPath("/k8s/v2/apps/"+seedAppID), viewerToken, nil).wantProblem(t, 404, 1)
	filtered := h.do(http.MethodGet, acctPath("/k8s/v2/apps?filter=state%20eq%20'ready'&include=name,clusterName"), viewerToken, nil)
	if items := filtered.body["items"].([]any); len(items) != 1 || items[0].([]any)[1] != "prod-eu" {
		t.Fatalf("filtered list: %s", filtered.raw)
	}

	// App-scoped paths take its id; matchingContainers are discovered.
	hook := seedHook()
	hook["appID"] = id
	hook["matchingCriteria"] = []map[string]string{{"type": "containerImage", "value": "mysql|redis"}}
	hr := h.do(http.MethodPost, acctPath("/k8s/v1/apps/"+id+"/executionHooks"), memberToken, hook)
	if hr.status != 201 {
		t.Fatalf("hook of an app 2.x: %d %s", hr.status, hr.raw)
	}
	if mc := hr.body["matchingContainers"].([]any); len(mc) != 2 {
		t.Errorf("matchingContainers %v, want mysql and redis", mc)
	}
	x := h.do(http.MethodGet, acctPath("/k8s/v1/apps/"+id+"/explain?action=snapshot&stage=pre"), viewerToken, nil)
	if x.status != 200 || len(x.body["containers"].([]any)) != 2 || x.body["clusterName"] != "prod-eu" {
		t.Fatalf("explain: %d %s", x.status, x.raw)
	}

	// PUT renames; what it selects is fixed.
	h.do(http.MethodPut, acctPath("/k8s/v2/apps/"+id), memberToken, map[string]any{"type": "application/astra-app", "version": "2.2", "name": "payroll-eu"}).wantStatus(t, 204)
	if g := h.do(http.MethodGet, acctPath("/k8s/v2/apps/"+id), viewerToken, nil); g.body["name"] != "payroll-eu" || g.body["state"] != "ready" ||
		len(g.body["metadata"].(map[string]any)["labels"].([]any)) != 1 {
		t.Errorf("after rename: %s", g.raw)
	}
	h.do(http.MethodPut, acctPath("/k8s/v2/apps/"+id), memberToken, map[string]any{"type": "application/astra-app", "version": "2.2",
		"namespaceScopedResources": []map[string]any{{"namespace": "other"}}}).wantProblem(t, 400, 137, "namespaceScopedResources")
	h.do(http.MethodPut, acctPath("/k8s/v2/apps/"+id), memberToken, map[string]any{"type": "application/astra-app", "version": "2.2",
		"name": "payroll"}).wantProblem(t, 409, 10, "name")

	h.do(http.MethodDelete, acctPath("/k8s/v2/apps/"+id), memberToken, nil).wantStatus(t, 204)
	h.do(http.MethodGet, acctPath("/k8s/v2/apps/"+id), viewerToken, nil).wantProblem(t, 404, 1)
	// The name is free again.
	h.do(http.MethodPost, acctPath("/k8s/v2/apps"), memberToken, app).wantStatus(t, 201)
}

func (r response) wantStatus(t *testing.T, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
}

func TestAppV2BadBodies(t *testing.T) {
	t.Parallel()
	h := newClusterHarness(t)
	with := func(change func(m map[string]any)) map[string]any {
		m := payrollApp()
		change(m)
		return m
	}
	for _, tc := range []struct {
		name   string
		given  any
		status int
		number int
		fields []string
	}{
		{"unknown cluster", with(func(m map[string]any) { m["clusterID"] = "nowhere" }), 400, 106, []string{"clusterID"}},
		{"unknown cluster id", with(func(m map[string]any) { m["clusterID"] = cluster.IDOf("nowhere") }), 400, 106, []string{"clusterID"}},
		{"static cluster", with(func(m map[string]any) { m["clusterID"] = "local" }), 400, 9, []string{"clusterID"}},
		{"no cluster", with(func(m map[string]any) { delete(m, "clusterID") }), 400, 8, []string{"clusterID"}},
		{"no namespace", with(func(m map[string]any) { m["namespaceScopedResources"] = []any{} }), 400, 8, []string{"namespaceScopedResources"}},
		{"namespaces absent", with(func(m map[string]any) { delete(m, "namespaceScopedResources") }), 400, 8, []string{"namespaceScopedResources"}},
		{"bad namespace", with(func(m map[string]any) {
			m["namespaceScopedResources"] = []map[string]any{{"namespace": "Payroll_NS"}}
		}), 400, 8, []string{"namespaceScopedResources[0].namespace"}},
		{"bad selector", with(func(m map[string]any) {
			m["namespaceScopedResources"] = []map[string]any{{"namespace": "payroll"}, {"namespace": "shared", "labelSelectors": []string{"tier notin frontend"}}}
		}), 400, 9, []string{"namespaceScopedResources[1].labelSelectors[0]"}},
		{"bad selector and static cluster", with(func(m map[string]any) {
			m["clusterID"] = "local"
			m["namespaceScopedResources"] = []map[string]any{{"namespace": "payroll", "labelSelectors": []string{"a=b", "=="}}}
		}), 400, 9, []string{"clusterID", "namespaceScopedResources[0].labelSelectors[1]"}},
		{"unknown field", with(func(m map[string]any) { m["colour"] = "red" }), 400, 8, []string{"colour"}},
		{"unknown nested field", with(func(m map[string]any) {
			m["namespaceScopedResources"] = []map[string]any{{"namespace": "payroll", "selector": "a=b"}}
		}), 400, 8, []string{"namespaceScopedResources[0].selector"}},
		{"read-only field", with(func(m map[string]any) { m["state"] = "ready" }), 400, 8, []string{"state"}},
		{"wrong type", with(func(m map[string]any) { m["namespaceScopedResources"] = "payroll" }), 400, 8, []string{"namespaceScopedResources"}},
		{"cluster-scoped not an object", with(func(m map[string]any) { m["clusterScopedResources"] = []any{"x"} }), 400, 8, []string{"clusterScopedResources[0]"}},
		{"version", with(func(m map[string]any) { m["version"] = "1.0" }), 400, 8, []string{"version"}},
		{"type", with(func(m map[string]any) { m["type"] = "application/astra-cluster" }), 400, 8, []string{"type"}},
		{"id", with(func(m map[string]any) { m["id"] = seedAppID }), 400, 8, []string{"id"}},
		{"long name", with(func(m map[string]any) { m["name"] = strings.Repeat("n", 64) }), 400, 8, []string{"name"}},
		{"not JSON", `{"name":`, 400, 7, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.do(http.MethodPost, acctPath("/k8s/v2/apps"), memberToken, tc.given).wantProblem(t, tc.status, tc.number, tc.fields...)
		})
	}
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if apps, err := h.store.Apps.List(ctx, account); err != nil || len(apps) != 0 {
		t.Fatalf("bad bodies stored %d apps (%v)", len(apps), err)
	}
	h.do(http.MethodPost, acctPath("/k8s/v2/apps"), viewerToken, payrollApp()).wantProblem(t, 403, 11)
}

func TestAppV2UnavailableCluster(t *testing.T) {
	t.Parallel()
	h := newClusterHarness(t)
	h.backend.SetDown(errors.New("dial tcp 10.0.0.1:6443: connect: connection refused"))
	app := payrollApp()
	app["name"] = "payroll-down"
	res := h.do(http.MethodPost, acctPath("/k8s/v2/apps"), memberToken, app)
	res.wantStatus(t, 201)
	id := res.body["id"].(string)
	got := h.waitState(t, id, "unavailable")
	details := got.body["stateDetails"].([]any)
	if len(details) != 1 {
		t.Fatalf("stateDetails %v", details)
	}
	d := details[0].(map[string]any)
	if d["title"] != "Cluster unavailable" || !strings.Contains(d["detail"].(string), "prod-eu") || !strings.Contains(d["detail"].(string), "connection refused") {
		t.Errorf("stateDetail %v", d)
	}
	if _, ok := got.body["lastResourceCollectionTimestamp"]; ok {
		t.Errorf("never collected, yet lastResourceCollectionTimestamp: %s", got.raw)
	}
	x := h.do(http.MethodGet, acctPath("/k8s/v1/apps/"+id+"/explain?action=snapshot&stage=pre"), viewerToken, nil)
	x.wantProblem(t, 503, 41)
	if !strings.Contains(x.body["detail"].(string), "prod-eu") {
		t.Errorf("explain problem does not name the cluster: %s", x.raw)
	}
	// The list of hooks still answers, with no matching container.
	hook := seedHook()
	hook["appID"] = id
	h.seedRefs()
	hr := h.do(http.MethodPost, acctPath("/k8s/v1/apps/"+id+"/executionHooks"), memberToken, hook)
	hr.wantStatus(t, 201)
	if mc := hr.body["matchingContainers"].([]any); len(mc) != 0 {
		t.Errorf("matchingContainers of an unreachable cluster: %v", mc)
	}
	cl := h.do(http.MethodGet, acctPath("/topology/v1/clusters/"+prodID), viewerToken, nil)
	if cl.body["state"] != "unavailable" || len(cl.body["stateUnready"].([]any)) != 1 {
		t.Errorf("cluster of an unavailable backend: %s", cl.raw)
	}

	// Back: the next collection makes it ready.
	h.backend.SetDown(nil)
	h.waitState(t, id, "ready")
}

func TestAppV2FailedAndNothingMatched(t *testing.T) {
	t.Parallel()
	h := newClusterHarness(t)
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	// An app whose cluster is no longer configured.
	e, err := h.store.CreateAppV2(ctx, account, store.App{Name: "gone", Version: "2.2", ClusterID: cluster.IDOf("gone"),
		NamespaceScopedResources: []events.NamespaceSelector{{Namespace: "x"}}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	got := h.waitState(t, e.ID, "failed")
	if d := got.body["stateDetails"].([]any); len(d) != 1 || d[0].(map[string]any)["title"] != "Cluster not configured" {
		t.Errorf("stateDetails %s", got.raw)
	}

	// A selector matching nothing: ready, and explain says so.
	app := payrollApp()
	app["name"] = "empty"
	app["namespaceScopedResources"] = []map[string]any{{"namespace": "payroll", "labelSelectors": []string{"app.kubernetes.io/name=postgres"}}}
	res := h.do(http.MethodPost, acctPath("/k8s/v2/apps"), memberToken, app)
	res.wantStatus(t, 201)
	id := res.body["id"].(string)
	h.waitState(t, id, "ready")
	x := h.do(http.MethodGet, acctPath("/k8s/v1/apps/"+id+"/explain?action=backup&stage=post"), viewerToken, nil)
	if x.status != 200 || len(x.body["containers"].([]any)) != 0 || !strings.Contains(x.body["message"].(string), "no container of cluster prod-eu matched") {
		t.Fatalf("explain of an app matching nothing: %s", x.raw)
	}
}

func TestTopology(t *testing.T) {
	t.Parallel()
	h := newClusterHarness(t)
	list := h.do(http.MethodGet, acctPath("/topology/v1/clusters"), viewerToken, nil)
	items := list.body["items"].([]any)
	if list.status != 200 || list.body["type"] != "application/astra-clusters" || list.body["version"] != "1.5" || len(items) != 2 {
		t.Fatalf("clusters: %s", list.raw)
	}
	byName := map[string]map[string]any{}
	var ids []string
	for _, it := range items {
		m := it.(map[string]any)
		byName[m["name"].(string)] = m
		ids = append(ids, m["id"].(string))
	}
	if !slices.IsSorted(ids) {
		t.Errorf("clusters not sorted by id: %v", ids)
	}
	prod, local := byName["prod-eu"], byName["local"]
	if prod == nil || local == nil {
		t.Fatalf("clusters %v", byName)
	}
	for field, want := range map[string]any{"id": prodID, "type": "application/astra-cluster", "state": "running",
		"managedState": "managed", "clusterType": "kubernetes", "inUse": "false"} {
		if prod[field] != want {
			t.Errorf("prod-eu %s = %v, want %v", field, prod[field], want)
		}
	}
	if local["clusterType"] != "static" || len(prod["stateUnready"].([]any)) != 0 || len(prod["namespaces"].([]any)) != 0 {
		t.Errorf("clusters: %s", list.raw)
	}
	for _, secret := range []string{"kubeconfig", "host", "token", "context"} {
		if strings.Contains(strings.ToLower(string(list.raw)), `"`+secret) {
			t.Errorf("cluster list shows %s: %s", secret, list.raw)
		}
	}

	h.do(http.MethodPost, acctPath("/k8s/v2/apps"), memberToken, payrollApp()).wantStatus(t, 201)
	one := h.do(http.MethodGet, acctPath("/topology/v1/clusters/"+prodID), viewerToken, nil, "Accept", "application/astra-cluster+json; version=1.3")
	if one.status != 200 || one.body["inUse"] != "true" || one.body["version"] != "1.3" || one.header.Get("Content-Type") != "application/astra-cluster+json" {
		t.Fatalf("cluster: %s", one.raw)
	}
	filtered := h.do(http.MethodGet, acctPath("/topology/v1/clusters?filter=clusterType%20eq%20'kubernetes'&include=name"), viewerToken, nil)
	if items := filtered.body["items"].([]any); len(items) != 1 || items[0].([]any)[0] != "prod-eu" {
		t.Errorf("filtered clusters: %s", filtered.raw)
	}
	h.do(http.MethodGet, acctPath("/topology/v1/clusters/"+seedAppID), viewerToken, nil).wantProblem(t, 404, 1)
	res := h.do(http.MethodPost, acctPath("/topology/v1/clusters"), adminToken, `{}`)
	res.wantProblem(t, 405, 69)
	if res.header.Get("Allow") != "GET" {
		t.Errorf("Allow %q", res.header.Get("Allow"))
	}
	h.do(http.MethodDelete, acctPath("/topology/v1/clusters/"+prodID), adminToken, nil).wantProblem(t, 405, 69)

	clouds := h.do(http.MethodGet, acctPath("/topology/v1/clouds"), viewerToken, nil)
	citems := clouds.body["items"].([]any)
	if clouds.status != 200 || len(citems) != 1 {
		t.Fatalf("clouds: %s", clouds.raw)
	}
	cloud := citems[0].(map[string]any)
	if cloud["name"] != "local" || cloud["cloudType"] != "private" || cloud["type"] != "application/astra-cloud" || cloud["id"] != prod["cloudID"] {
		t.Errorf("cloud %v", cloud)
	}
	if c := h.do(http.MethodGet, acctPath("/topology/v1/clouds/"+cloud["id"].(string)), viewerToken, nil); c.status != 200 || c.body["name"] != "local" {
		t.Errorf("cloud: %s", c.raw)
	}
	buckets := h.do(http.MethodGet, acctPath("/topology/v1/buckets"), viewerToken, nil)
	if buckets.status != 200 || len(buckets.body["items"].([]any)) != 0 || buckets.body["type"] != "application/astra-buckets" {
		t.Errorf("buckets: %s", buckets.raw)
	}
	h.do(http.MethodPost, acctPath("/topology/v1/buckets"), adminToken, `{}`).wantProblem(t, 405, 69)
}
