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
