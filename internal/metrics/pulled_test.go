package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/internal/metrics"
)

var queueGauges = []string{"hookshot_jobs_pending", "hookshot_jobs_unacked", "hookshot_lifecycle_pending", "hookshot_results_pending"}

func TestSetQueueStats(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	stats := metrics.QueueStats{JobsPending: 7, JobsUnacked: 3, LifecyclePending: 2, ResultsPending: 11}
	calls := 0
	m.SetQueueStats(func(ctx context.Context) (metrics.QueueStats, error) {
		calls++
		return stats, nil
	})

	s := scrapeOf(t, m)
	for name, want := range map[string]float64{
		"hookshot_jobs_pending": 7, "hookshot_jobs_unacked": 3, "hookshot_lifecycle_pending": 2, "hookshot_results_pending": 11,
	} {
		if got := s.value(t, name, ""); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if calls != 1 {
		t.Errorf("callback called %d times in one scrape, want 1", calls)
	}
	if got := s.value(t, "hookshot_scrape_errors_total", "source=queue"); got != 0 {
		t.Errorf("scrape_errors_total{queue} = %v, want 0", got)
	}

	stats.JobsPending = 0 // values are read at every scrape
	if got := scrapeOf(t, m).value(t, "hookshot_jobs_pending", ""); got != 0 {
		t.Errorf("jobs_pending after it drained = %v, want 0", got)
	}
}

func TestSetQueueStats_Failing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given func(ctx context.Context) (metrics.QueueStats, error)
	}{
		{"error", func(ctx context.Context) (metrics.QueueStats, error) {
			return metrics.QueueStats{JobsPending: 5}, errors.New("nats: timeout")
		}},
		{"panic", func(ctx context.Context) (metrics.QueueStats, error) { panic("callback bug") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New()
			m.SetQueueStats(tt.given)
			for scrape := 1; scrape <= 2; scrape++ {
				s := scrapeOf(t, m)
				for _, name := range queueGauges {
					if s[name] != nil {
						t.Errorf("scrape %d: %s present although its callback failed: %v", scrape, name, s.series(name))
					}
				}
				if got := s.value(t, "hookshot_scrape_errors_total", "source=queue"); got != float64(scrape) {
					t.Errorf("scrape %d: scrape_errors_total{queue} = %v, want %d", scrape, got, scrape)
				}
				if got := s.value(t, "hookshot_scrape_errors_total", "source=actions"); got != 0 {
					t.Errorf("scrape %d: scrape_errors_total{actions} = %v, want 0", scrape, got)
				}
				// The rest of the scrape is served.
				s.value(t, "hookshot_executions_in_flight", "")
			}
		})
	}
}

func TestSetQueueStats_Deadline(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	var left time.Duration
	m.SetQueueStats(func(ctx context.Context) (metrics.QueueStats, error) {
		deadline, ok := ctx.Deadline()
		if !ok {
			return metrics.QueueStats{}, errors.New("no deadline")
		}
		left = time.Until(deadline)
		return metrics.QueueStats{}, nil
	})
	s := scrapeOf(t, m)
	if s["hookshot_jobs_pending"] == nil {
		t.Fatal("callback without a deadline")
	}
	if left <= 0 || left > metrics.PullTimeout {
		t.Errorf("callback deadline %v away, want within %v", left, metrics.PullTimeout)
	}
	if metrics.PullTimeout != 2*time.Second {
		t.Errorf("PullTimeout = %v, want 2s", metrics.PullTimeout)
	}
}

func TestSetQueueStats_Removed(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.SetQueueStats(func(ctx context.Context) (metrics.QueueStats, error) { return metrics.QueueStats{JobsPending: 1}, nil })
	scrapeOf(t, m).value(t, "hookshot_jobs_pending", "")
	m.SetQueueStats(nil)
	s := scrapeOf(t, m)
	if s["hookshot_jobs_pending"] != nil {
		t.Error("jobs_pending present after the callback was removed")
	}
	if got := s.value(t, "hookshot_scrape_errors_total", "source=queue"); got != 0 {
		t.Errorf("no callback counted as an error: %v", got)
	}
}

func TestSetActionStats(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.SetActionStats(func(ctx context.Context) (map[string]int, error) {
		return map[string]int{"pending": 1, "running": 4, "completed": 120, "failed": 0}, nil
	})
	s := scrapeOf(t, m)
	for labels, want := range map[string]float64{"state=pending": 1, "state=running": 4, "state=completed": 120, "state=failed": 0} {
		if got := s.value(t, "hookshot_actions", labels); got != want {
			t.Errorf("actions{%s} = %v, want %v", labels, got, want)
		}
	}
	if n := len(s.series("hookshot_actions")); n != 4 {
		t.Errorf("actions has %d series, want 4", n)
	}
}

func TestSetActionStats_Failing(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.SetActionStats(func(ctx context.Context) (map[string]int, error) {
		return map[string]int{"running": 1}, context.DeadlineExceeded
	})
	m.SetQueueStats(func(ctx context.Context) (metrics.QueueStats, error) { return metrics.QueueStats{JobsPending: 9}, nil })

	s := scrapeOf(t, m)
	if s["hookshot_actions"] != nil {
		t.Errorf("actions present although its callback failed: %v", s.series("hookshot_actions"))
	}
	if got := s.value(t, "hookshot_scrape_errors_total", "source=actions"); got != 1 {
		t.Errorf("scrape_errors_total{actions} = %v, want 1", got)
	}
	// One failing source does not take the other down.
	if got := s.value(t, "hookshot_jobs_pending", ""); got != 9 {
		t.Errorf("jobs_pending = %v, want 9", got)
	}
	if got := s.value(t, "hookshot_scrape_errors_total", "source=queue"); got != 0 {
		t.Errorf("scrape_errors_total{queue} = %v, want 0", got)
	}
}
