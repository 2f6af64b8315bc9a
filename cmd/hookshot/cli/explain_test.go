package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
)

// explain against a real server: the table of every hook, why it would or
// would not run, on which containers (golden file); json and yaml carry
// every verdict; bad input is exit 1 with the server's problem.
func TestExplainCommand(t *testing.T) {
	_, apiURL := startServerWithAPI(t)
	api := hsAPI{t, apiURL}
	ctx := context.Background()
	hs := cliAgainst(t, ctx, apiURL)

	app := api.app("shop", dbInventory)
	src := api.source("noop", "#!/bin/sh\ntrue\n")
	crit := func(kv ...string) []map[string]string {
		var out []map[string]string
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, map[string]string{"type": kv[i], "value": kv[i+1]})
		}
		return out
	}
	api.hook(app, src, map[string]any{"name": "freeze", "matchingCriteria": crit("containerImage", `\bmysql\b`)})
	api.hook(app, src, map[string]any{"name": "flush-all", "failureMode": "WARN"})
	api.hook(app, src, map[string]any{"name": "cache-only", "matchingCriteria": crit("namespaceName", "^prod$", "podLabel", "^app=cache$")})
	api.hook(app, src, map[string]any{"name": "old-freeze", "enabled": "false", "matchingCriteria": crit("containerImage", `\bmysql\b`)})
	api.hook(app, src, map[string]any{"name": "thaw", "stage": "post", "matchingCriteria": crit("containerImage", `\bmysql\b`)})
	netapp := api.hook(app, src, map[string]any{"name": "netapp-quiesce", "hookType": "netapp", "matchingCriteria": crit("containerName", "^postgres$")})
	api.call(http.MethodPost, "/k8s/v1/apps/"+app+"/executionHookOverrides", map[string]any{
		"type": "application/astra-executionHookOverride", "version": "1.0", "executionHookID": netapp, "enabled": "false"}, 201)

	// No waiting for the engine's index: explain brings it up to date first.
	code, out, errOut := hs("explain", app, "--action", "snapshot", "--stage", "pre")
	if code != 0 {
		t.Fatalf("explain: exit %d\n%s", code, errOut)
	}
	golden(t, "explain.golden", out)

	// By name, as by id; an unknown app is named as such.
	if code, byName, errOut := hs("explain", "shop", "--action", "snapshot", "--stage", "pre"); code != 0 || byName != out {
		t.Fatalf("explain by name: exit %d\n%s\n%s", code, byName, errOut)
	}
	for _, ref := range []string{"payroll", "0b3a6f57-8a3c-4bb4-9f0e-5d1f1f8f2c11"} {
		if code, _, errOut := hs("explain", ref, "--action", "snapshot", "--stage", "pre"); code != cli.ExitError || !strings.Contains(errOut, `app "`+ref+`" not found`) {
			t.Errorf("explain of unknown app %s: exit %d, %q", ref, code, errOut)
		}
		if code, _, errOut := hs("snapshot", ref); code != cli.ExitError || !strings.Contains(errOut, `app "`+ref+`" not found`) {
			t.Errorf("snapshot of unknown app %s: exit %d, %q", ref, code, errOut)
		}
	}

	code, out, _ = hs("explain", app, "--action", "snapshot", "--stage", "pre", "-o", "json")
	var x struct {
		Type  string
		Hooks []struct {
			HookName   string
			Reason     string
			Containers []struct {
				Matched         bool
				FailedCriterion *struct {
					Index int
					Type  string
				}
			}
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &x) != nil || x.Type != "application/hookshot-explanation" || len(x.Hooks) != 6 ||
		x.Hooks[0].HookName != "cache-only" || x.Hooks[0].Containers[0].FailedCriterion.Index != 1 || x.Hooks[0].Containers[0].FailedCriterion.Type != "podLabel" {
		t.Fatalf("explain -o json: exit %d\n%s", code, out)
	}
	if code, out, _ = hs("explain", app, "--action", "snapshot", "--stage", "pre", "-o", "yaml"); code != 0 || !strings.Contains(out, "reason: overridden") {
		t.Fatalf("explain -o yaml: exit %d\n%s", code, out)
	}

	// An app without hooks says so.
	bare := api.app("bare", dbInventory)
	if code, out, _ = hs("explain", bare, "--action", "restore", "--stage", "post"); code != 0 || out != "App "+bare+" has no hooks: nothing would run at restore/post.\n" {
		t.Fatalf("explain of an app without hooks: exit %d\n%q", code, out)
	}

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no such pair", []string{"explain", app, "--action", "restore", "--stage", "pre"}, []string{"Invalid query parameters (400)", "stage: restore has no pre stage"}},
		{"unknown action", []string{"explain", app, "--action", "clone", "--stage", "pre"}, []string{"action: must be snapshot, backup, restore or failover"}},
		{"unknown app", []string{"explain", "2f1a9a8e-2b3c-4d5e-8f90-123456789abc", "--action", "snapshot", "--stage", "pre"}, []string{`app "2f1a9a8e-2b3c-4d5e-8f90-123456789abc" not found`}},
		{"flags required", []string{"explain", app}, []string{`required flag(s) "action", "stage" not set`}},
	} {
		code, _, errOut := hs(tc.args...)
		for _, want := range tc.want {
			if code != cli.ExitError || !strings.Contains(errOut, want) {
				t.Errorf("%s: exit %d, stderr %q, want 1 and %q", tc.name, code, errOut, want)
			}
		}
	}
}
