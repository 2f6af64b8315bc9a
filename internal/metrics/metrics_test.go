package metrics_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/metrics"
)

func TestNew(t *testing.T) {
	t.Parallel()
	s := scrapeOf(t, metrics.New())

	want := []string{
		"hookshot_executions_total", "hookshot_execution_duration_seconds", "hookshot_stage_results_total",
		"hookshot_stage_aborts_total", "hookshot_redeliveries_total", "hookshot_executions_in_flight",
		"hookshot_actions_finished_total", "hookshot_scrape_errors_total",
		"go_goroutines", "promhttp_metric_handler_requests_total",
	}
	if runtime.GOOS == "linux" {
		want = append(want, "process_cpu_seconds_total")
	}
	for _, name := range want {
		if s[name] == nil {
			t.Errorf("%s absent from a fresh scrape; families: %v", name, s.names())
		}
	}
	// Nothing pulled without a callback, no API series before a request.
	for _, name := range []string{
		"hookshot_jobs_pending", "hookshot_jobs_unacked", "hookshot_lifecycle_pending",
		"hookshot_results_pending", "hookshot_actions", "hookshot_api_requests_total",
	} {
		if s[name] != nil {
			t.Errorf("%s present in a fresh scrape: %v", name, s.series(name))
		}
	}
}

// TestNew_SeriesStartAtZero checks that every series with known labels is
// there at 0, so that rate() sees the first increment.
func TestNew_SeriesStartAtZero(t *testing.T) {
	t.Parallel()
	s := scrapeOf(t, metrics.New())
	pairs := [][2]string{{"snapshot", "pre"}, {"snapshot", "post"}, {"backup", "pre"}, {"backup", "post"}, {"restore", "post"}, {"failover", "post"}}
	for _, p := range pairs {
		as := "action=" + p[0] + ",stage=" + p[1]
		for _, o := range []string{"succeeded", "failed", "timed_out"} {
			if v := s.value(t, "hookshot_executions_total", as+",outcome="+o); v != 0 {
				t.Errorf("executions_total{%s,%s} = %v", as, o, v)
			}
		}
		for _, h := range []string{"success", "failed"} {
			s.value(t, "hookshot_stage_results_total", as+",hook_state="+h)
		}
		if got := s.histogram(t, "hookshot_execution_duration_seconds", as).GetSampleCount(); got != 0 {
			t.Errorf("duration{%s} count = %d", as, got)
		}
	}
	if n := len(s.series("hookshot_executions_total")); n != len(pairs)*3 {
		t.Errorf("executions_total has %d series, want %d (no invalid action/stage pair)", n, len(pairs)*3)
	}
	for _, a := range []string{"snapshot", "backup"} {
		s.value(t, "hookshot_stage_aborts_total", "action="+a)
	}
	for _, k := range []string{"job", "lifecycle", "result"} {
		s.value(t, "hookshot_redeliveries_total", "kind="+k)
	}
	for _, k := range []string{"snapshot", "backup", "restore", "failover"} {
		for _, st := range []string{"completed", "failed"} {
			s.value(t, "hookshot_actions_finished_total", "kind="+k+",state="+st)
		}
	}
	for _, src := range []string{"queue", "actions"} {
		s.value(t, "hookshot_scrape_errors_total", "source="+src)
	}
}

