package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/client"
	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/driver"
)

// lifecycleKind is one of the four API-driven actions.
type lifecycleKind struct {
	kind       driver.Kind
	collection string // under /k8s/v1/apps/{app_id}/
	mediaType  string
	version    string
	short      string
}

var (
	snapshotKind = lifecycleKind{driver.KindSnapshot, "appSnaps", "application/astra-appSnap", "1.3",
		"Take a snapshot of an app through its hooks: snapshot/pre, the snapshot, snapshot/post"}
	backupKind = lifecycleKind{driver.KindBackup, "appBackups", "application/astra-appBackup", "1.2",
		"Back an app up through its hooks: backup/pre, its own snapshot (unless --snapshot-id), backup/post"}
	restoreKind = lifecycleKind{driver.KindRestore, "appRestores", "application/hookshot-appRestore", "1.0",
		"Restore an app and run its restore/post hooks"}
	failoverKind = lifecycleKind{driver.KindFailover, "appFailovers", "application/hookshot-appFailover", "1.0",
		"Fail an app over and run its failover/post hooks"}
)

func newSnapshotCmd() *cobra.Command { return newLifecycleCmd(snapshotKind) }
func newBackupCmd() *cobra.Command   { return newLifecycleCmd(backupKind) }
func newRestoreCmd() *cobra.Command  { return newLifecycleCmd(restoreKind) }
func newFailoverCmd() *cobra.Command { return newLifecycleCmd(failoverKind) }

// lifecyclePoll is how often --wait looks at the action and its run.
const lifecyclePoll = 200 * time.Millisecond

// action is what the CLI reads of an appSnap, appBackup, appRestore or appFailover.
type action struct {
	ID               string               `json:"id"`
	Name             string               `json:"name"`
	State            string               `json:"state"`
	StateUnready     []string             `json:"stateUnready"`
	HookState        events.HookState     `json:"hookState"`
	HookStateDetails []events.StateDetail `json:"hookStateDetails"`
	RunID            string               `json:"runID"`
}

func newLifecycleCmd(k lifecycleKind) *cobra.Command {
	var (
		af         apiFlags
		out        outputFlag
		name       string
		snapshotID string
		wait       bool
		timeout    time.Duration
	)
	verb := string(k.kind)
	cmd := &cobra.Command{
		Use:   verb + " APP",
		Short: k.short,
		Long: k.short + `.

Without --wait, print the created ` + k.collection[:len(k.collection)-1] + ` and return. With --wait, follow it: one
line whenever a hook starts or finishes, then the outcome. Exit 0 when it
completed with hookState success, 2 when it failed or a hook failed
(hookState failed), 1 on any other error (including --timeout).`,
		Example: "  hookshot " + verb + " 7be5ae7c-151d-4230-ac39-ac1d0b33c2a9 --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			body := map[string]any{"type": k.mediaType, "version": k.version}
			if name != "" {
				body["name"] = name
			}
			if snapshotID != "" {
				body["snapshotID"] = snapshotID
			}
			app, err := resolveApp(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			collection := c.AccountPath("/k8s/v1/apps/" + url.PathEscape(app) + "/" + k.collection)
			var created map[string]any
			if _, err := c.Do(cmd.Context(), http.MethodPost, collection, body, &created); err != nil {
				return err
			}
			a := actionOf(created)
			w := cmd.OutOrStdout()
			if !wait {
				return out.print(w, created, actionTable(a))
			}
			progress := w
			if out.format != "table" && out.format != "" {
				progress = cmd.ErrOrStderr() // stdout gets the resource alone
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			final, done, err := followAction(ctx, c, collection+"/"+url.PathEscape(a.ID), a, progress)
			switch {
			case errors.Is(err, context.DeadlineExceeded) && cmd.Context().Err() == nil:
				return fmt.Errorf("%s %s still %s after %s; it goes on (hookshot runs get %s)", verb, a.Name, final.State, timeout, a.RunID)
			case err != nil:
				return err
			}
			if out.format == "table" || out.format == "" {
				printOutcome(w, verb, final)
			} else if err := out.print(w, done, nil); err != nil {
				return err
			}
			if final.State == driver.StateCompleted && final.HookState != events.HookStateFailed {
				return nil
			}
			msg := fmt.Sprintf("%s %s %s", verb, final.Name, final.State)
			if final.HookState != "" {
				msg += ", hookState " + string(final.HookState)
			}
			return &exitError{code: ExitHookFailed, msg: msg}
		},
	}
	af.register(cmd)
	out.register(cmd, "table")
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "name (default: "+verb+"-<UTC timestamp>)")
	if k.kind == driver.KindBackup {
		f.StringVar(&snapshotID, "snapshot-id", "", "back up this existing snapshot: no snapshot of its own, no snapshot hooks")
	}
	f.BoolVar(&wait, "wait", false, "follow it to the end, printing each hook as it starts and finishes; exit by the outcome")
	f.DurationVar(&timeout, "timeout", 30*time.Minute, "how long --wait waits")
	return cmd
}

