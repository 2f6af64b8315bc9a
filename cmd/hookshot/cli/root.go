// Package cli holds the hookshot subcommands. main stays a few lines; every
// command is reachable from tests through Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/client"
)

// Version is set at build time with -ldflags "-X .../cli.Version=v1.2.3".
var Version = "dev"

// Exit codes scripts can rely on.
const (
	ExitOK         = 0
	ExitError      = 1 // bad usage, unreachable server, invalid input
	ExitHookFailed = 2 // the stage ran and its hookState is failed
)

// extraCommands are added by files that register themselves in init, so
// command groups can be built in separate files.
var extraCommands []func() *cobra.Command

// Main runs the command line until it ends or SIGINT/SIGTERM arrives, and
// returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, stdout, stderr)
}

// Run runs the command line with ctx and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "hookshot:", err)
		var ae *client.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			fmt.Fprintln(stderr, "hookshot: give the API token with --token, the HOOKSHOT_TOKEN environment variable, or a context"+
				" (hookshot context set NAME --server URL --token TOKEN; hookshot context use NAME). A fresh server prints its first admin token once, on stderr.")
		}
		var ec *exitError
		if errors.As(err, &ec) {
			return ec.code
		}
		return ExitError
	}
	return ExitOK
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "hookshot",
		Short: "Execution hooks around snapshots, backups, restores and failovers",
		Long: `Hookshot runs execution hooks around the data-protection lifecycle of
applications: lifecycle events on NATS JetStream, a matcher that picks the
enabled hooks by action, stage and regex criteria on the app's containers,
workers that run the hook scripts, and a hookState published per stage.

Start here:  hookshot server`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	for _, mk := range extraCommands {
		root.AddCommand(mk())
	}
	root.AddCommand(newVersionCmd(), newServerCmd(), newWorkerCmd(),
		newSourcesCmd(), newHooksCmd(), newAppsCmd(), newOverridesCmd(), newEventsCmd(), newTokensCmd(), newBenchCmd(), newConfigCmd(), newCertsCmd(), newContextCmd(),
		newRunsCmd(), newExplainCmd(), newSnapshotCmd(), newBackupCmd(), newRestoreCmd(), newFailoverCmd(), newScenarioCmd(), newReplayCmd())
	for _, c := range root.Commands() {
		refuseUnknownSubcommands(c)
	}
	return root
}

// refuseUnknownSubcommands makes every command group (a command that only
// holds subcommands) answer a mistyped subcommand the way the root does:
// an error with suggestions and a non-zero exit, not its help and 0.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return
	}
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return fmt.Errorf("%s\n\nRun '%s --help' for its commands", msg, cmd.CommandPath())
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the hookshot version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			goVersion := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
			}
			fmt.Fprintf(cmd.OutOrStdout(), "hookshot %s (%s)\n", Version, goVersion)
			return nil
		},
	}
}
