// Package metrics exposes Hookshot's Prometheus metrics: what hooks do
// (executions, stage results, aborts), whether the queues drain (jobs,
// lifecycle events and results pending), what API-driven actions do, and
// how the HTTP API answers.
//
// New builds a Metrics with its own registry (never the global one), with
// the Go runtime and process collectors; Handler serves it on /metrics.
// Components take a *Metrics and record on it; every recording method is a
// no-op on a nil *Metrics, so a component built without metrics needs no
// checks.
//
//	m := metrics.New()
//	m.SetQueueStats(metrics.JetStreamQueueStats(js))
//	m.SetActionStats(countActionsByState)
//	mux.Handle("GET /metrics", m.Handler())
//
// # Metrics
//
// Every name starts with hookshot_. Counters end in _total, durations are
// in seconds.
//
// Hooks, recorded where the event happens exactly once (the engine's
// create-if-absent writes), so summing over instances is right:
//
//   - hookshot_executions_total{action,stage,outcome} (counter): executions
//     — one hook in one container — finished; outcome is succeeded, failed
//     or timed_out.
//   - hookshot_execution_duration_seconds{action,stage} (histogram): how
//     long the hook script ran. Buckets 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
//     5, 10, 30, 60, 120, 300, 600, 900 and 1500 s (Astra's default hook
//     timeout is 25 minutes).
//   - hookshot_stage_results_total{action,stage,hook_state} (counter): stage
//     results recorded; hook_state is success or failed.
//   - hookshot_stage_aborts_total{action} (counter): stage results with
//     abortAction, a FAIL-mode pre hook that failed: the controller must not
//     take the snapshot or backup.
//   - hookshot_redeliveries_total{kind} (counter): messages JetStream
//     delivered again; kind is job (a worker died or stopped mid-hook, or
//     its ack was lost), lifecycle or result (the engine could not finish
//     processing in time and will retry).
//
// This process:
//
//   - hookshot_executions_in_flight (gauge): hooks running now on this
//     process's workers. Per process: sum over instances.
//
// Queues, read from JetStream at scrape time (consumer info). Every process
// that reads them reports the same cluster-wide value: aggregate them with
// max, never sum.
//
//   - hookshot_jobs_pending (gauge): jobs waiting for a worker.
//   - hookshot_jobs_unacked (gauge): jobs delivered to a worker and not acked
//     yet: hooks running, or held by a worker that died until their ack
//     wait passes.
//   - hookshot_lifecycle_pending (gauge): lifecycle events the engine has
//     not finished with.
//   - hookshot_results_pending (gauge): execution results the engine has not
//     finished with.
//
// API-driven actions (appSnaps, appBackups, restores, failovers):
//
//   - hookshot_actions{state} (gauge, read at scrape time, cluster-wide: use
//     max): actions stored, by state pending, running, completed, failed.
//   - hookshot_actions_finished_total{kind,state} (counter): actions that
//     reached completed or failed; kind is snapshot, backup, restore or
//     failover.
//
// HTTP API:
//
//   - hookshot_api_requests_total{route,method,code} (counter): requests;
//     route is the pattern the request matched, such as
//     /accounts/{account_id}/core/v1/executionHooks/{id}, never the path.
//   - hookshot_api_request_duration_seconds{route,method} (histogram):
//     latency, default Prometheus buckets (5 ms to 10 s).
//
// The exporter itself:
//
//   - hookshot_scrape_errors_total{source} (counter): scrapes in which the
//     queue (source="queue") or action (source="actions") values could not
//     be read within 2 s; those gauges are absent from that scrape, so a
//     stale or missing hookshot_jobs_pending is explained here.
//   - promhttp_metric_handler_requests_total{code}, go_*, process_*: the
//     standard client_golang metrics.
//
// Series whose labels are known in advance start at 0 (every action/stage
// pair of the event contract, outcomes, hook states, redelivery kinds,
// action kinds and terminal states), so rate and increase see the first
// failure. Labels that come from messages are checked: an action or stage
// outside the event contract is recorded as "unknown", a route that matched
// nothing as "unmatched", an HTTP method outside RFC 9110 as "other".
//
// # Is anything failing?
//
// Executions that did not succeed, by action and stage:
//
//	sum by (action, stage) (rate(hookshot_executions_total{outcome!="succeeded"}[5m])) > 0
//
// The share of executions that fail:
//
//	sum by (action, stage) (rate(hookshot_executions_total{outcome!="succeeded"}[1h]))
//	  / sum by (action, stage) (rate(hookshot_executions_total[1h]))
//
// Stages that failed, and snapshots or backups aborted by a FAIL-mode hook:
//
//	sum by (action, stage) (increase(hookshot_stage_results_total{hook_state="failed"}[1h])) > 0
//	sum by (action) (increase(hookshot_stage_aborts_total[1h])) > 0
//
// Actions that failed, and API errors:
//
//	sum by (kind) (increase(hookshot_actions_finished_total{state="failed"}[1h])) > 0
//	sum by (route, method) (rate(hookshot_api_requests_total{code=~"5.."}[5m])) > 0
//
// # Is anything slow?
//
// The 95th percentile of how long hooks run, by action and stage:
//
//	histogram_quantile(0.95,
//	  sum by (action, stage, le) (rate(hookshot_execution_duration_seconds_bucket[15m])))
//
// The mean, and the hooks that hit their timeout:
//
//	sum by (action, stage) (rate(hookshot_execution_duration_seconds_sum[15m]))
//	  / sum by (action, stage) (rate(hookshot_execution_duration_seconds_count[15m]))
//	sum by (action, stage) (increase(hookshot_executions_total{outcome="timed_out"}[1h])) > 0
//
// The 99th percentile of API latency by route:
//
//	histogram_quantile(0.99,
//	  sum by (route, le) (rate(hookshot_api_request_duration_seconds_bucket[5m])))
//
// # Is anything stuck?
//
// Jobs waiting that have not drained for 15 minutes, or a backlog growing:
//
//	min_over_time(max(hookshot_jobs_pending)[15m:]) > 0
//	deriv(max(hookshot_jobs_pending)[15m:]) > 0
//
// Jobs held by workers while no execution finishes (dead workers, or hooks
// hanging up to their timeout), and hooks running with no completions:
//
//	max(hookshot_jobs_unacked) > 0 and sum(increase(hookshot_executions_total[30m])) == 0
//	min_over_time(sum(hookshot_executions_in_flight)[30m:]) > 0
//	  and sum(increase(hookshot_executions_total[30m])) == 0
//
// The engine not keeping up with lifecycle events or results:
//
//	min_over_time(max(hookshot_lifecycle_pending)[10m:]) > 0
//	min_over_time(max(hookshot_results_pending)[10m:]) > 0
//
// Actions running for long with none finishing, and actions never started:
//
//	min_over_time(max(hookshot_actions{state="running"})[1h:]) > 0
//	  and sum(increase(hookshot_actions_finished_total[1h])) == 0
//	min_over_time(max(hookshot_actions{state="pending"})[15m:]) > 0
//
// Redeliveries (workers dying, or the engine retrying), and values that
// could not be read:
//
//	sum by (kind) (rate(hookshot_redeliveries_total[10m])) > 0
//	sum by (source) (increase(hookshot_scrape_errors_total[10m])) > 0
//
// # Recording
//
// Where each call belongs, so that every count is exact:
//
//   - ExecutionFinished(action, stage, Outcome(r), duration): when the engine
//     first stores an execution result (its create-if-absent succeeded), not
//     on a duplicate; the duration is the result's DurationMillis.
//   - StageFinished(action, stage, hookState, abortAction): when the engine
//     first stores a stage result.
//   - Redelivered(kind): when a consumer gets a message whose metadata says
//     NumDelivered > 1.
//   - ExecutionStarted / ExecutionDone: around a worker's handling of one job.
//   - ActionFinished(kind, state): when the driver writes an action's
//     terminal state.
//   - APIRequest(r.Pattern, r.Method, status, elapsed): in the API's
//     ServeHTTP after the mux returns; the ServeMux sets r.Pattern on the
//     request it was given.
//   - SetQueueStats(JetStreamQueueStats(js)) and SetActionStats(fn): once, at
//     start, in every process that serves /metrics.
package metrics
