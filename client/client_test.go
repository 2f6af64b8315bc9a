package client_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/client"
)

// unknownKeys lists the keys of raw (a decoded JSON value) that typ (the
// client's Go type) has no field for, recursively: a field the server sends
// and the client would drop.
func unknownKeys(raw any, typ reflect.Type, at string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	var out []string
	switch v := raw.(type) {
	case []any:
		if typ.Kind() == reflect.Slice {
			for _, item := range v {
				out = append(out, unknownKeys(item, typ.Elem(), at+"[]")...)
			}
		}
	case map[string]any:
		if typ.Kind() != reflect.Struct {
			return nil // a map[string]any field takes anything
		}
		fields := map[string]reflect.Type{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		for k, sub := range v {
			ft, ok := fields[k]
			if !ok {
				out = append(out, at+"."+k)
				continue
			}
			out = append(out, unknownKeys(sub, ft, at+"."+k)...)
		}
	}
	return out
}

// checkTyped reads path raw and fails on any field typ lacks.
func checkTyped(t *testing.T, c *client.Client, path string, typ any) {
	t.Helper()
	var raw any
	if _, err := c.Do(context.Background(), http.MethodGet, path, nil, &raw); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if missing := unknownKeys(raw, reflect.TypeOf(typ), ""); len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("GET %s: the client's %T has no field for %v", path, typ, missing)
	}
}

