package cli_test

import (
	"encoding/json"
	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
	"os"
	"strings"
	"testing"
)

// TestMistypedSubcommandFails: a mistyped subcommand of a command group
// exits non-zero with a suggestion, as a mistyped top-level command does,
// instead of printing help and exiting 0.
func TestMistypedSubcommandFails(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		suggest string
	}{
		{[]string{"hooks", "lsit"}, "list"},
		{[]string{"sources", "craete"}, "create"},
		{[]string{"config", "prnt"}, "print"},
		{[]string{"tokens", "nothing-like-it"}, ""},
	} {
		code, _, stderr := run(t, t.Context(), tt.args...)
		if code != cli.ExitError {
			t.Errorf("%v: exit %d, want %d", tt.args, code, cli.ExitError)
		}
		if !strings.Contains(stderr, `unknown command "`+tt.args[1]+`" for "hookshot `+tt.args[0]+`"`) {
			t.Errorf("%v: stderr %q", tt.args, stderr)
		}
		if tt.suggest != "" && !strings.Contains(stderr, "Did you mean this?\n\t"+tt.suggest) {
			t.Errorf("%v: no suggestion of %q in %q", tt.args, tt.suggest, stderr)
		}
	}
	// The group alone still shows its help and succeeds.
	if code, stdout, _ := run(t, t.Context(), "hooks"); code != cli.ExitOK || !strings.Contains(stdout, "Available Commands") {
		t.Errorf("hooks alone: exit %d, stdout %q", code, stdout)
	}
}

// TestUnauthorizedSaysHowToGiveAToken: a 401 tells the operator the three
// ways to pass a token.
func TestUnauthorizedSaysHowToGiveAToken(t *testing.T) {
	t.Setenv("HOOKSHOT_TOKEN", "")
	t.Setenv("HOOKSHOT_CONTEXTS", t.TempDir()+"/contexts.yaml")
	_, apiURL := startServerWithAPI(t)
	for _, token := range []string{"", "not-the-right-token-at-all"} {
		code, _, stderr := run(t, t.Context(), "hooks", "list", "--server", apiURL, "--token", token)
		if code != cli.ExitError {
			t.Errorf("token %q: exit %d", token, code)
		}
		for _, want := range []string{"(401)", "--token", "HOOKSHOT_TOKEN", "hookshot context set"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("token %q: stderr lacks %q:\n%s", token, want, stderr)
			}
		}
	}
}

// TestReferencesByName: flags that name another resource take its name as
// well as its id.
func TestReferencesByName(t *testing.T) {
	_, apiURL := startServerWithAPI(t)
	hs := cliAgainst(t, t.Context(), apiURL)
	dir := t.TempDir()
	script, inv := dir+"/freeze.sh", dir+"/inventory.json"
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho frozen\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inv, []byte(`[{"namespaceName":"prod","podName":"db-0","containerName":"mysql","containerImage":"mysql:8.4"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, srcID, _ := hs("sources", "create", "--name", "mysql-freeze", "--script", script, "-o", "id")
	_, appID, _ := hs("apps", "create", "--name", "payroll", "--containers", inv, "-o", "id")
	code, out, errOut := hs("hooks", "create", "--name", "freeze", "--app", "payroll", "--action", "snapshot", "--stage", "pre",
		"--source", "mysql-freeze", "-o", "json")
	if code != 0 {
		t.Fatalf("hooks create by names: exit %d\n%s", code, errOut)
	}
	var hook struct{ AppID, HookSourceID string }
	if err := json.Unmarshal([]byte(out), &hook); err != nil || hook.AppID != strings.TrimSpace(appID) || hook.HookSourceID != strings.TrimSpace(srcID) {
		t.Fatalf("hook %+v (%v), want app %q source %q", hook, err, appID, srcID)
	}
	if code, _, errOut := hs("hooks", "create", "--name", "x", "--app", "nowhere", "--action", "snapshot", "--stage", "pre", "--source", "mysql-freeze"); code != cli.ExitError || !strings.Contains(errOut, `app "nowhere" not found`) {
		t.Errorf("unknown app by name: exit %d, %q", code, errOut)
	}
}
