package cli_test

import (
	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
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
