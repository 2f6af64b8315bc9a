package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// The seeds' identifiers.
const (
	seedSourceID = "50e89023-ba84-435d-bb47-1833f4c250ff"
	seedAppID    = "7be5ae7c-151d-4230-ac39-ac1d0b33c2a9"
	seedSource   = "ZWNobyAiVkhKaGJuTWdVbWxuYUhSeklRPT0iIHwgYmFzZTY0IC1k"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
var astraTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$`)

// seedHook is the example request of astra-core-create-execution-hook.
func seedHook() map[string]any {
	return map[string]any{
		"type": "application/astra-executionHook", "version": "1.3", "name": "Payroll", "hookType": "custom",
		"action": "snapshot", "stage": "pre", "hookSourceID": seedSourceID, "arguments": []string{"freeze"},
		"appID": seedAppID, "enabled": "true", "description": "Payroll production hook",
	}
}

// seedRefs stores the source and app the seed hook refers to.
func (h *harness) seedRefs() {
	h.t.Helper()
	ctx := natstest.Context(h.t, 10*time.Second)
	src := executor.HookSource{ID: seedSourceID, Type: executor.TypeHookSource, Version: "1.0", Name: "seed script", SourceType: "script", Source: seedSource}
	if _, err := h.store.SaveSource(ctx, account, src, "test"); err != nil {
		h.t.Fatal(err)
	}
	app := store.App{ID: seedAppID, Name: "payroll", Containers: []events.Container{
		{NamespaceName: "payroll", PodName: "mariadb-0", ContainerName: "mariadb", ContainerImage: "docker.io/bitnami/mariadb:10.11",
			PodLabels: []events.Label{{Name: "app", Value: "mariadb"}}},
		{NamespaceName: "payroll", PodName: "web-0", ContainerName: "web", ContainerImage: "nginx:1.27"},
	}}
	if _, err := h.store.SaveApp(ctx, account, app, "test"); err != nil {
		h.t.Fatal(err)
	}
}

func TestCreateExecutionHookAsTheSeed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	res := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook())
	if res.status != http.StatusCreated {
		t.Fatalf("status %d: %s", res.status, res.raw)
	}
	b := res.body
	for k, want := range seedHook() {
		if k == "arguments" {
			continue
		}
		if b[k] != want {
			t.Errorf("%s = %v, want %v", k, b[k], want)
		}
	}
	id, _ := b["id"].(string)
	if !uuidV4.MatchString(id) || res.header.Get("Location") != acctPath("/core/v1/executionHooks/"+id) || res.header.Get("ETag") == "" {
		t.Fatalf("id %q, Location %q, ETag %q", id, res.header.Get("Location"), res.header.Get("ETag"))
	}
	if fmt.Sprint(b["arguments"]) != "[freeze]" || fmt.Sprint(b["matchingCriteria"]) != "[]" {
		t.Errorf("arguments %v matchingCriteria %v", b["arguments"], b["matchingCriteria"])
	}
	// No criteria: every container of the app matches.
	if mc, _ := b["matchingContainers"].([]any); len(mc) != 2 {
		t.Errorf("matchingContainers %v", b["matchingContainers"])
	}
	if fmt.Sprint(b["matchingImages"]) != "[docker.io/bitnami/mariadb:10.11 nginx:1.27]" {
		t.Errorf("matchingImages %v", b["matchingImages"])
	}
	md := b["metadata"].(map[string]any)
	if !astraTime.MatchString(fmt.Sprint(md["creationTimestamp"])) || !uuidV4.MatchString(fmt.Sprint(md["createdBy"])) && md["createdBy"] == "" || fmt.Sprint(md["labels"]) != "[]" {
		t.Errorf("metadata %v", md)
	}

	got := h.do(http.MethodGet, acctPath("/core/v1/executionHooks/"+id), viewerToken, nil)
	if got.status != 200 || got.body["name"] != "Payroll" || got.header.Get("ETag") != res.header.Get("ETag") {
		t.Fatalf("get: %d %s", got.status, got.raw)
	}
	// The same hook through the app's path.
	if got := h.do(http.MethodGet, acctPath("/k8s/v1/apps/"+seedAppID+"/executionHooks/"+id), viewerToken, nil); got.status != 200 {
		t.Fatalf("app-scoped get: %d %s", got.status, got.raw)
	}
	// Criteria narrow matchingContainers; PUT merges and answers 204.
	put := h.do(http.MethodPut, acctPath("/core/v1/executionHooks/"+id), memberToken, map[string]any{
		"type": "application/astra-executionHook", "version": "1.2",
		"matchingCriteria": []map[string]string{{"type": "containerImage", "value": `\bmariadb\b`}, {"type": "podLabel", "value": "^app=mariadb$"}},
	}, "If-Match", res.header.Get("ETag"))
	if put.status != http.StatusNoContent || put.header.Get("ETag") == res.header.Get("ETag") {
		t.Fatalf("put: %d %s", put.status, put.raw)
	}
	got = h.do(http.MethodGet, acctPath("/core/v1/executionHooks/"+id), viewerToken, nil)
	if mc, _ := got.body["matchingContainers"].([]any); len(mc) != 1 || mc[0].(map[string]any)["containerName"] != "mariadb" {
		t.Errorf("matchingContainers after PUT %v", got.body["matchingContainers"])
	}
	if got.body["description"] != "Payroll production hook" || got.body["name"] != "Payroll" {
		t.Errorf("PUT lost fields: %s", got.raw)
	}
	h.do(http.MethodPut, acctPath("/core/v1/executionHooks/"+id), memberToken, map[string]any{"type": "application/astra-executionHook", "version": "1.3"},
		"If-Match", res.header.Get("ETag")).wantProblem(t, 412, 38)
	if del := h.do(http.MethodDelete, acctPath("/core/v1/executionHooks/"+id), memberToken, nil); del.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", del.status, del.raw)
	}
	h.do(http.MethodGet, acctPath("/core/v1/executionHooks/"+id), viewerToken, nil).wantProblem(t, 404, 1)
}

func TestHookSourcesAsTheSeed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	res := h.do(http.MethodPost, acctPath("/core/v1/hookSources"), memberToken, map[string]any{
		"type": "application/astra-hookSource", "version": "1.0", "name": "Payroll script", "sourceType": "script",
		"source": seedSource, "description": "Pre and post hook script for payroll",
	})
	if res.status != 201 || res.body["sourceMD5Checksum"] != "b1a4b8b0144c3f6be553b626130ca145" || res.body["private"] != "false" ||
		res.body["preloaded"] != "false" || res.body["source"] != seedSource {
		t.Fatalf("create: %d %s", res.status, res.raw)
	}
	id := res.body["id"].(string)
	// private hides the script from every read.
	if put := h.do(http.MethodPut, acctPath("/core/v1/hookSources/"+id), memberToken, map[string]any{"type": "application/astra-hookSource", "version": "1.0", "private": "true"}); put.status != 204 {
		t.Fatalf("put private: %d %s", put.status, put.raw)
	}
	got := h.do(http.MethodGet, acctPath("/core/v1/hookSources/"+id), viewerToken, nil)
	if _, shown := got.body["source"]; shown || got.body["private"] != "true" || got.body["sourceMD5Checksum"] != "b1a4b8b0144c3f6be553b626130ca145" {
		t.Fatalf("private source: %s", got.raw)
	}
	list := h.do(http.MethodGet, acctPath("/core/v1/hookSources"), viewerToken, nil)
	if list.body["type"] != "application/astra-hookSources" || strings.Contains(string(list.raw), seedSource) {
		t.Fatalf("list: %s", list.raw)
	}
	// A source used by a hook cannot be deleted.
	h.seedRefs()
	hook := seedHook()
	hook["hookSourceID"] = id
	if r := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, hook); r.status != 201 {
		t.Fatalf("hook: %s", r.raw)
	}
	h.do(http.MethodDelete, acctPath("/core/v1/hookSources/"+id), memberToken, nil).wantProblem(t, 403, 72)
	// Preloaded sources are read only to members, and only admins make them.
	h.do(http.MethodPut, acctPath("/core/v1/hookSources/"+seedSourceID), memberToken, map[string]any{"type": "application/astra-hookSource", "version": "1.0", "preloaded": "true"}).wantProblem(t, 403, 71)
	if r := h.do(http.MethodPut, acctPath("/core/v1/hookSources/"+seedSourceID), adminToken, map[string]any{"type": "application/astra-hookSource", "version": "1.0", "preloaded": "true"}); r.status != 204 {
		t.Fatalf("admin preload: %s", r.raw)
	}
	h.do(http.MethodDelete, acctPath("/core/v1/hookSources/"+seedSourceID), memberToken, nil).wantProblem(t, 403, 71)
}

func TestBadBodiesNameEveryFieldAndStoreNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	hooks := acctPath("/core/v1/executionHooks")
	sources := acctPath("/core/v1/hookSources")
	with := func(base map[string]any, kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	src := map[string]any{"type": "application/astra-hookSource", "version": "1.0", "name": "s", "sourceType": "script", "source": seedSource}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		number int
		fields []string
	}{
		{"not json", hooks, `{"type":`, 400, 7, nil},
		{"unknown fields", hooks, with(seedHook(), "color", "red", "matchingCriteria", []map[string]any{{"type": "podName", "value": "x", "flavour": 1}}), 400, 8, []string{"color", "matchingCriteria[0].flavour"}},
		{"unknown field, wrong type and bad enum together", hooks, with(seedHook(), "color", "red", "name", 7, "stage", "middle"), 400, 8, []string{"color", "name", "stage"}},
		{"wrong types", hooks, with(seedHook(), "name", 5, "arguments", "freeze", "enabled", true), 400, 8, []string{"name", "arguments", "enabled"}},
		{"enums, lengths, ids", hooks, with(seedHook(), "type", "x", "version", "2.0", "name", strings.Repeat("n", 64), "hookType", "other",
			"action", "clone", "stage", "middle", "hookSourceID", "nope", "appID", nil, "enabled", "yes", "description", strings.Repeat("d", 512),
			"arguments", []string{strings.Repeat("a", 128)}), 400, 8,
			[]string{"type", "version", "name", "hookType", "action", "stage", "hookSourceID", "appID", "enabled", "description", "arguments[0]"}},
		{"too many criteria and arguments", hooks, with(seedHook(), "matchingCriteria", func() []map[string]string {
			var out []map[string]string
			for i := range 11 {
				out = append(out, map[string]string{"type": "podName", "value": fmt.Sprint(i)})
			}
			return out
		}(), "arguments", strings.Split(strings.Repeat("a,", 17)+"b", ",")), 400, 8, []string{"matchingCriteria", "arguments"}},
		{"bad regex", hooks, with(seedHook(), "matchingCriteria", []map[string]string{{"type": "podName", "value": "("}}), 400, 9, []string{"matchingCriteria[0].value"}},
		{"restore has no pre", hooks, with(seedHook(), "action", "restore"), 400, 9, []string{"stage"}},
		{"missing source", hooks, with(seedHook(), "hookSourceID", "11111111-1111-4111-8111-111111111111"), 400, 9, []string{"hookSourceID"}},
		{"id on create", hooks, with(seedHook(), "id", "11111111-1111-4111-8111-111111111111"), 400, 8, []string{"id"}},
		{"bad base64", sources, with(src, "source", "not base64!"), 400, 8, []string{"source"}},
		{"carriage return", sources, with(src, "source", b64("echo hi\r\n")), 400, 9, []string{"source"}},
		{"binary", sources, with(src, "source", b64("\x00\x01\x02ELF")), 400, 9, []string{"source"}},
		{"oversize source", sources, with(src, "source", strings.Repeat("QUFB", 131072/4+1)), 400, 8, []string{"source"}},
		{"server fields on create", sources, with(src, "sourceMD5Checksum", "b1a4b8b0144c3f6be553b626130ca145", "preloaded", "true"), 400, 8, []string{"sourceMD5Checksum", "preloaded"}},
		{"body over the limit", sources, with(src, "description", strings.Repeat("x", 300<<10)), 413, 85, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.do(http.MethodPost, tt.path, memberToken, tt.body).wantProblem(t, tt.status, tt.number, tt.fields...)
		})
	}
	ctx := natstest.Context(t, 10*time.Second)
	if hs, _ := h.store.Hooks.List(ctx, account); len(hs) != 0 {
		t.Errorf("%d hooks stored by bad requests", len(hs))
	}
	if ss, _ := h.store.Sources.List(ctx, account); len(ss) != 1 {
		t.Errorf("%d sources stored (want only the seed's)", len(ss))
	}
}

func TestNetAppHooksReadOnlyToMembers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	netapp := seedHook()
	netapp["hookType"] = "netapp"
	h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, netapp).wantProblem(t, 403, 73)
	res := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), adminToken, netapp)
	if res.status != 201 {
		t.Fatalf("admin: %s", res.raw)
	}
	path := acctPath("/core/v1/executionHooks/" + res.body["id"].(string))
	h.do(http.MethodPut, path, memberToken, map[string]any{"type": "application/astra-executionHook", "version": "1.3", "enabled": "false"}).wantProblem(t, 403, 73)
	h.do(http.MethodDelete, path, memberToken, nil).wantProblem(t, 403, 73)
}

func TestNamesUniquePerAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	const n = 12
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() {
			codes <- h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook()).status
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[201] != 1 || count[409] != n-1 {
		t.Fatalf("concurrent same-name creates: %v", count)
	}
	h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook()).wantProblem(t, 409, 10, "name")
	// Renaming frees the old name.
	list := h.do(http.MethodGet, acctPath("/core/v1/executionHooks"), viewerToken, nil)
	id := list.body["items"].([]any)[0].(map[string]any)["id"].(string)
	if r := h.do(http.MethodPut, acctPath("/core/v1/executionHooks/"+id), memberToken, map[string]any{"type": "application/astra-executionHook", "version": "1.3", "name": "Payroll2"}); r.status != 204 {
		t.Fatalf("rename: %s", r.raw)
	}
	if r := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook()); r.status != 201 {
		t.Fatalf("old name not freed: %s", r.raw)
	}
}

// Every route answers the auth matrix: no token, a bad token, another
// account's token, a viewer writing.
func TestAuthMatrixOverEveryRoute(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	for _, rt := range h.api.Routes() {
		if rt.Scope == "public" {
			continue
		}
		path := strings.NewReplacer("{account_id}", account, "{app_id}", seedAppID, "{hook_id}", seedSourceID,
			"{source_id}", seedSourceID, "{id}", seedSourceID, "{hook_name}", "x").Replace(rt.Pattern)
		for _, m := range rt.Methods {
			name := m + " " + rt.Pattern
			if rt.Scope == "rfs" {
				h.do(m, path, "", nil).wantRFS(t, 401)
				h.do(m, path, "not-a-token-at-all", nil).wantRFS(t, 401)
				if m != http.MethodGet {
					h.do(m, path, viewerToken, `{}`, "Client-Request-Id", "x").wantRFS(t, 403)
				}
				continue
			}
			h.do(m, path, "", nil).wantProblem(t, 401, 3)
			h.do(m, path, "not-a-token-at-all", nil).wantProblem(t, 401, 4)
			if rt.Scope == "account" {
				n := 2
				if rt.Item {
					n = 1
				}
				res := h.do(m, path, otherToken, nil)
				if res.status != 404 || res.body["type"] != "https://astra.netapp.io/problems/"+itoa(n) {
					t.Errorf("%s with another account's token: %d %s", name, res.status, res.raw)
				}
			}
			if m != http.MethodGet {
				h.do(m, path, viewerToken, `{}`).wantProblem(t, 403, 11)
			}
		}
	}
}

func TestMethodsAndUnknownPaths(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	res := h.do(http.MethodPatch, acctPath("/core/v1/executionHooks"), memberToken, nil)
	res.wantProblem(t, 405, 69)
	if res.header.Get("Allow") != "GET, POST" {
		t.Errorf("Allow %q", res.header.Get("Allow"))
	}
	h.do(http.MethodGet, acctPath("/core/v1/nothingHere"), memberToken, nil).wantProblem(t, 404, 1)
	h.do(http.MethodGet, acctPath("/k8s/v1/apps/"+seedAppID+"/executionHooks"), memberToken, nil).wantProblem(t, 404, 2)
}

func TestListsIncludeLimitFilterContinue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	for i := range 5 {
		hook := seedHook()
		hook["name"] = fmt.Sprintf("hook-%d", i)
		if i%2 == 1 {
			hook["stage"] = "post"
		}
		if r := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, hook); r.status != 201 {
			t.Fatal(string(r.raw))
		}
	}
	base := acctPath("/core/v1/executionHooks")
	res := h.do(http.MethodGet, base+"?include=name,stage&filter=stage%20eq%20'pre'", viewerToken, nil)
	items := res.body["items"].([]any)
	if res.status != 200 || len(items) != 3 || res.body["metadata"].(map[string]any)["count"] != float64(3) {
		t.Fatalf("filtered: %s", res.raw)
	}
	for _, it := range items {
		pair := it.([]any)
		if len(pair) != 2 || pair[1] != "pre" || !strings.HasPrefix(pair[0].(string), "hook-") {
			t.Errorf("include item %v", it)
		}
	}
	// Walk every page of two.
	seen := map[string]bool{}
	next := base + "?limit=2"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("continue never ends")
		}
		res := h.do(http.MethodGet, next, viewerToken, nil)
		for _, it := range res.body["items"].([]any) {
			id := it.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
		}
		next = ""
		if c, _ := res.body["metadata"].(map[string]any)["continue"].(string); c != "" {
			next = base + "?limit=2&continue=" + c
		}
	}
	if len(seen) != 5 {
		t.Fatalf("pages listed %d hooks, want 5", len(seen))
	}
	h.do(http.MethodGet, base+"?limit=zero&include=a-b&filter=name%20like%20'x'", viewerToken, nil).wantProblem(t, 400, 5, "limit", "include", "filter")
	h.do(http.MethodGet, base+"?sort=name", viewerToken, nil).wantProblem(t, 400, 6, "sort")
}

// Data written through the API is read back after the whole server —
// NATS included — restarts on the same data directory.
func TestRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := natstest.StartIn(t, dir)
	h := newHarnessIn(t, env)
	h.seedRefs()
	res := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook())
	if res.status != 201 {
		t.Fatal(string(res.raw))
	}
	id := res.body["id"].(string)
	h.srv.Close()
	env.Stop()

	h2 := newHarnessIn(t, natstest.StartIn(t, dir))
	got := h2.do(http.MethodGet, acctPath("/core/v1/executionHooks/"+id), viewerToken, nil)
	if got.status != 200 || got.body["name"] != "Payroll" || got.header.Get("ETag") != res.header.Get("ETag") {
		t.Fatalf("after restart: %d %s", got.status, got.raw)
	}
	// The name is still reserved.
	h2.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook()).wantProblem(t, 409, 10, "name")
	_ = context.Background()
}
