package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/internal/enginebench"
)

// benchReport is the JSON form of an enginebench.Report: durations in
// seconds, rates in executions per second.
type benchReport struct {
	Executions            int          `json:"executions"`
	Concurrency           int          `json:"concurrency"`
	HookshotSeconds       float64      `json:"hookshotSeconds"`
	BareSeconds           float64      `json:"bareSeconds"`
	HookshotPerSec        float64      `json:"hookshotPerSec"`
	BarePerSec            float64      `json:"barePerSec"`
	Ratio                 float64      `json:"ratio"`
	OverheadPerExecMicros int64        `json:"overheadPerExecMicros"`
	Latency               benchLatency `json:"latency"`
}

// benchLatency is the JSON form of an enginebench.Latency, in microseconds.
type benchLatency struct {
	Events            int     `json:"events"`
	RatePerSec        float64 `json:"ratePerSec"`
	P50Micros         int64   `json:"p50Micros"`
	P99Micros         int64   `json:"p99Micros"`
	HookP50Micros     int64   `json:"hookP50Micros"`
	OverheadP50Micros int64   `json:"overheadP50Micros"`
	OverheadP99Micros int64   `json:"overheadP99Micros"`
}

func newBenchCmd() *cobra.Command {
	var (
		executions, concurrency, latencyEvents int
		output                                 string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Hookshot's executions per second against a bare exec of the same script, and its latency",
		Long: `Measure Hookshot end to end on this machine: a trivial hook run --executions
times through lifecycle event, matcher, jobs, workers, results and stage
result, next to a bare os/exec of the same script at the same concurrency,
in the same run. The ratio (Hookshot's rate over bare exec's) is the figure to
watch; absolute numbers depend on the machine and its load.

Then it measures latency: --latency-events one-container events published at
half the rate just measured, each timed from its publish to its stage
result's arrival (p50, p99), and the same minus the hook's own run time as
its runner recorded it: what Hookshot adds.

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
			case latencyEvents < 1:
				return fmt.Errorf("--latency-events %d: must be at least 1", latencyEvents)
			case output != "text" && output != "json":
				return fmt.Errorf("-o %q: must be text or json", output)
			}
			rep, err := enginebench.Run(cmd.Context(), enginebench.Config{Executions: executions, Concurrency: concurrency, LatencyEvents: latencyEvents})
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			l := rep.Latency
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), benchReport{
					Executions: rep.Executions, Concurrency: rep.Concurrency,
					HookshotSeconds: rep.Hookshot.Seconds(), BareSeconds: rep.Bare.Seconds(),
					HookshotPerSec: rep.HookshotPerSec, BarePerSec: rep.BarePerSec, Ratio: rep.Ratio,
					OverheadPerExecMicros: rep.OverheadPerExec.Microseconds(),
					Latency: benchLatency{Events: l.Events, RatePerSec: l.Rate, P50Micros: l.P50.Microseconds(), P99Micros: l.P99.Microseconds(),
						HookP50Micros: l.HookP50.Microseconds(), OverheadP50Micros: l.OverheadP50.Microseconds(), OverheadP99Micros: l.OverheadP99.Microseconds()},
				})
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), rep)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&executions, "executions", 500, "hook executions to run on each side")
	f.IntVar(&concurrency, "concurrency", 4, "hooks run at once, by the worker and by the bare-exec pool")
	f.IntVar(&latencyEvents, "latency-events", 200, "one-container events of the latency measurement")
	f.StringVarP(&output, "output", "o", "text", "text (two lines: throughput, latency) or json")
	return cmd
}