// actionOf reads the fields the CLI needs from an action as the API sent it.
func actionOf(m map[string]any) action {
	var a action
	if raw, err := json.Marshal(m); err == nil {
		_ = json.Unmarshal(raw, &a)
	}
	return a
}

func actionTable(a action) *table {
	t := &table{header: []string{"ID", "NAME", "STATE", "RUN"}}
	t.add(a.ID, a.Name, a.State, a.RunID)
	return t
}

// followAction polls the action and then its run until the action is
// completed or failed, printing a line whenever an execution starts or
// finishes and when a stage finishes. It returns the final action, as
// decoded and as the API sent it.
func followAction(ctx context.Context, c *client.Client, path string, a action, w io.Writer) (action, map[string]any, error) {
	p := &progressPrinter{w: w, printed: map[string]string{}, stages: map[string]bool{}}
	tick := time.NewTicker(lifecyclePoll)
	defer tick.Stop()
	for {
		// The action first: once it is terminal, the run read after it
		// holds every stage result it waited for.
		var raw map[string]any
		if _, err := c.Do(ctx, http.MethodGet, path, nil, &raw); err != nil {
			return a, nil, err
		}
		a = actionOf(raw)
		if a.RunID != "" {
			v, err := c.GetRun(ctx, a.RunID)
			switch {
			case err == nil:
				p.update(v)
			case client.IsNotFound(err):
				// No stage planned yet.
			default:
				return a, nil, err
			}
		}
		if a.State == driver.StateCompleted || a.State == driver.StateFailed {
			return a, raw, nil
		}
		select {
		case <-ctx.Done():
			return a, nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// progressPrinter prints each change of a run once.
type progressPrinter struct {
	w       io.Writer
	printed map[string]string // execution ID → last status printed
	stages  map[string]bool   // stages whose end was printed
}

func (p *progressPrinter) update(v *client.Run) {
	for _, s := range v.Stages {
		stage := s.Action + "/" + s.Stage
		for _, e := range s.Executions {
			// Everything starts queued: only starts and ends are news.
			if e.Status == client.ExecutionQueued || p.printed[e.ExecutionID] == e.Status {
				continue
			}
			p.printed[e.ExecutionID] = e.Status
			line := fmt.Sprintf("%-13s  %-16s  %-24s  %s", stage, e.HookName, e.Container.Key(), e.Status)
			switch {
			case e.Status == client.ExecutionFailed && e.TimedOut:
				line += " timed out " + seconds(e.DurationMillis)
			case e.Status == client.ExecutionFailed && e.Signal != "":
				line += " signal " + e.Signal + " " + seconds(e.DurationMillis)
			case e.Status == client.ExecutionFailed && e.Error != "" && e.ExitCode != nil && *e.ExitCode == -1:
				line += ": " + e.Error
			case e.Status == client.ExecutionFailed && e.ExitCode != nil:
				line += fmt.Sprintf(" exit %d %s", *e.ExitCode, seconds(e.DurationMillis))
			case e.Status == client.ExecutionSucceeded:
				line += " " + seconds(e.DurationMillis)
			}
			fmt.Fprintln(p.w, strings.TrimRight(line, " "))
		}
		if s.HookState != "" && !p.stages[stage] {
			p.stages[stage] = true
			line := fmt.Sprintf("%-13s  stage %s", stage, s.HookState)
			switch {
			case s.AbortAction:
				line += " (abortAction: the action is not taken)"
			case len(s.Executions) == 0:
				line += " (no hook matched)"
			}
			fmt.Fprintln(p.w, line)
		}
	}
}

// printOutcome is the last line of --wait, with why it failed.
func printOutcome(w io.Writer, verb string, a action) {
	line := fmt.Sprintf("%s %s (%s) %s", verb, a.Name, a.ID, a.State)
	if a.HookState != "" {
		line += ", hookState " + string(a.HookState)
	}
	fmt.Fprintln(w, line)
	for _, u := range a.StateUnready {
		fmt.Fprintf(w, "  unready: %s\n", u)
	}
	for _, d := range a.HookStateDetails {
		fmt.Fprintf(w, "  %s\n", d.Detail)
	}
}
