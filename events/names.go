package events

// JetStream names. Every subject, stream, consumer and bucket Hookshot uses is
// declared here so that controllers, workers and the engine agree on them.
const (
	// SubjectPrefix is the first token of every Hookshot subject.
	SubjectPrefix = "hookshot"

	// StreamLifecycle holds lifecycle events: hookshot.lifecycle.<account>.<app>.<action>.<stage>.
	// Limits retention: the stream is the history that replay reads.
	StreamLifecycle   = "HOOKSHOT_LIFECYCLE"
	SubjectLifecycle  = "hookshot.lifecycle"
	SubjectsLifecycle = SubjectLifecycle + ".>"

	// StreamJobs is the work queue of jobs: hookshot.jobs.<account>.<cluster>.<app>.
	// Work-queue retention: a job is gone once a worker acks it. The
	// cluster is in the subject so that the workers of one cluster take only
	// its jobs (and a leaf node can import only its own cluster's).
	StreamJobs   = "HOOKSHOT_JOBS"
	SubjectJobs  = "hookshot.jobs"
	SubjectsJobs = SubjectJobs + ".>"

	// StreamResults holds execution results (hookshot.results.execution.<account>.<run>)
	// and stage results (hookshot.results.stage.<account>.<run>).
	StreamResults           = "HOOKSHOT_RESULTS"
	SubjectResults          = "hookshot.results"
	SubjectsResults         = SubjectResults + ".>"
	SubjectExecutionResults = SubjectResults + ".execution"
	SubjectStageResults     = SubjectResults + ".stage"

	// ConsumerLifecycle is the engine's durable consumer of lifecycle events.
	ConsumerLifecycle = "hookshot-engine-lifecycle"
	// ConsumerAggregator is the engine's durable consumer of execution results.
	ConsumerAggregator = "hookshot-engine-results"
	// ConsumerWorkers was the one durable consumer of every worker, before
	// jobs carried their cluster. Workers delete it at start-up: its filter
	// overlaps the per-cluster consumers, which a work queue refuses.
	ConsumerWorkers = "hookshot-workers"
	// ConsumerWorkersPrefix starts the name of the durable consumer of one
	// cluster's jobs: hookshot-workers-<cluster>. Every worker serving that
	// cluster pulls from it. See WorkerConsumer.
	ConsumerWorkersPrefix = "hookshot-workers-"

	// ClusterLocal is the built-in cluster of type static: apps whose
	// inventory is written by hand, and events that carry their own
	// containers. Its hooks run on the worker's host.
	ClusterLocal = "local"

	// BucketHooks stores execution hooks under <account>.<hookID>.
	BucketHooks = "hookshot_hooks"
	// BucketSources stores hook sources under <account>.<sourceID>.
	BucketSources = "hookshot_sources"
	// BucketApps stores registered apps and their container inventory under <account>.<appID>.
	BucketApps = "hookshot_apps"
	// BucketScripts stores every hook source content ever saved, by
	// checksum: <account>.<sourceMD5Checksum> → base64 source. Hook versions
	// pin a checksum, so what a version runs never changes.
	BucketScripts = "hookshot_scripts"
	// BucketOverrides stores execution hook overrides (a hook enabled or
	// disabled for one app) under <account>.<id>.
	BucketOverrides = "hookshot_overrides"
	// BucketActions stores API-driven actions (appSnaps, appBackups,
	// restores, failovers) and their progress under <account>.<id>.
	BucketActions = "hookshot_actions"
	// BucketNames reserves unique resource names: <kind>.<account>.<hash of name> → id.
	BucketNames = "hookshot_names"
	// BucketTokens stores API tokens by the SHA-256 of the token.
	BucketTokens = "hookshot_tokens"
	// BucketRuns stores run state: stage plans, execution results and stage
	// results, each written create-if-absent where exactly-once matters.
	BucketRuns = "hookshot_runs"
)

// CloudEvents types of the four message kinds.
const (
	TypeLifecycle       = "io.hookshot.lifecycle.v1"
	TypeJob             = "io.hookshot.job.v1"
	TypeExecutionResult = "io.hookshot.execution.result.v1"
	TypeStageResult     = "io.hookshot.stage.result.v1"
)

// LifecycleSubject is the subject a lifecycle event is published on.
func LifecycleSubject(account, app string, action Action, stage Stage) string {
	return SubjectLifecycle + "." + account + "." + app + "." + string(action) + "." + string(stage)
}

// JobSubject is the subject a job is published on.
func JobSubject(account, cluster, app string) string {
	return SubjectJobs + "." + account + "." + cluster + "." + app
}

// JobsOfCluster is the filter subject of every job of one cluster.
func JobsOfCluster(cluster string) string {
	return SubjectJobs + ".*." + cluster + ".>"
}

// WorkerConsumer is the durable consumer of one cluster's jobs.
func WorkerConsumer(cluster string) string {
	return ConsumerWorkersPrefix + cluster
}

// ExecutionResultSubject is the subject a worker publishes an execution result on.
func ExecutionResultSubject(account, runID string) string {
	return SubjectExecutionResults + "." + account + "." + runID
}

// StageResultSubject is the subject the engine publishes a stage result on.
// A controller waiting for a run filters on it.
func StageResultSubject(account, runID string) string {
	return SubjectStageResults + "." + account + "." + runID
}

// LifecycleMsgID is the de-duplication ID of a lifecycle event: publishing the
// same stage of the same run of the same account twice is dropped by
// JetStream. Two accounts may use the same run ID.
func LifecycleMsgID(account, runID string, action Action, stage Stage) string {
	return "lifecycle." + StageKey(account, runID, action, stage)
}

// StageKey names one stage of one run of one account, in KV keys and message
// IDs: <account>.<run>.<action>.<stage>. Run IDs are chosen by controllers,
// so only the account makes them unique. The account comes first so that
// the keys of one account are one filter (<kind>.<account>.>).
func StageKey(account, runID string, action Action, stage Stage) string {
	return account + "." + runID + "." + string(action) + "." + string(stage)
}
