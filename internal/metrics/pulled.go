package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PullTimeout bounds each callback that SetQueueStats and SetActionStats
// install, per scrape. A callback must honour its context.
const PullTimeout = 2 * time.Second

// QueueStats is the backlog of Hookshot's durable consumers (see
// JetStreamQueueStats).
type QueueStats struct {
	// JobsPending is how many jobs wait for a worker: NumPending of the
	// workers' consumers (events.WorkerConsumer of each cluster), added up.
	JobsPending int
	// JobsUnacked is how many jobs workers hold without having acked them
	// (running hooks, or workers that died): NumAckPending of those consumers.
	JobsUnacked int
	// LifecyclePending is how many lifecycle events the engine has not
	// finished with: NumPending + NumAckPending of events.ConsumerLifecycle.
	LifecyclePending int
	// ResultsPending is how many execution results the engine has not
	// finished with: NumPending + NumAckPending of events.ConsumerAggregator.
	ResultsPending int
}

// SetQueueStats installs the callback that hookshot_jobs_pending,
// hookshot_jobs_unacked, hookshot_lifecycle_pending and
// hookshot_results_pending are read from at every scrape, with a PullTimeout
// deadline. When it fails the four gauges are absent from that scrape and
// hookshot_scrape_errors_total{source="queue"} goes up by one. A nil fn
// removes the callback (the gauges are absent, no error is counted).
// Overlapping scrapes call fn concurrently.
func (m *Metrics) SetQueueStats(fn func(ctx context.Context) (QueueStats, error)) {
	if m == nil {
		return
	}
	m.pulled.queue.set(fn)
}

// SetActionStats installs the callback that hookshot_actions{state} is read
// from at every scrape: how many actions are in each state. Include every
// state, at 0 when no action is in it, so a state's series does not vanish.
// Errors and nil behave as for SetQueueStats, with source="actions".
func (m *Metrics) SetActionStats(fn func(ctx context.Context) (map[string]int, error)) {
	if m == nil {
		return
	}
	m.pulled.actions.set(fn)
}

// pulled is a callback read at scrape time, replaceable while scrapes run.
type pulled[T any] struct {
	mu     sync.Mutex
	fn     func(context.Context) (T, error)
	errors prometheus.Counter
}

func (p *pulled[T]) set(fn func(context.Context) (T, error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn = fn
}

// read calls the callback under PullTimeout; ok is false when there is
// none, or it failed or panicked (counted: a scrape must not crash the
// process).
func (p *pulled[T]) read() (v T, ok bool) {
	p.mu.Lock()
	fn := p.fn
	p.mu.Unlock()
	if fn == nil {
		return v, false
	}
	defer func() {
		if recover() != nil {
			p.errors.Inc()
			ok = false
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), PullTimeout)
	defer cancel()
	v, err := fn(ctx)
	if err != nil {
		p.errors.Inc()
		return v, false
	}
	return v, true
}

// pullCollector reports the pulled gauges and the scrape errors. It reads
// both sources concurrently and reports hookshot_scrape_errors_total only
// after both, so a failure shows in the scrape it happened in.
type pullCollector struct {
	queue   pulled[QueueStats]
	actions pulled[map[string]int]
	errors  *prometheus.CounterVec

	jobsPending, jobsUnacked, lifecyclePending, resultsPending, actionsByState *prometheus.Desc
}

var _ prometheus.Collector = (*pullCollector)(nil)

func newPullCollector(errors *prometheus.CounterVec) *pullCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	return &pullCollector{
		queue:            pulled[QueueStats]{errors: errors.WithLabelValues(SourceQueue)},
		actions:          pulled[map[string]int]{errors: errors.WithLabelValues(SourceActions)},
		errors:           errors,
		jobsPending:      desc("jobs_pending", "Jobs waiting for a worker (NumPending of the workers' consumer)."),
		jobsUnacked:      desc("jobs_unacked", "Jobs delivered to a worker and not acked yet: running, or held by a worker that died (NumAckPending)."),
		lifecyclePending: desc("lifecycle_pending", "Lifecycle events the engine has not finished with (NumPending + NumAckPending)."),
		resultsPending:   desc("results_pending", "Execution results the engine has not finished with (NumPending + NumAckPending)."),
		actionsByState:   desc("actions", "API-driven actions stored, by state (pending, running, completed, failed).", "state"),
	}
}

func (c *pullCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobsPending, c.jobsUnacked, c.lifecyclePending, c.resultsPending, c.actionsByState} {
		ch <- d
	}
	c.errors.Describe(ch)
}

func (c *pullCollector) Collect(ch chan<- prometheus.Metric) {
	var (
		wg                 sync.WaitGroup
		queue              QueueStats
		byState            map[string]int
		queueOK, byStateOK bool
	)
	wg.Go(func() { queue, queueOK = c.queue.read() })
	wg.Go(func() { byState, byStateOK = c.actions.read() })
	wg.Wait()

	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	if queueOK {
		gauge(c.jobsPending, queue.JobsPending)
		gauge(c.jobsUnacked, queue.JobsUnacked)
		gauge(c.lifecyclePending, queue.LifecyclePending)
		gauge(c.resultsPending, queue.ResultsPending)
	}
	if byStateOK {
		for state, n := range byState {
			gauge(c.actionsByState, n, state)
		}
	}
	c.errors.Collect(ch)
}
