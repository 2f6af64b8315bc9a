package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/internal/scenario"
)

// newScenarioCmd is `hookshot scenario`: replayable scenarios, run in process.
func newScenarioCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Run replayable scenarios: apps, hooks, lifecycle steps and their expected outcomes",
		Long: `A scenario is a YAML file: apps and their containers, hook sources, execution
hooks, overrides, and steps — snapshots, backups, restores, failovers or raw
lifecycle events — each with the outcome it must have. Every scenario runs
against a fresh Hookshot in this process (embedded NATS in a temp dir, the
engine, one worker, the action driver); no server is needed.

The format is documented in examples/scenarios/README.md and in the Go
package internal/scenario; examples/scenarios holds examples that pass.`,
	}
	cmd.AddCommand(newScenarioRunCmd(), newScenarioCheckCmd())
	return cmd
}

func newScenarioRunCmd() *cobra.Command {
	var (
		record, output, natsURL string
		stageTimeout            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run FILE...",
		Short: "Run scenario files and report every expectation they do not meet",
		Long: `Run each scenario file against a fresh in-process Hookshot and print a report
naming every step that did not come out as expected, and how.

Every file is checked first; if any is invalid, its problems are printed as
file:line: field: reason and nothing runs.

--record FILE writes the run's event log (every lifecycle event, execution
result and stage result, as JSON lines) for 'hookshot replay'. With several
scenario files, --record names a directory and each log is <name>.jsonl.

Exit status: 0 when every scenario passes, 2 when an expectation failed,
1 when a file is invalid or something broke.`,
		Example: `  hookshot scenario run examples/scenarios/*.yaml
  hookshot scenario run freeze.yaml --record freeze.jsonl
  hookshot replay freeze.jsonl --scenario freeze.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := scenarioCheckOutput(output); err != nil {
				return err
			}
			scs, err := scenarioLoadAll(cmd.ErrOrStderr(), args, scenario.Load)
			if err != nil {
				return err
			}
			records, err := scenarioRecordPaths(record, args)
			if err != nil {
				return err
			}
			stdout := cmd.OutOrStdout()
			var results []scenarioResult
			failed, broken := 0, 0
			for i, sc := range scs {
				res := scenarioResult{File: args[i]}
				rep, err := scenarioRunOne(cmd, sc, records[i], stageTimeout, natsURL)
				if err != nil {
					broken++
					res.Error = err.Error()
					fmt.Fprintf(cmd.ErrOrStderr(), "hookshot: %s: %v\n", args[i], err)
				}
				if rep != nil {
					res.Report, res.Passed = rep, err == nil && rep.Passed()
					if output == "text" {
						if err := rep.WriteText(stdout); err != nil {
							return err
						}
					}
				}
				if err == nil && !res.Passed {
					failed++
				}
				results = append(results, res)
			}
			if output == "json" {
				if err := scenarioPrintJSON(stdout, results); err != nil {
					return err
				}
			} else if len(scs) > 1 {
				fmt.Fprintf(stdout, "%d of %d scenarios passed\n", len(scs)-failed-broken, len(scs))
			}
			switch {
			case broken > 0:
				return &exitError{code: ExitError, msg: fmt.Sprintf("%d of %d scenarios could not be run", broken, len(scs))}
			case failed > 0:
				return &exitError{code: ExitHookFailed, msg: fmt.Sprintf("%d of %d scenarios failed", failed, len(scs))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&record, "record", "", "write the event log of the run to this file (a directory with several scenarios)")
	cmd.Flags().StringVar(&natsURL, "nats-url", "", "run against the hookshot server whose NATS is at this URL (its engine, workers and driver do the work, in a fresh account removed afterwards) instead of a fresh in-process Hookshot")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().DurationVar(&stageTimeout, "stage-timeout", time.Minute, "how long one stage may take before it counts as timed out")
	return cmd
}

// scenarioResult is one file's outcome in `scenario run -o json`.
type scenarioResult struct {
	File   string           `json:"file"`
	Passed bool             `json:"passed"`
	Report *scenario.Report `json:"report,omitempty"`
	Error  string           `json:"error,omitempty"`
}

// scenarioRunOne runs one scenario, recording to path when it is set.
func scenarioRunOne(cmd *cobra.Command, sc *scenario.Scenario, path string, stageTimeout time.Duration, natsURL string) (*scenario.Report, error) {
	opts := scenario.Options{StageTimeout: stageTimeout, NATSURL: natsURL}
	var f *os.File
	if path != "" {
		var err error
		if f, err = os.Create(path); err != nil {
			return nil, fmt.Errorf("--record: %w", err)
		}
		opts.Record = f
	}
	rep, err := scenario.Run(cmd.Context(), *sc, opts)
	if f != nil {
		if cerr := f.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("--record: %w", cerr))
		}
	}
	return rep, err
}

// scenarioRecordPaths is where each scenario's event log goes: nowhere,
// the --record file, or <dir>/<name>.jsonl with several scenarios.
func scenarioRecordPaths(record string, files []string) ([]string, error) {
	paths := make([]string, len(files))
	if record == "" {
		return paths, nil
	}
	if len(files) == 1 {
		paths[0] = record
		return paths, nil
	}
	if err := os.MkdirAll(record, 0o755); err != nil {
		return nil, fmt.Errorf("--record with several scenarios names a directory: %w", err)
	}
	seen := map[string]string{}
	for i, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)) + ".jsonl"
		if other, dup := seen[name]; dup {
			return nil, fmt.Errorf("--record: %s and %s would both be recorded as %s", other, f, name)
		}
		seen[name] = f
		paths[i] = filepath.Join(record, name)
	}
	return paths, nil
}

func newScenarioCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE...",
		Short: "Check scenario files without running them",
		Long: `Check scenario files as 'scenario run' does before it runs anything: unknown
keys, wrong types, references to apps, sources or hooks that are not defined,
hooks and sources Hookshot would refuse. Every problem is printed as
file:line: field: reason. Exit status 0 when all are valid, 1 otherwise.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := scenarioLoadAll(cmd.ErrOrStderr(), args, scenario.Load); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d scenario files valid\n", len(args))
			return nil
		},
	}
}

