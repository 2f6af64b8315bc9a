package enginebench_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/internal/enginebench"
)

// BenchmarkEndToEnd reports Hookshot's executions per second of a trivial
// hook and a bare exec's, measured in the same run, and their ratio.
func BenchmarkEndToEnd(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	n := max(b.N, 50)
	b.ResetTimer()
	rep, err := enginebench.Run(ctx, enginebench.Config{Executions: n, Concurrency: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rep.HookshotPerSec, "hookshot-execs/s")
	b.ReportMetric(rep.BarePerSec, "bare-execs/s")
	b.ReportMetric(rep.Ratio, "ratio")
	b.ReportMetric(float64(rep.Latency.OverheadP50.Microseconds()), "overhead-p50-µs")
	b.ReportMetric(float64(rep.Latency.OverheadP99.Microseconds()), "overhead-p99-µs")
	b.ReportMetric(0, "ns/op")
}

// TestRunReportsBothSides checks the measurement itself on a small run: both
// sides ran every execution and the ratio is derived from them.
func TestRunReportsBothSides(t *testing.T) {
	rep, err := enginebench.Run(t.Context(), enginebench.Config{Executions: 20, Concurrency: 2, ContainersPerEvent: 7, LatencyEvents: 15})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Hookshot <= 0 || rep.Bare <= 0 || rep.Ratio <= 0 || rep.Executions != 20 {
		t.Fatalf("report %+v", rep)
	}
	if got := rep.HookshotPerSec / rep.BarePerSec; got != rep.Ratio {
		t.Fatalf("ratio %v, want %v", rep.Ratio, got)
	}
	l := rep.Latency
	if l.Events != 15 || l.Rate != rep.HookshotPerSec/2 || l.P50 <= 0 || l.P99 < l.P50 || l.HookP50 <= 0 || l.OverheadP99 < l.OverheadP50 {
		t.Fatalf("latency %+v", l)
	}
}
