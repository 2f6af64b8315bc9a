package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/client"
)

func newRunsCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "Show what ran: every stage of a run, every hook in every container, exit codes and output",
		Long: `A run is one snapshot, backup, restore or failover: its stages (snapshot/pre,
snapshot/post, …) and, in each, one execution per hook and matching container.
An API-driven action's run ID is its runID (hookshot snapshot prints it).`,
	}
	af.register(cmd)

	var (
		listOut outputFlag
		limit   int
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the account's runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			runs, err := c.ListRuns(cmd.Context())
			if err != nil {
				return err
			}
			slices.SortFunc(runs, func(a, b client.RunSummary) int {
				if c := b.Planned.Compare(a.Planned); c != 0 {
					return c
				}
				return strings.Compare(a.RunID, b.RunID)
			})
			if limit > 0 && len(runs) > limit {
				runs = runs[:limit]
			}
			t := &table{header: []string{"RUN", "APP", "PLANNED", "HOOKSTATE", "STAGES"}}
			for _, r := range runs {
				t.add(r.RunID, r.AppID, clock(r.Planned), orRunning(r.HookState), strings.Join(r.Stages, ", "))
			}
			return listOut.print(cmd.OutOrStdout(), runs, t)
		},
	}
	listOut.register(list, "table")
	list.Flags().IntVar(&limit, "limit", 20, "show the newest N runs (0: all)")

	var (
		getOut           outputFlag
		noOutput, legacy bool
	)
	get := &cobra.Command{
		Use:   "get RUN_ID",
		Short: "Show a run: its stages, each execution's status, exit code, duration and output (head and tail)",
		Example: `  hookshot runs get 5f1c0b9e-8f1e-4b8a-9d55-3f0f6b1d2c3a
  hookshot runs get 5f1c0b9e-8f1e-4b8a-9d55-3f0f6b1d2c3a --no-output   # the tables only
  hookshot runs get 5f1c0b9e-8f1e-4b8a-9d55-3f0f6b1d2c3a -o json      # everything`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if _, err := c.Do(cmd.Context(), http.MethodGet, runPath(c, args[0]), nil, &raw); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if getOut.format != "table" && getOut.format != "" {
				var generic any
				if err := json.Unmarshal(raw, &generic); err != nil {
					return err
				}
				return getOut.print(w, generic, nil)
			}
			var v client.Run
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("decode run %s: %w", args[0], err)
			}
			return printRun(w, &v, !noOutput)
		},
	}
	getOut.register(get, "table")
	get.Flags().BoolVar(&noOutput, "no-output", false, "leave out each execution's captured stdout and stderr")
	get.Flags().BoolVar(&legacy, "output-text", true, "print the captured output (the default now)")
	_ = get.Flags().MarkDeprecated("output-text", "output is shown by default; --no-output hides it")

	cmd.AddCommand(list, get)
	return cmd
}

func runPath(c *client.Client, runID string) string {
	return c.AccountPath("/hookshot/v1/runs/" + url.PathEscape(runID))
}

