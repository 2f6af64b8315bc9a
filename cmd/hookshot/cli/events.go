package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/events"
)

func newEventsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Publish lifecycle events and watch what the engine does with them"}
	var (
		cf         clientFlags
		ev         events.LifecycleEvent
		action     string // --action, checked with the event
		stage      string // --stage, checked with the event
		containers string
		wait       bool
		waitFor    time.Duration
	)
	pub := &cobra.Command{
		Use:   "publish",
		Short: "Publish a lifecycle event, as a backup controller does, and optionally wait for its stage result",
		Long: `Publish a lifecycle event for one stage of one run. --app is a registered
app's name or id; the engine matches hooks against its containers (listed by
hand, or discovered from its cluster). An app that is not registered is given
by its id with --containers, the inventory the event carries; without them the
command refuses, since no hook could run. With --wait, print the
stage result as JSON and exit 0 when hookState is success, 2 when it is failed
(the result says which hook failed where, and abortAction says whether a
FAIL-mode pre hook forbids the action), 1 on any other error.`,
		Example: `  hookshot events publish --app payroll --action snapshot --stage pre --run-id run-42 --wait
  hookshot events publish --app 7be5ae7c-151d-4230-ac39-ac1d0b33c2a9 --action snapshot --stage pre \
      --containers inventory.json --run-id run-43 --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ev.AccountID = cf.account
			ev.Action, ev.Stage = events.Action(action), events.Stage(stage)
			if ev.RunID == "" {
				ev.RunID = uuid.NewString()
			}
			if containers != "" {
				if err := readJSON(containers, cmd.InOrStdin(), &ev.Containers); err != nil {
					return err
				}
			}
			// Everything but the app is checked before connecting; the app
			// may be a name, and is checked once resolved.
			check := ev
			if check.AppID != "" {
				check.AppID = "app"
			}
			if err := check.Validate(); err != nil {
				return err
			}
			c, err := cf.connect(cmd.Context(), "hookshot events publish")
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), cf.timeout)
			defer cancel()
			if ev.AppID, err = publishedApp(ctx, c.store, ev.AccountID, ev.AppID, containers != ""); err != nil {
				return err
			}
			ack, err := events.PublishLifecycle(ctx, c.js, &ev)
			cancel()
			if err != nil {
				return err
			}
			if !wait {
				return printJSON(cmd.OutOrStdout(), map[string]any{"runID": ev.RunID, "sequence": ack.Sequence, "duplicate": ack.Duplicate})
			}
			ctx, cancel = context.WithTimeout(cmd.Context(), waitFor)
			defer cancel()
			sr, err := events.WaitStageResult(ctx, c.js, ev.AccountID, ev.RunID, ev.Action, ev.Stage)
			if err != nil {
				return err
			}
			switch {
			case ack.Duplicate:
				// JetStream dropped the event as a repeat of one already
				// published: nothing ran, and the result is the recorded one.
				sr.Replayed = true
				fmt.Fprintf(cmd.ErrOrStderr(), "hookshot: run %s %s/%s was already published; nothing ran again: this is its recorded result (replayed)\n",
					ev.RunID, ev.Action, ev.Stage)
			case sr.LifecycleSequence != 0 && sr.LifecycleSequence < ack.Sequence:
				// Stored as new (the de-duplication window had passed), but
				// the stage was planned by an earlier event of the run.
				sr.Replayed = true
				fmt.Fprintf(cmd.ErrOrStderr(), "hookshot: run %s %s/%s was answered before (its event was published again after the de-duplication window); nothing ran again: this is its recorded result (replayed)\n",
					ev.RunID, ev.Action, ev.Stage)
			}
			if err := printJSON(cmd.OutOrStdout(), sr); err != nil {
				return err
			}
			if sr.HookState != events.HookStateSuccess {
				return &exitError{code: ExitHookFailed, msg: fmt.Sprintf("run %s %s/%s: hookState %s (%d details, abortAction %v)",
					sr.RunID, sr.Action, sr.Stage, sr.HookState, len(sr.HookStateDetails), sr.AbortAction)}
			}
			return nil
		},
	}
	cf.register(pub)
	f := pub.Flags()
	f.StringVar(&ev.AppID, "app", "", "app name or id (an app that is not registered: its id, with --containers)")
	f.StringVar(&action, "action", "", "snapshot, backup, restore or failover")
	f.StringVar(&stage, "stage", "", "pre or post")
	f.StringVar(&ev.RunID, "run-id", "", "run id shared by the stages of one run (default: a new UUID)")
	f.StringVar(&containers, "containers", "", "JSON file with the container inventory (default: the registered app's)")
	f.BoolVar(&wait, "wait", false, "wait for the stage result and exit by its hookState")
	f.DurationVar(&waitFor, "wait-timeout", 30*time.Minute, "how long --wait waits")
	cmd.AddCommand(pub, newEventsWatchCmd())
	return cmd
}
