package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/internal/enginebench"
)

// benchReport is the JSON form of an enginebench.Report: durations in
// seconds, rates in executions per second.
type benchReport struct {
	Executions            int     `json:"executions"`
	Concurrency           int     `json:"concurrency"`
	HookshotSeconds       float64 `json:"hookshotSeconds"`
	BareSeconds           float64 `json:"bareSeconds"`
	HookshotPerSec        float64 `json:"hookshotPerSec"`
	BarePerSec            float64 `json:"barePerSec"`
	Ratio                 float64 `json:"ratio"`
	OverheadPerExecMicros int64   `json:"overheadPerExecMicros"`
}

func newBenchCmd() *cobra.Command {
	var (
		executions, concurrency int
		output                  string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Hookshot's executions per second against a bare exec of the same script",
		Long: `Measure Hookshot end to end on this machine: a trivial hook run --executions
times through lifecycle event, matcher, jobs, workers, results and stage
result, next to a bare os/exec of the same script at the same concurrency,
in the same run. The ratio (Hookshot's rate over bare exec's) is the figure to
watch; absolute numbers depend on the machine and its load.

It starts its own embedded NATS in a temporary directory and removes it
afterwards: it does not touch a running server.`,
		Example: `  hookshot bench
  hookshot bench --executions 2000 --concurrency 8 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case executions < 1:
				return fmt.Errorf("--executions %d: must be at least 1", executions)
			case concurrency < 1:
				return fmt.Errorf("--concurrency %d: must be at least 1", concurrency)
			case output != "text" && output != "json":
				return fmt.Errorf("-o %q: must be text or json", output)
			}
			rep, err := enginebench.Run(cmd.Context(), enginebench.Config{Executions: executions, Concurrency: concurrency})
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), benchReport{
					Executions: rep.Executions, Concurrency: rep.Concurrency,
					HookshotSeconds: rep.Hookshot.Seconds(), BareSeconds: rep.Bare.Seconds(),
					HookshotPerSec: rep.HookshotPerSec, BarePerSec: rep.BarePerSec, Ratio: rep.Ratio,
					OverheadPerExecMicros: rep.OverheadPerExec.Microseconds(),
				})
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), rep)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&executions, "executions", 500, "hook executions to run on each side")
	f.IntVar(&concurrency, "concurrency", 4, "hooks run at once, by the worker and by the bare-exec pool")
	f.StringVarP(&output, "output", "o", "text", "text (one line) or json")
	return cmd
}
