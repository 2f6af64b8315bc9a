package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookshot-dev/hookshot/events"
)

// Namespace is the prefix of every Hookshot metric name.
const Namespace = "hookshot"

// Outcomes of one execution, the outcome label of hookshot_executions_total.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeTimedOut  = "timed_out"
)

// Kinds of redelivered message, the kind label of hookshot_redeliveries_total.
const (
	// RedeliveryJob: a worker got a job whose NumDelivered is over 1.
	RedeliveryJob = "job"
	// RedeliveryLifecycle: the engine got a lifecycle event delivered again.
	RedeliveryLifecycle = "lifecycle"
	// RedeliveryResult: the engine got an execution result delivered again.
	RedeliveryResult = "result"
)

// Sources of pulled values, the source label of hookshot_scrape_errors_total.
const (
	SourceQueue   = "queue"
	SourceActions = "actions"
)

// unknown replaces a label value that came from a message and is not part
// of the events vocabulary, so a malformed message cannot add series.
const unknown = "unknown"

// ExecutionBuckets are the upper bounds, in seconds, of
// hookshot_execution_duration_seconds: from a trivial script (10 ms) to
// Astra's default hook timeout (25 minutes).
var ExecutionBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1500}

// Metrics holds Hookshot's Prometheus metrics in a registry of its own.
// Every recording method is a no-op on a nil *Metrics, so components built
// without metrics need no checks.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	executions      *prometheus.CounterVec
	executionTime   *prometheus.HistogramVec
	stageResults    *prometheus.CounterVec
	stageAborts     *prometheus.CounterVec
	redeliveries    *prometheus.CounterVec
	inFlight        prometheus.Gauge
	actionsFinished *prometheus.CounterVec
	apiRequests     *prometheus.CounterVec
	apiRequestTime  *prometheus.HistogramVec
	scrapeErrors    *prometheus.CounterVec

	pulled *pullCollector
}

// New registers every Hookshot metric, the Go runtime collector and the
// process collector in a new registry. Series whose label values are known
// in advance (actions and stages, outcomes, redelivery kinds) start at 0,
// so rate() and increase() see their first increment.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.executions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "executions_total",
		Help: "Executions (one hook in one container) finished, by action, stage and outcome (succeeded, failed, timed_out).",
	}, []string{"action", "stage", "outcome"})
	m.executionTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "execution_duration_seconds",
		Help:    "How long a hook script ran, by action and stage.",
		Buckets: ExecutionBuckets,
	}, []string{"action", "stage"})
	m.stageResults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "stage_results_total",
		Help: "Stage results recorded, by action, stage and hook_state (success, failed).",
	}, []string{"action", "stage", "hook_state"})
	m.stageAborts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "stage_aborts_total",
		Help: "Stage results with abortAction set (a FAIL-mode pre hook failed), by action.",
	}, []string{"action"})
	m.redeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "redeliveries_total",
		Help: "Messages JetStream delivered more than once, by kind (job, lifecycle, result).",
	}, []string{"kind"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "executions_in_flight",
		Help: "Hooks running now on this process's workers.",
	})
	m.actionsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "actions_finished_total",
		Help: "API-driven actions that reached a terminal state, by kind and state (completed, failed).",
	}, []string{"kind", "state"})
	m.apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "api_requests_total",
		Help: "HTTP API requests, by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	m.apiRequestTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "api_request_duration_seconds",
		Help:    "HTTP API request latency, by route pattern and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method"})
	m.scrapeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "scrape_errors_total",
		Help: "Scrapes in which a pulled value could not be read, by source (queue, actions); those gauges are absent from that scrape.",
	}, []string{"source"})
	m.pulled = newPullCollector(m.scrapeErrors)

	m.reg.MustRegister(
		m.executions, m.executionTime, m.stageResults, m.stageAborts, m.redeliveries, m.inFlight,
		m.actionsFinished, m.apiRequests, m.apiRequestTime, m.pulled, // m.pulled reports m.scrapeErrors
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.initSeries()
	m.handler = promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:      m.reg,
		ErrorHandling: promhttp.ContinueOnError,
	}))
	return m
}

// actions and stages of the event contract, in the order of events.ValidActionStage.
var (
	allActions = []events.Action{events.ActionSnapshot, events.ActionBackup, events.ActionRestore, events.ActionFailover}
	allStages  = []events.Stage{events.StagePre, events.StagePost}
)

