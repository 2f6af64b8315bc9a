package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
)

const missingID = "0c4d9f3e-2b1a-4c5d-9e8f-7a6b5c4d3e2f"

// newActionHarness runs the API with a driver that is not started: actions
// are stored and stay pending unless a test finishes them (finish).
func newActionHarness(t *testing.T, wrap func(*driver.Driver) api.Actions) (*harness, *driver.Driver) {
	t.Helper()
	env := natstest.Start(t)
	ctx := natstest.Context(t, time.Minute)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	d, err := driver.New(ctx, driver.Config{JS: env.JS, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var acts api.Actions = d
	if wrap != nil {
		acts = wrap(d)
	}
	h := newHarnessWith(t, env, api.Config{Actions: acts})
	h.seedRefs()
	return h, d
}

// finish marks a stored action completed, as a driver would, and returns
// its new revision.
func (h *harness) finish(id string) uint64 {
	h.t.Helper()
	ctx := natstest.Context(h.t, 10*time.Second)
	kv, err := h.env.JS.KeyValue(ctx, events.BucketActions)
	if err != nil {
		h.t.Fatal(err)
	}
	e, err := kv.Get(ctx, account+"."+id)
	if err != nil {
		h.t.Fatal(err)
	}
	var a driver.Action
	if err := json.Unmarshal(e.Value(), &a); err != nil {
		h.t.Fatal(err)
	}
	a.State = driver.StateCompleted
	raw, _ := json.Marshal(&a)
	rev, err := kv.Update(ctx, account+"."+id, raw, e.Revision())
	if err != nil {
		h.t.Fatal(err)
	}
	return rev
}

// resourcePaths creates a hook and an action of the seed app and returns
// the paths of a hook, a source, an app and an action.
func (h *harness) resourcePaths(d *driver.Driver) []string {
	h.t.Helper()
	res := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook())
	if res.status != http.StatusCreated {
		h.t.Fatalf("create hook: %s", res.raw)
	}
	a, _, err := d.Create(natstest.Context(h.t, 10*time.Second), driver.Action{Account: account, AppID: seedAppID, Kind: driver.KindSnapshot}, "test")
	if err != nil {
		h.t.Fatal(err)
	}
	return []string{
		acctPath("/core/v1/executionHooks/" + res.body["id"].(string)),
		acctPath("/k8s/v1/apps/" + seedAppID + "/executionHooks/" + res.body["id"].(string)),
		acctPath("/core/v1/hookSources/" + seedSourceID),
		acctPath("/k8s/v1/apps/" + seedAppID),
		acctPath("/k8s/v1/apps/" + seedAppID + "/appSnaps/" + a.ID),
	}
}

func (r response) wantUnavailable(t *testing.T, path string) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("GET %s: status %d, Retry-After %q, want 503 with Retry-After: %s", path, r.status, r.header.Get("Retry-After"), r.raw)
	}
	r.wantProblem(t, 503, 24)
}

func TestStorageOutageIsUnavailableNotNotFound(t *testing.T) {
	t.Parallel()
	h, d := newActionHarness(t, nil)
	paths := h.resourcePaths(d)
	for _, p := range paths {
		if r := h.do(http.MethodGet, p, viewerToken, nil); r.status != http.StatusOK {
			t.Fatalf("GET %s before the outage: %d %s", p, r.status, r.raw)
		}
	}
	// A truly missing id is 404.
	for _, p := range []string{
		acctPath("/core/v1/executionHooks/" + missingID),
		acctPath("/core/v1/hookSources/" + missingID),
		acctPath("/k8s/v1/apps/" + missingID),
		acctPath("/k8s/v1/apps/" + seedAppID + "/appSnaps/" + missingID),
	} {
		h.do(http.MethodGet, p, viewerToken, nil).wantProblem(t, 404, 1)
	}
	h.do(http.MethodGet, acctPath("/k8s/v1/apps/"+missingID+"/appSnaps"), viewerToken, nil).wantProblem(t, 404, 2)

	h.env.Conn.Close() // the store's connection
	for _, p := range append(paths, acctPath("/core/v1/executionHooks/"+missingID), acctPath("/k8s/v1/apps/"+seedAppID+"/appSnaps")) {
		h.do(http.MethodGet, p, viewerToken, nil).wantUnavailable(t, p)
	}
	h.do(http.MethodDelete, paths[0], memberToken, nil).wantProblem(t, 503, 24)
}

