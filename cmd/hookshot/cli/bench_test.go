package cli_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
)

// TestBenchJSON: the JSON report parses and carries every figure (their
// values are the machine's; only their presence and coherence are checked).
func TestBenchJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := run(t, t.Context(), "bench", "--executions", "20", "--concurrency", "2", "--latency-events", "10", "-o", "json")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Executions, Concurrency           int
		HookshotSeconds, BareSeconds      float64
		HookshotPerSec, BarePerSec, Ratio float64
		OverheadPerExecMicros             *int64
		Latency                           *struct {
			Events                               int
			RatePerSec                           float64
			P50Micros, P99Micros, HookP50Micros  *int64
			OverheadP50Micros, OverheadP99Micros *int64
		}
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("output is not the bench report: %v\n%s", err, out)
	}
	if rep.Executions != 20 || rep.Concurrency != 2 || rep.HookshotSeconds <= 0 || rep.BareSeconds <= 0 || rep.OverheadPerExecMicros == nil {
		t.Fatalf("report %s", out)
	}
	if rep.HookshotPerSec <= 0 || rep.BarePerSec <= 0 {
		t.Fatalf("rates hookshot %v/s, bare %v/s; want both > 0", rep.HookshotPerSec, rep.BarePerSec)
	}
	if want := rep.HookshotPerSec / rep.BarePerSec; rep.Ratio != want {
		t.Fatalf("ratio %v, want hookshot/bare = %v", rep.Ratio, want)
	}
	l := rep.Latency
	if l == nil || l.Events != 10 || l.RatePerSec <= 0 || l.P50Micros == nil || l.P99Micros == nil || l.HookP50Micros == nil ||
		l.OverheadP50Micros == nil || l.OverheadP99Micros == nil {
		t.Fatalf("latency figures missing: %s", out)
	}
	if *l.P50Micros <= 0 || *l.P99Micros < *l.P50Micros {
		t.Fatalf("latency p50 %dµs, p99 %dµs", *l.P50Micros, *l.P99Micros)
	}
	if want := rep.HookshotPerSec / 2; l.RatePerSec != want {
		t.Fatalf("latency measured at %v/s, want half the saturating rate %v/s", l.RatePerSec, want)
	}
}

func TestBenchText(t *testing.T) {
	t.Parallel()
	code, out, errOut := run(t, t.Context(), "bench", "--executions", "4", "--concurrency", "1", "--latency-events", "3")
	d := `-?[0-9.]+[µmn]?s`
	text := regexp.MustCompile(`^4 executions at concurrency 1: hookshot \d+/s, bare exec \d+/s, ratio \d+\.\d\d \(overhead ` + d + ` per execution\)\n` +
		`latency event → stage result, 3 events at \d+/s \(half the rate above\): p50 ` + d + `, p99 ` + d +
		`; minus the hook's own run \(p50 ` + d + `\): p50 ` + d + `, p99 ` + d + `\n$`)
	if code != cli.ExitOK || !text.MatchString(out) {
		t.Fatalf("exit %d, output %q, stderr %q", code, out, errOut)
	}
}

func TestBenchRefusesBadFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		given   []string
		wantErr string
	}{
		{"no executions", []string{"--executions", "0"}, "--executions 0"},
		{"negative concurrency", []string{"--concurrency", "-1"}, "--concurrency -1"},
		{"no latency events", []string{"--latency-events", "0"}, "--latency-events 0"},
		{"unknown output", []string{"-o", "yaml"}, `-o "yaml"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), append([]string{"bench"}, tt.given...)...)
			if code != cli.ExitError || out != "" || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 naming %s", code, out, errOut, tt.wantErr)
			}
		})
	}
}