func TestExecutionFinished(t *testing.T) {
	t.Parallel()
	type execution struct {
		action  events.Action
		stage   events.Stage
		outcome string
		d       time.Duration
	}
	type series struct {
		labels string
		count  float64
	}
	type histo struct {
		labels string
		count  uint64
		sum    float64
	}
	tests := []struct {
		name      string
		given     []execution
		want      []series
		wantHisto []histo
	}{
		{
			name:      "one success",
			given:     []execution{{"snapshot", "pre", metrics.OutcomeSucceeded, 1500 * time.Millisecond}},
			want:      []series{{"action=snapshot,stage=pre,outcome=succeeded", 1}, {"action=snapshot,stage=pre,outcome=failed", 0}},
			wantHisto: []histo{{"action=snapshot,stage=pre", 1, 1.5}},
		},
		{
			name: "outcomes and stages kept apart",
			given: []execution{
				{"backup", "pre", metrics.OutcomeFailed, time.Second},
				{"backup", "pre", metrics.OutcomeFailed, 2 * time.Second},
				{"backup", "pre", metrics.OutcomeTimedOut, 1500 * time.Second},
				{"backup", "post", metrics.OutcomeSucceeded, 250 * time.Millisecond},
			},
			want: []series{
				{"action=backup,stage=pre,outcome=failed", 2},
				{"action=backup,stage=pre,outcome=timed_out", 1},
				{"action=backup,stage=pre,outcome=succeeded", 0},
				{"action=backup,stage=post,outcome=succeeded", 1},
			},
			wantHisto: []histo{{"action=backup,stage=pre", 3, 1503}, {"action=backup,stage=post", 1, 0.25}},
		},
		{
			name: "a pair outside the event contract is unknown",
			given: []execution{
				{"restore", "pre", metrics.OutcomeSucceeded, time.Second},
				{"drop table", "x", metrics.OutcomeFailed, time.Second},
			},
			want: []series{
				{"action=unknown,stage=unknown,outcome=succeeded", 1},
				{"action=unknown,stage=unknown,outcome=failed", 1},
				{"action=restore,stage=post,outcome=succeeded", 0},
			},
			wantHisto: []histo{{"action=unknown,stage=unknown", 2, 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New()
			for _, e := range tt.given {
				m.ExecutionFinished(e.action, e.stage, e.outcome, e.d)
			}
			s := scrapeOf(t, m)
			for _, w := range tt.want {
				if got := s.value(t, "hookshot_executions_total", w.labels); got != w.count {
					t.Errorf("executions_total{%s} = %v, want %v", w.labels, got, w.count)
				}
			}
			for _, w := range tt.wantHisto {
				h := s.histogram(t, "hookshot_execution_duration_seconds", w.labels)
				if h.GetSampleCount() != w.count || h.GetSampleSum() != w.sum {
					t.Errorf("duration{%s}: count %d sum %v, want %d and %v", w.labels, h.GetSampleCount(), h.GetSampleSum(), w.count, w.sum)
				}
			}
		})
	}
}

func TestExecutionFinished_Buckets(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.ExecutionFinished("snapshot", "post", metrics.OutcomeSucceeded, 7*time.Millisecond)
	m.ExecutionFinished("snapshot", "post", metrics.OutcomeSucceeded, 45*time.Second)
	m.ExecutionFinished("snapshot", "post", metrics.OutcomeTimedOut, 1501*time.Second)

	h := scrapeOf(t, m).histogram(t, "hookshot_execution_duration_seconds", "action=snapshot,stage=post")
	bounds := make([]float64, 0, len(h.GetBucket()))
	cumulative := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		if math.IsInf(b.GetUpperBound(), 1) {
			continue // the parser keeps the +Inf line as a bucket
		}
		bounds = append(bounds, b.GetUpperBound())
		cumulative[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	if !equalFloats(bounds, metrics.ExecutionBuckets) {
		t.Fatalf("buckets %v, want %v", bounds, metrics.ExecutionBuckets)
	}
	if bounds[0] != 0.01 || bounds[len(bounds)-1] != 1500 {
		t.Errorf("buckets run %v … %v, want 0.01 … 1500", bounds[0], bounds[len(bounds)-1])
	}
	for _, c := range []struct {
		le   float64
		want uint64
	}{{0.01, 1}, {30, 1}, {60, 2}, {1500, 2}} {
		if got := cumulative[c.le]; got != c.want {
			t.Errorf("bucket le=%v: %d, want %d", c.le, got, c.want)
		}
	}
	if h.GetSampleCount() != 3 {
		t.Errorf("count %d, want 3 (+Inf holds the one past 1500s)", h.GetSampleCount())
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given events.ExecutionResult
		want  string
	}{
		{"exit 0", events.ExecutionResult{Status: events.StatusSucceeded}, metrics.OutcomeSucceeded},
		{"exit 1", events.ExecutionResult{Status: events.StatusFailed, ExitCode: 1}, metrics.OutcomeFailed},
		{"runner error", events.ExecutionResult{Status: events.StatusFailed, ExitCode: -1, Error: "no such container"}, metrics.OutcomeFailed},
		{"timed out", events.ExecutionResult{Status: events.StatusFailed, ExitCode: -1, TimedOut: true, Signal: "SIGKILL"}, metrics.OutcomeTimedOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := metrics.Outcome(&tt.given); got != tt.want {
				t.Errorf("Outcome = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStageFinished(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.StageFinished("snapshot", "pre", events.HookStateSuccess, false)
	m.StageFinished("snapshot", "pre", events.HookStateFailed, true)
	m.StageFinished("snapshot", "pre", events.HookStateFailed, true)
	m.StageFinished("snapshot", "post", events.HookStateFailed, false)
	m.StageFinished("backup", "pre", events.HookStateFailed, false) // WARN mode: failed, no abort

	s := scrapeOf(t, m)
	for labels, want := range map[string]float64{
		"action=snapshot,stage=pre,hook_state=success": 1,
		"action=snapshot,stage=pre,hook_state=failed":  2,
		"action=snapshot,stage=post,hook_state=failed": 1,
		"action=backup,stage=pre,hook_state=failed":    1,
		"action=backup,stage=pre,hook_state=success":   0,
	} {
		if got := s.value(t, "hookshot_stage_results_total", labels); got != want {
			t.Errorf("stage_results_total{%s} = %v, want %v", labels, got, want)
		}
	}
	for labels, want := range map[string]float64{"action=snapshot": 2, "action=backup": 0} {
		if got := s.value(t, "hookshot_stage_aborts_total", labels); got != want {
			t.Errorf("stage_aborts_total{%s} = %v, want %v", labels, got, want)
		}
	}
}

func TestRedelivered(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.Redelivered(metrics.RedeliveryJob)
	m.Redelivered(metrics.RedeliveryJob)
	m.Redelivered(metrics.RedeliveryResult)

	s := scrapeOf(t, m)
	for labels, want := range map[string]float64{"kind=job": 2, "kind=lifecycle": 0, "kind=result": 1} {
		if got := s.value(t, "hookshot_redeliveries_total", labels); got != want {
			t.Errorf("redeliveries_total{%s} = %v, want %v", labels, got, want)
		}
	}
}

func TestExecutionsInFlight(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	inFlight := func() float64 { return scrapeOf(t, m).value(t, "hookshot_executions_in_flight", "") }

	if got := inFlight(); got != 0 {
		t.Fatalf("in flight at start = %v", got)
	}
	m.ExecutionStarted()
	m.ExecutionStarted()
	m.ExecutionStarted()
	if got := inFlight(); got != 3 {
		t.Errorf("after 3 starts = %v, want 3", got)
	}
	m.ExecutionDone()
	if got := inFlight(); got != 2 {
		t.Errorf("after 1 done = %v, want 2", got)
	}
	m.ExecutionDone()
	m.ExecutionDone()
	if got := inFlight(); got != 0 {
		t.Errorf("after all done = %v, want 0", got)
	}
}

func TestActionFinished(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.ActionFinished("backup", "completed")
	m.ActionFinished("backup", "failed")
	m.ActionFinished("backup", "failed")
	m.ActionFinished("mystery", "failed")

	s := scrapeOf(t, m)
	for labels, want := range map[string]float64{
		"kind=backup,state=completed":  1,
		"kind=backup,state=failed":     2,
		"kind=snapshot,state=failed":   0,
		"kind=unknown,state=failed":    1,
		"kind=failover,state=complete": -1, // absent
	} {
		if want < 0 {
			if s.metric("hookshot_actions_finished_total", labels) != nil {
				t.Errorf("actions_finished_total{%s} present", labels)
			}
			continue
		}
		if got := s.value(t, "hookshot_actions_finished_total", labels); got != want {
			t.Errorf("actions_finished_total{%s} = %v, want %v", labels, got, want)
		}
	}
}

// instrument is how the API server records a request: it reads the pattern
// the ServeMux matched once the mux returns.
func instrument(m *metrics.Metrics, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		mux.ServeHTTP(sw, r)
		m.APIRequest(r.Pattern, r.Method, sw.status, time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func TestAPIRequest_RoutePattern(t *testing.T) {
	t.Parallel()
	const pattern = "/accounts/{account_id}/core/v1/executionHooks/{id}"
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, _ = w.Write([]byte("{}")) // no WriteHeader: 200
	})
	mux.HandleFunc("/", http.NotFound)
	h := instrument(m, mux)

	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/accounts/a1/core/v1/executionHooks/0b6f5f1e-4c3c-4d2e-9f43-7d2d0f9a1b01"},
		{http.MethodGet, "/accounts/a2/core/v1/executionHooks/7be5ae7c-151d-4230-ac39-ac1d0b33c2a9"},
		{http.MethodDelete, "/accounts/a1/core/v1/executionHooks/x"},
		{"BREW", "/accounts/a1/core/v1/executionHooks/y"},
		{http.MethodGet, "/no/such/path/1"},
		{http.MethodGet, "/no/such/path/2"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}

	s := scrapeOf(t, m)
	for labels, want := range map[string]float64{
		"route=" + pattern + ",method=GET,code=200":    2,
		"route=" + pattern + ",method=DELETE,code=204": 1,
		"route=" + pattern + ",method=other,code=200":  1,
		"route=/,method=GET,code=404":                  2,
	} {
		if got := s.value(t, "hookshot_api_requests_total", labels); got != want {
			t.Errorf("api_requests_total{%s} = %v, want %v", labels, got, want)
		}
	}
	for _, series := range s.series("hookshot_api_requests_total") {
		if strings.Contains(series, "a1") || strings.Contains(series, "no/such") {
			t.Errorf("a raw path leaked into a label: %s", series)
		}
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "hookshot_api_requests_total"); err != nil || n != 4 {
		t.Errorf("api_requests_total has %d series (err %v), want 4", n, err)
	}
	h2 := s.histogram(t, "hookshot_api_request_duration_seconds", "route="+pattern+",method=GET")
	if h2.GetSampleCount() != 2 || h2.GetSampleSum() <= 0 {
		t.Errorf("api duration{GET %s}: count %d sum %v, want 2 and > 0", pattern, h2.GetSampleCount(), h2.GetSampleSum())
	}
}

func TestAPIRequest_Defaults(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.APIRequest("", http.MethodPost, 0, 3*time.Millisecond)
	const want = `
# HELP hookshot_api_requests_total HTTP API requests, by route pattern, method and status code.
# TYPE hookshot_api_requests_total counter
hookshot_api_requests_total{code="200",method="POST",route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "hookshot_api_requests_total"); err != nil {
		t.Error(err)
	}
}

// TestNil checks that a component built without metrics can call every
// method on its nil *Metrics.
func TestNil(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	m.ExecutionFinished("snapshot", "pre", metrics.OutcomeSucceeded, time.Second)
	m.StageFinished("snapshot", "pre", events.HookStateSuccess, true)
	m.Redelivered(metrics.RedeliveryJob)
	m.ExecutionStarted()
	m.ExecutionDone()
	m.ActionFinished("snapshot", "completed")
	m.APIRequest("/", http.MethodGet, http.StatusOK, time.Millisecond)
	m.SetQueueStats(nil)
	m.SetActionStats(nil)
	if m.Registry() != nil {
		t.Error("Registry of a nil *Metrics is not nil")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("Handler of a nil *Metrics answered %d, want 404", rec.Code)
	}
}

// TestConcurrent records from many goroutines while scraping; run with -race.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.SetActionStats(func(ctx context.Context) (map[string]int, error) { return map[string]int{"running": 1}, nil })
	const goroutines, each = 8, 100
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				m.ExecutionStarted()
				m.ExecutionFinished("backup", "post", metrics.OutcomeSucceeded, time.Millisecond)
				m.Redelivered(metrics.RedeliveryLifecycle)
				m.ExecutionDone()
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("scrape answered %d", rec.Code)
			}
			m.SetActionStats(func(ctx context.Context) (map[string]int, error) { return map[string]int{"running": 2}, nil })
		}
	})
	wg.Wait()

	s := scrapeOf(t, m)
	if got := s.value(t, "hookshot_executions_total", "action=backup,stage=post,outcome=succeeded"); got != goroutines*each {
		t.Errorf("executions_total = %v, want %d", got, goroutines*each)
	}
	if got := s.value(t, "hookshot_redeliveries_total", "kind=lifecycle"); got != goroutines*each {
		t.Errorf("redeliveries_total = %v, want %d", got, goroutines*each)
	}
	if got := s.value(t, "hookshot_executions_in_flight", ""); got != 0 {
		t.Errorf("in flight = %v, want 0", got)
	}
}
