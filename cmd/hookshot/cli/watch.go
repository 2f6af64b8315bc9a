package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
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
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			merge := newTimeMerge(len(streams), watchSkew)
			errs := make(chan error, len(streams))
			for i, s := range streams {
				cc := cfg
				cc.FilterSubjects = s.subjects
				cons, err := c.js.OrderedConsumer(ctx, s.name, cc)
				if err != nil {
					return fmt.Errorf("watch %s: %w", s.name, err)
				}
				info, err := cons.Info(ctx)
				if err != nil {
					return fmt.Errorf("watch %s: %w", s.name, err)
				}
				merge.add(i, time.Time{}, "", false, info.NumPending == 0)
				go func() { errs <- follow(ctx, cons, i, runID, asJSON, merge) }()
			}
			seen := 0
			tick := time.NewTicker(watchSkew / 2)
			defer tick.Stop()
			for {
				for _, line := range merge.ready(time.Now()) {
					fmt.Fprintln(cmd.OutOrStdout(), line)
					if seen++; count > 0 && seen >= count {
						return nil
					}
				}
				select {
				case <-ctx.Done():
					return nil
				case err := <-errs:
					if err != nil && ctx.Err() == nil {
						return err
					}
				case <-merge.wake:
				case <-tick.C:
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

// watchSkew is how long a live message waits for an earlier one from the
// other stream before it is printed.
const watchSkew = 200 * time.Millisecond

// follow hands one line per message of cons (source i of merge) to merge
// until ctx ends.
func follow(ctx context.Context, cons jetstream.Consumer, i int, runID string, asJSON bool, merge *timeMerge) error {
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
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		line, ok := describeMessage(msg.Data(), md.Timestamp, runID, asJSON)
		merge.add(i, md.Timestamp, line, ok, md.NumPending == 0)
	}
}

// timeMerge prints the messages of several streams in the order JetStream
// stored them. A message is printed once every other stream either has a
// later one waiting, or has nothing older left to deliver: it is caught up
// and the message is at least skew old (a message stored a moment earlier
// may still be on its way).
type timeMerge struct {
	mu     sync.Mutex
	skew   time.Duration
	queues [][]stamped
	caught []bool
	wake   chan struct{}
}

type stamped struct {
	at   time.Time
	line string
}

func newTimeMerge(sources int, skew time.Duration) *timeMerge {
	return &timeMerge{skew: skew, queues: make([][]stamped, sources), caught: make([]bool, sources), wake: make(chan struct{}, 1)}
}

// add queues a message of source i (show false: filtered out, it only
// advances the source); caughtUp says the source has nothing more pending.
func (m *timeMerge) add(i int, at time.Time, line string, show, caughtUp bool) {
	m.mu.Lock()
	if show {
		m.queues[i] = append(m.queues[i], stamped{at, line})
	}
	m.caught[i] = caughtUp
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// ready returns the lines that may be printed now, oldest first.
func (m *timeMerge) ready(now time.Time) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for {
		first := -1
		for i, q := range m.queues {
			if len(q) > 0 && (first < 0 || q[0].at.Before(m.queues[first][0].at)) {
				first = i
			}
		}
		if first < 0 {
			return out
		}
		head := m.queues[first][0]
		for i, q := range m.queues {
			if i != first && len(q) == 0 && !(m.caught[i] && now.Sub(head.at) >= m.skew) {
				return out
			}
		}
		out = append(out, head.line)
		m.queues[first] = m.queues[first][1:]
	}
}

// describeMessage is one line about a Hookshot message, or false when it is
// not of the run asked for.
func describeMessage(data []byte, stored time.Time, runID string, asJSON bool) (string, bool) {
	var env events.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return "malformed message: " + err.Error(), runID == ""
	}
	var b strings.Builder
	// The time JetStream stored it: one clock for every producer, the one
	// the lines are ordered by.
	ts := stored.UTC().Format("15:04:05.000")
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