// printRun writes a run as a table: one row per execution, grouped by
// stage; then the details of failed stages and, with text, the output.
func printRun(w io.Writer, v *client.Run, text bool) error {
	fmt.Fprintf(w, "Run:      %s\nApp:      %s\n", v.RunID, v.AppID)
	if len(v.Stages) > 0 {
		fmt.Fprintf(w, "Planned:  %s\n", clock(v.Stages[0].Planned))
	}
	fmt.Fprintln(w)
	t := &table{header: []string{"STAGE", "HOOKSTATE", "HOOK", "CONTAINER", "STATUS", "EXIT", "DURATION"}}
	for _, s := range v.Stages {
		name, state := s.Action+"/"+s.Stage, orRunning(s.HookState)
		if s.AbortAction {
			state += " (abort)"
		}
		if len(s.Executions) == 0 {
			t.add(name, state, "(no hook matched)", "", "", "", "")
		}
		for i, e := range s.Executions {
			if i > 0 {
				name, state = "", ""
			}
			t.add(name, state, e.HookName, e.Container.Key(), executionStatus(&e), exitCell(&e), durationCell(&e))
		}
	}
	if err := (&outputFlag{format: "table"}).print(w, nil, t); err != nil {
		return err
	}
	if err := printInventory(w, v.Stages); err != nil {
		return err
	}
	for _, s := range v.Stages {
		for _, d := range s.HookStateDetails {
			fmt.Fprintf(w, "\n%s/%s: %s", s.Action, s.Stage, d.Detail)
		}
	}
	if slices.ContainsFunc(v.Stages, func(s client.Stage) bool { return len(s.HookStateDetails) > 0 }) {
		fmt.Fprintln(w)
	}
	if !text {
		return nil
	}
	for _, s := range v.Stages {
		for _, e := range s.Executions {
			for _, o := range []struct {
				name string
				out  *client.Output
			}{{"stdout", e.Stdout}, {"stderr", e.Stderr}} {
				if o.out == nil || o.out.Text == "" {
					continue
				}
				fmt.Fprintf(w, "\n--- %s/%s %s %s: %s", s.Action, s.Stage, e.HookName, e.Container.Key(), o.name)
				if o.out.Truncated {
					fmt.Fprintf(w, " (truncated, %d bytes in all)", o.out.TotalBytes)
				}
				fmt.Fprintf(w, "\n%s", o.out.Text)
				if !strings.HasSuffix(o.out.Text, "\n") {
					fmt.Fprintln(w)
				}
			}
		}
	}
	return nil
}

// maxInventoryRows bounds the containers printInventory lists per stage;
// -o json has them all.
const maxInventoryRows = 50

// printInventory writes, for the stages whose containers live in a cluster
// (apps 2.x), the cluster and the inventory the stage matched hooks against:
// discovered from the cluster when it was planned, or given by the lifecycle
// event. Stages of static apps (cluster "local") print nothing, as before.
func printInventory(w io.Writer, stages []client.Stage) error {
	t := &table{header: []string{"STAGE", "CLUSTER", "INVENTORY", "CONTAINER", "IMAGE"}}
	for _, s := range stages {
		if !s.Discovered && (s.Cluster == "" || s.Cluster == "local") {
			continue
		}
		name, cluster, inv := s.Action+"/"+s.Stage, s.Cluster, fmt.Sprintf("discovered (%d)", len(s.Inventory))
		if !s.Discovered {
			// The event named the containers, or discovery failed (the
			// stage's details say why).
			inv = fmt.Sprintf("from the event (%d)", len(s.Inventory))
		}
		if len(s.Inventory) == 0 {
			t.add(name, cluster, inv, "-", "")
		}
		for i, c := range s.Inventory {
			if i == maxInventoryRows {
				t.add("", "", "", fmt.Sprintf("… %d more (-o json lists them)", len(s.Inventory)-i), "")
				break
			}
			if i > 0 {
				name, cluster, inv = "", "", ""
			}
			t.add(name, cluster, inv, c.Key(), c.ContainerImage)
		}
	}
	if len(t.rows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return (&outputFlag{format: "table"}).print(w, nil, t)
}

// executionStatus is the status, with what else a reader needs to know.
func executionStatus(e *client.Execution) string {
	s := e.Status
	var notes []string
	switch {
	case e.TimedOut:
		notes = append(notes, "timed out")
	case e.Signal != "":
		notes = append(notes, "signal "+e.Signal)
	case e.Error != "" && e.ExitCode != nil && *e.ExitCode == -1:
		notes = append(notes, "not run")
	}
	if e.Attempt > 1 {
		notes = append(notes, "attempt "+strconv.Itoa(e.Attempt))
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

func exitCell(e *client.Execution) string {
	if e.ExitCode == nil {
		return "-"
	}
	return strconv.Itoa(*e.ExitCode)
}

func durationCell(e *client.Execution) string {
	if e.ExitCode == nil {
		return "-"
	}
	return seconds(e.DurationMillis)
}

// seconds formats milliseconds as "0.12s".
func seconds(ms int64) string { return fmt.Sprintf("%.2fs", float64(ms)/1000) }

// clock formats a time for tables: UTC, to the second.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orRunning(hookState string) string {
	if hookState == "" {
		return client.ExecutionRunning
	}
	return hookState
}