// newReplayCmd is `hookshot replay`.
func newReplayCmd() *cobra.Command {
	var (
		file, output string
		stageTimeout time.Duration
		cf           clientFlags
		slice        scenario.Slice
		since        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "replay [RECORDING] [--scenario FILE]",
		Short: "Re-drive recorded lifecycle events through current hooks and compare",
		Long: `Replay re-publishes every lifecycle event of a recording ('hookshot scenario
run --record') through a fresh in-process Hookshot loaded with the apps,
sources, hooks and overrides of --scenario (its steps are ignored), in
recorded order and with the recorded run IDs, and prints, stage by stage,
what was recorded next to what happens now: hookState, abortAction and each
execution (hook@container: status and exit code), marking what was added,
what is missing and what changed.

Without RECORDING, replay reads a slice of a running Hookshot's lifecycle
stream instead (--nats-url, --account, and --run, --since or --from-seq/
--to-seq), with the stage results it recorded, and — without --scenario —
that Hookshot's current apps, sources, hooks (their default versions) and
overrides: what would happen today, in a fresh in-process Hookshot, without
running anything on the server.

Exit status: 0 when nothing differs, 2 when something does, 1 when the
recording or the scenario is invalid or something broke.`,
		Example: `  hookshot scenario run freeze.yaml --record freeze.jsonl
  # … edit a hook in freeze.yaml …
  hookshot replay freeze.jsonl --scenario freeze.yaml
  # what would last night's runs do with today's hooks?
  hookshot replay --nats-url nats://hookshot:4222 --account payroll --since 24h`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := scenarioCheckOutput(output); err != nil {
				return err
			}
			var (
				defs      *scenario.Scenario
				recording io.Reader
				name      string
			)
			if file != "" {
				loaded, err := scenarioLoadAll(cmd.ErrOrStderr(), []string{file}, scenario.LoadDefinitions)
				if err != nil {
					return err
				}
				defs = loaded[0]
			}
			if len(args) == 1 {
				if defs == nil {
					return errors.New("replaying a recording file needs --scenario FILE")
				}
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				recording, name = f, args[0]
			} else {
				c, err := cf.connect(cmd.Context(), "hookshot replay")
				if err != nil {
					return err
				}
				defer c.Close()
				if since > 0 {
					slice.Since = time.Now().Add(-since)
				}
				var buf bytes.Buffer
				n, err := scenario.RecordStreams(cmd.Context(), c.js, cf.account, slice, &buf)
				if err != nil {
					return err
				}
				if n == 0 && slice.RunID != "" {
					return fmt.Errorf("no lifecycle events of account %s in that slice of the stream", cf.account)
				}
				if n == 0 {
					// An empty slice is a fact, not a failure: nothing ran
					// then, so nothing can differ now.
					fmt.Fprintf(cmd.OutOrStdout(), "nothing to replay: no lifecycle events of account %s in that slice of the stream\n", cf.account)
					return nil
				}
				if defs == nil {
					if defs, err = scenario.FromStore(cmd.Context(), c.store, cf.account); err != nil {
						return fmt.Errorf("read the current definitions: %w", err)
					}
				}
				recording, name = &buf, fmt.Sprintf("%d lifecycle events of account %s", n, cf.account)
			}
			rr, err := scenario.Replay(cmd.Context(), recording, *defs, scenario.Options{StageTimeout: stageTimeout})
			if err != nil {
				return fmt.Errorf("replay %s: %w", name, err)
			}
			if output == "json" {
				err = scenarioPrintJSON(cmd.OutOrStdout(), struct {
					Differs bool `json:"differs"`
					*scenario.ReplayReport
				}{rr.Differs(), rr})
			} else {
				err = rr.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if rr.Differs() {
				return &exitError{code: ExitHookFailed, msg: "the replay differs from the recording"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "scenario", "", "the scenario file whose definitions to replay with (default with a stream slice: the server's current ones)")
	cf.register(cmd)
	cmd.Flags().StringVar(&slice.RunID, "run", "", "stream slice: only this run")
	cmd.Flags().DurationVar(&since, "since", 0, "stream slice: events of the last DURATION")
	cmd.Flags().Uint64Var(&slice.FromSeq, "from-seq", 0, "stream slice: from this lifecycle stream sequence")
	cmd.Flags().Uint64Var(&slice.ToSeq, "to-seq", 0, "stream slice: up to this lifecycle stream sequence")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().DurationVar(&stageTimeout, "stage-timeout", time.Minute, "how long one stage may take before it counts as timed out")
	return cmd
}

// scenarioLoadAll loads every file with load. If any is invalid it prints
// every problem of every file to stderr and returns an exit error: nothing
// runs unless all are valid.
func scenarioLoadAll(stderr io.Writer, files []string, load func(string) (*scenario.Scenario, error)) ([]*scenario.Scenario, error) {
	out := make([]*scenario.Scenario, 0, len(files))
	invalid := 0
	for _, f := range files {
		sc, err := load(f)
		if err != nil {
			var ve *scenario.ValidationError
			if !errors.As(err, &ve) {
				return nil, err
			}
			invalid++
			for _, p := range ve.Problems {
				fmt.Fprintln(stderr, p.String())
			}
			continue
		}
		out = append(out, sc)
	}
	if invalid > 0 {
		return nil, &exitError{code: ExitError, msg: fmt.Sprintf("%d of %d scenario files invalid; nothing was run", invalid, len(files))}
	}
	return out, nil
}

func scenarioCheckOutput(o string) error {
	if o != "text" && o != "json" {
		return fmt.Errorf("-o %q: must be text or json", o)
	}
	return nil
}

func scenarioPrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
