package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/metrics"
)

// printScrape scrapes m once and prints the sample lines whose names start
// with one of prefixes, leaving out zeros when skipZero.
func printScrape(m *metrics.Metrics, skipZero bool, prefixes ...string) {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if skipZero && strings.HasSuffix(line, " 0") {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				fmt.Println(line)
				break
			}
		}
	}
}

// The engine records an execution when it first stores its result, and a
// stage when it first stores the stage result.
func Example() {
	m := metrics.New()
	res := &events.ExecutionResult{Action: "snapshot", Stage: "pre", Status: events.StatusFailed, TimedOut: true, DurationMillis: 60_000}
	m.ExecutionFinished(res.Action, res.Stage, metrics.Outcome(res), time.Duration(res.DurationMillis)*time.Millisecond)
	m.StageFinished("snapshot", "pre", events.HookStateFailed, true)

	printScrape(m, true, "hookshot_executions_total", "hookshot_stage_")
	// Output:
	// hookshot_executions_total{action="snapshot",outcome="timed_out",stage="pre"} 1
	// hookshot_stage_aborts_total{action="snapshot"} 1
	// hookshot_stage_results_total{action="snapshot",hook_state="failed",stage="pre"} 1
}

// Queue gauges are read at scrape time; a callback that fails leaves them
// out of that scrape and counts a scrape error.
func ExampleMetrics_SetQueueStats() {
	m := metrics.New()
	m.SetQueueStats(func(ctx context.Context) (metrics.QueueStats, error) {
		return metrics.QueueStats{JobsPending: 4, JobsUnacked: 2}, nil
	})
	printScrape(m, false, "hookshot_jobs_")

	m.SetQueueStats(func(ctx context.Context) (metrics.QueueStats, error) {
		return metrics.QueueStats{}, fmt.Errorf("consumer info: %w", context.DeadlineExceeded)
	})
	printScrape(m, false, "hookshot_jobs_", "hookshot_scrape_errors_total")
	// Output:
	// hookshot_jobs_pending 4
	// hookshot_jobs_unacked 2
	// hookshot_scrape_errors_total{source="actions"} 0
	// hookshot_scrape_errors_total{source="queue"} 1
}

// The API records the pattern the ServeMux matched, read from the request
// once the mux returns: one series per route, whatever the IDs in the path.
func ExampleMetrics_APIRequest() {
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("/accounts/{account_id}/k8s/v1/apps/{app_id}", func(w http.ResponseWriter, r *http.Request) {})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		mux.ServeHTTP(w, r)
		m.APIRequest(r.Pattern, r.Method, http.StatusOK, time.Since(start))
	})
	for _, app := range []string{"payroll", "billing", "crm"} {
		api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/accounts/default/k8s/v1/apps/"+app, nil))
	}
	printScrape(m, false, "hookshot_api_requests_total")
	// Output:
	// hookshot_api_requests_total{code="200",method="GET",route="/accounts/{account_id}/k8s/v1/apps/{app_id}"} 3
}