// The typed resources carry every field the server sends, so a backup
// controller reading them loses nothing — and this fails when the API
// grows a field the client does not know.
func TestTypedResourcesCarryEveryField(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newClient(t)
	src, err := c.CreateSource(ctx, "fields-src", []byte("#!/bin/sh\necho out; echo err >&2\n"), "a source")
	if err != nil {
		t.Fatal(err)
	}
	app, err := c.CreateApp(ctx, client.App{Name: "fields-app", Containers: []client.Container{
		{NamespaceName: "ns", PodName: "p-0", ContainerName: "c", ContainerImage: "img:1", PodLabels: []client.Label{{Name: "tier", Value: "db"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := c.CreateHook(ctx, client.Hook{Name: "fields-hook", Action: "snapshot", Stage: "post", HookSourceID: src.ID, AppID: app.ID,
		Arguments: []string{"a"}, Description: "d", TimeoutSeconds: 30, FailureMode: "FAIL",
		Metadata: &client.Metadata{Labels: []client.Label{{Name: "team", Value: "db"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if hook.ID == "" || hook.Enabled != "true" || len(hook.MatchingContainers) != 1 || hook.Metadata == nil || len(hook.Metadata.Labels) != 1 {
		t.Fatalf("created hook %+v", hook)
	}
	snap, err := c.CreateAction(ctx, client.Snapshot, app.ID, client.Action{})
	if err != nil {
		t.Fatal(err)
	}
	if snap, err = c.WaitAction(ctx, client.Snapshot, app.ID, snap.ID, 50*time.Millisecond); err != nil || snap.State != "completed" {
		t.Fatalf("snapshot %+v: %v", snap, err)
	}
	run, err := c.GetRun(ctx, snap.RunID)
	if err != nil || len(run.Stages) != 2 || len(run.Stages[1].Executions) != 1 || run.Stages[1].Executions[0].Stdout.Text != "out\n" {
		t.Fatalf("run %+v: %v", run, err)
	}
	acct := c.AccountPath
	checkTyped(t, c, acct("/core/v1/hookSources/"+src.ID), client.Source{})
	checkTyped(t, c, acct("/core/v1/executionHooks/"+hook.ID), client.Hook{})
	checkTyped(t, c, acct("/hookshot/v1/apps/"+app.ID), client.App{})
	checkTyped(t, c, acct("/k8s/v1/apps/"+app.ID+"/appSnaps/"+snap.ID), client.Action{})
	checkTyped(t, c, acct("/hookshot/v1/runs/"+snap.RunID), client.Run{})
	checkTyped(t, c, acct("/k8s/v1/apps/"+app.ID+"/explain?action=snapshot&stage=post"), client.Explanation{})
}

// The typed methods do what they say against a real server: update, list
// with a filter and a limit, delete, and errors by kind.
func TestTypedMethods(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newClient(t)
	src, err := c.CreateSource(ctx, "methods-src", []byte("#!/bin/sh\nexit 0\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	script, err := src.Script()
	if got, _ := c.GetSource(ctx, src.ID); err != nil || string(script) != "#!/bin/sh\nexit 0\n" || got.SourceMD5Checksum != src.SourceMD5Checksum {
		t.Fatalf("source %+v script %q: %v", src, script, err)
	}
	app, err := c.CreateApp(ctx, client.App{Name: "methods-app", Containers: []client.Container{
		{NamespaceName: "ns", PodName: "p-0", ContainerName: "c", ContainerImage: "img:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, name := range []string{"m-a", "m-b", "m-c"} {
		h, err := c.CreateHook(ctx, client.Hook{Name: name, Action: "backup", Stage: "pre", HookSourceID: src.ID, AppID: app.ID})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, h.ID)
	}
	// A second hook of the app with a taken name is a conflict.
	_, err = c.CreateHook(ctx, client.Hook{Name: "m-a", Action: "backup", Stage: "pre", HookSourceID: src.ID, AppID: app.ID})
	if !client.IsConflict(err) {
		t.Errorf("duplicate name: %v, want a conflict", err)
	}
	page, err := c.ListHooks(ctx, client.ListOptions{Filter: "appID eq '" + app.ID + "'", Limit: 2})
	if err != nil || len(page) != 2 {
		t.Fatalf("a page of 2: %d hooks, %v", len(page), err)
	}
	all, err := c.ListHooks(ctx, client.ListOptions{Filter: "appID eq '" + app.ID + "'"})
	if err != nil || len(all) != 3 {
		t.Fatalf("all: %d hooks, %v", len(all), err)
	}
	h := all[0]
	h.Enabled, h.Description = "false", "off for now"
	updated, err := c.UpdateHook(ctx, h)
	if err != nil || updated.Enabled != "false" || updated.Description != "off for now" || updated.Name != h.Name {
		t.Fatalf("update: %+v, %v", updated, err)
	}
	exp, err := c.Explain(ctx, app.ID, client.Backup, "pre")
	if err != nil {
		t.Fatal(err)
	}
	would := 0
	for _, he := range exp.Hooks {
		if he.WouldRun {
			would++
		}
	}
	if would != 2 {
		t.Errorf("explain: %d hooks would run, want 2 (one is disabled): %+v", would, exp.Hooks)
	}
	if err := c.DeleteSource(ctx, src.ID); err == nil {
		t.Error("deleted a source hooks use")
	}
	for _, id := range ids {
		if err := c.DeleteHook(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.GetHook(ctx, ids[0])
	if !client.IsNotFound(err) {
		t.Errorf("deleted hook: %v, want not found", err)
	}
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Problem() != client.ProblemResourceNotFound || apiErr.CorrelationID == "" {
		t.Errorf("not found: %#v", apiErr)
	}
	if _, err := c.CreateAction(ctx, "scrub", app.ID, client.Action{}); err == nil {
		t.Error("an unknown action kind was sent")
	}
	snaps, err := c.ListActions(ctx, client.Snapshot, app.ID, client.ListOptions{})
	if err != nil || len(snaps) != 0 {
		t.Errorf("snapshots of a new app: %v, %v", snaps, err)
	}
}

// A client without a server says so with a sentinel the caller can test.
func TestNewWithoutServer(t *testing.T) {
	if _, err := client.New(client.Config{}); !errors.Is(err, client.ErrNoServer) {
		t.Fatalf("got %v", err)
	}
}