// initSeries creates, at 0, every series whose label values are known.
func (m *Metrics) initSeries() {
	for _, a := range allActions {
		for _, s := range allStages {
			if !events.ValidActionStage(a, s) {
				continue
			}
			for _, o := range []string{OutcomeSucceeded, OutcomeFailed, OutcomeTimedOut} {
				m.executions.WithLabelValues(string(a), string(s), o)
			}
			m.executionTime.WithLabelValues(string(a), string(s))
			for _, h := range []events.HookState{events.HookStateSuccess, events.HookStateFailed} {
				m.stageResults.WithLabelValues(string(a), string(s), string(h))
			}
			if s == events.StagePre {
				m.stageAborts.WithLabelValues(string(a))
			}
		}
		// The terminal states of internal/driver (StateCompleted, StateFailed);
		// driver imports this package, so they are spelled out here.
		for _, st := range []string{"completed", "failed"} {
			m.actionsFinished.WithLabelValues(string(a), st)
		}
	}
	for _, k := range []string{RedeliveryJob, RedeliveryLifecycle, RedeliveryResult} {
		m.redeliveries.WithLabelValues(k)
	}
}

// Registry is the registry every metric is in; nil on a nil *Metrics.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus exposition formats, for
// /metrics. It also counts its own scrapes (promhttp_metric_handler_*). On a
// nil *Metrics it answers 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

// Outcome is the outcome label of an execution result: timed_out when the
// hook timed out, succeeded when it exited 0, failed otherwise.
func Outcome(r *events.ExecutionResult) string {
	switch {
	case r.TimedOut:
		return OutcomeTimedOut
	case r.Succeeded():
		return OutcomeSucceeded
	}
	return OutcomeFailed
}

// actionStage returns action and stage, or "unknown" for both when they are
// not a pair of the event contract.
func actionStage(action events.Action, stage events.Stage) (string, string) {
	if !events.ValidActionStage(action, stage) {
		return unknown, unknown
	}
	return string(action), string(stage)
}

// ExecutionFinished counts one execution and observes how long its script
// ran. outcome is OutcomeSucceeded, OutcomeFailed or OutcomeTimedOut (see
// Outcome). Record it once per execution: where its result is first stored.
func (m *Metrics) ExecutionFinished(action events.Action, stage events.Stage, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	a, s := actionStage(action, stage)
	m.executions.WithLabelValues(a, s, outcome).Inc()
	m.executionTime.WithLabelValues(a, s).Observe(d.Seconds())
}

// StageFinished counts one stage result, and an abort when it carries
// abortAction. hookState is events.HookStateSuccess or HookStateFailed.
func (m *Metrics) StageFinished(action events.Action, stage events.Stage, hookState events.HookState, abort bool) {
	if m == nil {
		return
	}
	a, s := actionStage(action, stage)
	m.stageResults.WithLabelValues(a, s, string(hookState)).Inc()
	if abort {
		m.stageAborts.WithLabelValues(a).Inc()
	}
}

// Redelivered counts one message delivered again; kind is RedeliveryJob,
// RedeliveryLifecycle or RedeliveryResult.
func (m *Metrics) Redelivered(kind string) {
	if m == nil {
		return
	}
	m.redeliveries.WithLabelValues(kind).Inc()
}

// ExecutionStarted adds one to the hooks running on this process.
func (m *Metrics) ExecutionStarted() {
	if m == nil {
		return
	}
	m.inFlight.Inc()
}

// ExecutionDone takes one from the hooks running on this process; call it
// once for every ExecutionStarted, however the hook ended.
func (m *Metrics) ExecutionDone() {
	if m == nil {
		return
	}
	m.inFlight.Dec()
}

// ActionFinished counts one API-driven action that reached a terminal state
// (driver.StateCompleted or StateFailed); kind is its driver.Kind.
func (m *Metrics) ActionFinished(kind, state string) {
	if m == nil {
		return
	}
	switch events.Action(kind) {
	case events.ActionSnapshot, events.ActionBackup, events.ActionRestore, events.ActionFailover:
	default:
		kind = unknown
	}
	m.actionsFinished.WithLabelValues(kind, state).Inc()
}

// APIRequest counts one HTTP request and observes its latency. route is the
// pattern the request matched (http.Request.Pattern, set by the ServeMux),
// never the path: paths carry IDs. An empty route is recorded as
// "unmatched", a method outside RFC 9110 as "other", status 0 (nothing
// written) as 200.
func (m *Metrics) APIRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	method = normalizeMethod(method)
	if status == 0 {
		status = http.StatusOK
	}
	m.apiRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.apiRequestTime.WithLabelValues(route, method).Observe(d.Seconds())
}

// normalizeMethod bounds the method label: a client may send any token.
func normalizeMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}