func TestStoppedNATSIsUnavailable(t *testing.T) {
	t.Parallel()
	h, d := newActionHarness(t, nil)
	paths := h.resourcePaths(d)
	ctx := natstest.Context(t, 10*time.Second)
	h.env.Server.Shutdown(ctx) // the connection stays, reconnecting
	// Each request waits for JetStream's default timeout: ask two.
	for _, p := range []string{paths[0], paths[4]} {
		h.do(http.MethodGet, p, viewerToken, nil).wantUnavailable(t, p)
	}
}

func TestConcurrentActionsOfOneNameOneCreated(t *testing.T) {
	t.Parallel()
	h, _ := newActionHarness(t, nil)
	snaps := acctPath("/k8s/v1/apps/" + seedAppID + "/appSnaps")
	body := map[string]any{"type": "application/astra-appSnap", "version": "1.3", "name": "nightly"}
	const n = 16
	res := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = h.do(http.MethodPost, snaps, memberToken, body)
		}()
	}
	wg.Wait()
	var created []string
	for _, r := range res {
		if r.status == http.StatusCreated {
			created = append(created, r.body["id"].(string))
			continue
		}
		r.wantProblem(t, 409, 176, "name")
	}
	if len(created) != 1 {
		t.Fatalf("%d of %d POSTs of one name created an appSnap, want 1: %v", len(created), n, created)
	}
	// Deleting the appSnap frees its name.
	h.finish(created[0])
	if r := h.do(http.MethodDelete, snaps+"/"+created[0], memberToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := h.do(http.MethodPost, snaps, memberToken, body); r.status != http.StatusCreated {
		t.Fatalf("create after delete: %d %s", r.status, r.raw)
	}
}

// racingActions updates an action between the API's read and its delete,
// as a concurrent writer would.
type racingActions struct {
	*driver.Driver
	mu     sync.Mutex
	before func(id string)
}

func (r *racingActions) Delete(ctx context.Context, account, id string, rev uint64) error {
	r.mu.Lock()
	before := r.before
	r.mu.Unlock()
	if before != nil {
		before(id)
	}
	return r.Driver.Delete(ctx, account, id, rev)
}

func TestDeleteActionIsCompareAndSet(t *testing.T) {
	t.Parallel()
	race := &racingActions{}
	h, d := newActionHarness(t, func(d *driver.Driver) api.Actions { race.Driver = d; return race })
	a, _, err := d.Create(natstest.Context(t, 10*time.Second), driver.Action{Account: account, AppID: seedAppID, Kind: driver.KindSnapshot, Name: "cas"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	path := acctPath("/k8s/v1/apps/" + seedAppID + "/appSnaps/" + a.ID)
	stale := h.finish(a.ID)
	h.finish(a.ID)
	// An If-Match the action no longer has.
	h.do(http.MethodDelete, path, memberToken, nil, "If-Match", `"`+itoa(int(stale))+`"`).wantProblem(t, 412, 38)

	// The current one, but the action moves between the API's read and the delete.
	etag := h.do(http.MethodGet, path, viewerToken, nil).header.Get("ETag")
	race.mu.Lock()
	race.before = func(id string) { h.finish(id) }
	race.mu.Unlock()
	h.do(http.MethodDelete, path, memberToken, nil, "If-Match", etag).wantProblem(t, 412, 38)
	race.mu.Lock()
	race.before = nil
	race.mu.Unlock()

	etag = h.do(http.MethodGet, path, viewerToken, nil).header.Get("ETag")
	if r := h.do(http.MethodDelete, path, memberToken, nil, "If-Match", etag); r.status != http.StatusNoContent {
		t.Fatalf("delete at the current ETag: %d %s", r.status, r.raw)
	}
	h.do(http.MethodGet, path, viewerToken, nil).wantProblem(t, 404, 1)
}
