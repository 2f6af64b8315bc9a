package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/events"
)

func newEventsWatchCmd() *cobra.Command {
	var (
		cf     clientFlags
		runID  string
		since  time.Duration
		all    bool
		count  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Print lifecycle events, execution results and stage results of the account as they happen",
		Example: `  hookshot events watch                    # from now on
  hookshot events watch --since 1h --run run-42
  hookshot events watch --all --count 10 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.connect(cmd.Context(), "hookshot events watch")
			if err != nil {
				return err
			}
			defer c.Close()
			cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
			switch {
			case all:
				cfg.DeliverPolicy = jetstream.DeliverAllPolicy
			case since > 0:
				cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
				t := time.Now().Add(-since)
				cfg.OptStartTime = &t
			}
			run := "*"
			if runID != "" {
				run = runID
			}
			acct := cf.account
			streams := []struct {
				name     string
				subjects []string
			}{
				{events.StreamLifecycle, []string{events.SubjectLifecycle + "." + acct + ".>"}},
				{events.StreamResults, []string{events.SubjectExecutionResults + "." + acct + "." + run, events.SubjectStageResults + "." + acct + "." + run}},
			}
			lines := make(chan string)
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			errs := make(chan error, len(streams))
			for _, s := range streams {
				cc := cfg
				cc.FilterSubjects = s.subjects
				cons, err := c.js.OrderedConsumer(ctx, s.name, cc)
				if err != nil {
					return fmt.Errorf("watch %s: %w", s.name, err)
				}
				go func() { errs <- follow(ctx, cons, runID, asJSON, lines) }()
			}
			seen := 0
			for {
				select {
				case <-ctx.Done():
					return nil
				case err := <-errs:
					if err != nil && ctx.Err() == nil {
						return err
					}
				case line := <-lines:
					fmt.Fprintln(cmd.OutOrStdout(), line)
					if seen++; count > 0 && seen >= count {
						return nil
					}
				}
			}
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&runID, "run", "", "only this run")
	cmd.Flags().DurationVar(&since, "since", 0, "start this far back")
	cmd.Flags().BoolVar(&all, "all", false, "start from the oldest message kept")
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many messages")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each CloudEvents envelope as one JSON line")
	return cmd
}

// follow sends one line per message of cons until ctx ends.
func follow(ctx context.Context, cons jetstream.Consumer, runID string, asJSON bool, out chan<- string) error {
	for {
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, jetstream.ErrNoMessages) {
				continue
			}
			return err
		}
		line, ok := describeMessage(msg.Data(), runID, asJSON)
		if !ok {
			continue
		}
		select {
		case out <- line:
		case <-ctx.Done():
			return nil
		}
	}
}

// describeMessage is one line about a Hookshot message, or false when it is
// not of the run asked for.
func describeMessage(data []byte, runID string, asJSON bool) (string, bool) {
	var env events.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return "malformed message: " + err.Error(), runID == ""
	}
	var b strings.Builder
	ts := env.Time.UTC().Format("15:04:05.000")
	switch env.Type {
	case events.TypeLifecycle:
		var ev events.LifecycleEvent
		_ = json.Unmarshal(env.Data, &ev)
		if runID != "" && ev.RunID != runID {
			return "", false
		}
		fmt.Fprintf(&b, "%s  lifecycle  %s  %s/%s  app %s  %d containers", ts, ev.RunID, ev.Action, ev.Stage, ev.AppID, len(ev.Containers))
	case events.TypeExecutionResult:
		var r events.ExecutionResult
		_ = json.Unmarshal(env.Data, &r)
		fmt.Fprintf(&b, "%s  execution  %s  %s/%s  %s  %s  %s exit %d attempt %d %dms", ts, r.RunID, r.Action, r.Stage, r.HookName, r.Container.Key(), r.Status, r.ExitCode, r.Attempt, r.DurationMillis)
	case events.TypeStageResult:
		var r events.StageResult
		_ = json.Unmarshal(env.Data, &r)
		fmt.Fprintf(&b, "%s  stage      %s  %s/%s  hookState %s  %d executions", ts, r.RunID, r.Action, r.Stage, r.HookState, len(r.Executions))
		if r.AbortAction {
			b.WriteString("  ABORT ACTION")
		}
		for _, d := range r.HookStateDetails {
			fmt.Fprintf(&b, "\n    %s", d.Detail)
		}
	default:
		fmt.Fprintf(&b, "%s  %s", ts, env.Type)
	}
	if asJSON {
		return string(data), true
	}
	return b.String(), true
}
