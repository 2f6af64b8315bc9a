package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
)

// TestOverridesTakeAnAppName: the overrides commands take the app by name
// as by id, and an unknown app is named, not "Collection not found"
// (issue 12).
func TestOverridesTakeAnAppName(t *testing.T) {
	_, apiURL := startServerWithAPI(t)
	api := hsAPI{t, apiURL}
	ctx := context.Background()
	hs := cliAgainst(t, ctx, apiURL)
	app := api.app("payroll", dbInventory)
	src := api.source("noop", "#!/bin/sh\ntrue\n")
	netapp := api.hook(app, src, map[string]any{"name": "netapp-freeze", "hookType": "netapp"})

	ok := func(args ...string) string {
		t.Helper()
		code, out, errOut := hs(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		return out
	}
	var ov struct{ ID, AppID string }
	if out := ok("overrides", "create", "payroll", "--hook", "netapp-freeze", "--enabled", "false", "-o", "json"); json.Unmarshal([]byte(out), &ov) != nil || ov.ID == "" || ov.AppID != app {
		t.Fatalf("overrides create payroll: %s", out)
	}
	if out := ok("overrides", "list", "payroll"); !strings.Contains(out, ov.ID) || !strings.Contains(out, netapp) {
		t.Fatalf("overrides list payroll:\n%s", out)
	}
	if out := ok("overrides", "get", "payroll", ov.ID, "-o", "json"); !strings.Contains(out, `"enabled": "false"`) {
		t.Fatalf("overrides get payroll:\n%s", out)
	}
	ok("overrides", "update", "payroll", ov.ID, "--enabled", "true")
	if out := ok("overrides", "get", app, ov.ID, "-o", "json"); !strings.Contains(out, `"enabled": "true"`) {
		t.Fatalf("overrides get by id after update:\n%s", out)
	}

	// An unknown app, by name or id, in every subcommand.
	for _, ref := range []string{"payrol", "0b3a6f57-8a3c-4bb4-9f0e-5d1f1f8f2c11"} {
		for _, args := range [][]string{
			{"overrides", "list", ref},
			{"overrides", "get", ref, ov.ID},
			{"overrides", "create", ref, "--hook", netapp, "--enabled", "false"},
			{"overrides", "update", ref, ov.ID, "--enabled", "false"},
			{"overrides", "delete", ref, ov.ID},
		} {
			code, _, errOut := hs(args...)
			if code != cli.ExitError || !strings.Contains(errOut, `app "`+ref+`" not found`) || strings.Contains(errOut, "Collection not found") {
				t.Errorf("%v: exit %d, %q", args, code, errOut)
			}
		}
	}

	ok("overrides", "delete", "payroll", ov.ID)
	api.call(http.MethodGet, "/k8s/v1/apps/"+app+"/executionHookOverrides/"+ov.ID, nil, 404)
}
