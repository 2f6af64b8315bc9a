package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/errkind"
	"github.com/hookshot-dev/hookshot/internal/metrics"
	"github.com/hookshot-dev/hookshot/internal/pull"
	"github.com/hookshot-dev/hookshot/internal/runstate"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// Config configures a Worker.
type Config struct {
	// JS is the JetStream context; streams and buckets must be provisioned. Required.
	JS jetstream.JetStream
	// Runner runs hook scripts of the static cluster "local" (on this
	// host). Defaults to a LocalRunner.
	Runner executor.Runner
	// Clusters are the clusters whose jobs this worker takes: one durable
	// consumer each (hookshot-workers-<cluster>), shared with every other
	// worker serving that cluster. Defaults to ["local"].
	Clusters []string
	// RunnerFor returns the runner of a cluster's jobs, asked once per
	// cluster at Start. Defaults to Runner for "local" and an error for
	// any other cluster.
	RunnerFor func(cluster string) (executor.Runner, error)
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// Metrics records hooks in flight and redeliveries; nil records nothing.
	Metrics *metrics.Metrics
	// Name identifies the worker in results and logs. Defaults to host:pid.
	Name string
	// Concurrency is how many hooks run at once. Defaults to the number of CPUs.
	Concurrency int
	// AckWait is how long a job may go without a sign of life before it is
	// redelivered; a running hook extends it every AckWait/3. Defaults to 30s.
	// All workers share one consumer: the last one started sets it.
	AckWait time.Duration
	// MaxAttempts is how many times a job's hook is started (a worker died
	// or stopped before recording its outcome each time) before the job is
	// recorded as failed. Deliveries that did not start the hook (something
	// it needs was unavailable) or that record an outcome held from an
	// earlier run are not attempts. Defaults to 5.
	MaxAttempts int
	// KillGrace is the time between SIGTERM and SIGKILL for a hook that
	// times out. Defaults to 5s.
	KillGrace time.Duration
	// OutputLimit bounds the captured stdout and stderr of a hook, each.
	// Defaults to 64 KiB.
	OutputLimit int
}

func (c Config) withDefaults() Config {
	c.Logger = cmp.Or(c.Logger, zap.NewNop())
	if c.Name == "" {
		host, _ := os.Hostname()
		c.Name = host + ":" + strconv.Itoa(os.Getpid())
	}
	c.Concurrency = cmp.Or(c.Concurrency, runtime.NumCPU())
	c.AckWait = cmp.Or(c.AckWait, 30*time.Second)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 5)
	c.KillGrace = cmp.Or(c.KillGrace, 5*time.Second)
	c.OutputLimit = cmp.Or(c.OutputLimit, 64<<10)
	if len(c.Clusters) == 0 {
		c.Clusters = []string{events.ClusterLocal}
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.JS == nil:
		return errors.New("worker: Config.JS is required")
	case c.Concurrency < 1:
		return fmt.Errorf("worker: Concurrency %d is under 1", c.Concurrency)
	case c.AckWait < time.Second:
		return fmt.Errorf("worker: AckWait %s is under 1s", c.AckWait)
	case c.MaxAttempts < 1:
		return fmt.Errorf("worker: MaxAttempts %d is under 1", c.MaxAttempts)
	}
	seen := map[string]bool{}
	for _, name := range c.Clusters {
		if !events.ValidToken(name) {
			return fmt.Errorf("worker: cluster name %q must be 1–128 characters of A–Z a–z 0–9 _ -", name)
		}
		if seen[name] {
			return fmt.Errorf("worker: cluster %s named twice", name)
		}
		seen[name] = true
	}
	return nil
}

// Worker pulls jobs, runs each hook through its Runner and publishes the
// execution result. It pulls only as many jobs as it has free slots, keeps
// the ack deadline of a running job alive, and acks only after the result is
// stored in the results stream: a worker that dies mid-hook leaves the job
// to be redelivered.
type Worker struct {
	cfg   Config
	log   *zap.Logger
	js    jetstream.JetStream
	store *store.Store
	runs  runstate.KV

	health   *pull.Health
	slots    chan struct{} // one token per running (or reserved) hook
	inFlight atomic.Int64
	runners  map[string]executor.Runner // by cluster

	scriptsMu sync.Mutex
	scripts   map[string][]byte // decoded scripts by account/source/checksum

	heldMu sync.Mutex
	held   map[string]*events.ExecutionResult // outcomes whose result is not published yet, by exec key

	mu       sync.Mutex
	started  bool
	stopPull context.CancelFunc // stops taking jobs
	killRuns context.CancelFunc // cancels running hooks
	loop     sync.WaitGroup
	jobs     sync.WaitGroup
}

// New checks cfg and binds the worker to the provisioned buckets.
func New(ctx context.Context, cfg Config) (*Worker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Runner == nil {
		r, err := executor.NewLocalRunner(executor.LocalConfig{})
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		cfg.Runner = r
	}
	runners := map[string]executor.Runner{}
	for _, name := range cfg.Clusters {
		switch {
		case cfg.RunnerFor != nil:
			r, err := cfg.RunnerFor(name)
			if err != nil {
				return nil, fmt.Errorf("worker: %w", err)
			}
			runners[name] = r
		case name == events.ClusterLocal:
			runners[name] = cfg.Runner
		default:
			return nil, fmt.Errorf("worker: no runner for cluster %s (Config.RunnerFor is not set)", name)
		}
	}
	st, err := store.Open(ctx, cfg.JS)
	if err != nil {
		return nil, err
	}
	rs, err := runstate.Open(ctx, cfg.JS)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return &Worker{
		cfg: cfg, log: cfg.Logger.With(zap.String("worker", cfg.Name)), js: cfg.JS, store: st, runs: rs,
		slots: make(chan struct{}, cfg.Concurrency), health: pull.NewHealth(),
		scripts: map[string][]byte{}, held: map[string]*events.ExecutionResult{}, runners: runners,
	}, nil
}

// Ready returns nil while the worker pulls jobs, else why it does not.
func (w *Worker) Ready() error { return w.health.Check("jobs consumer") }

// InFlight is how many hooks are running now.
func (w *Worker) InFlight() int { return int(w.inFlight.Load()) }

// Start begins pulling jobs.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("worker: already started")
	}
	// The one consumer of every job, from before jobs carried their
	// cluster, overlaps the per-cluster ones: a work queue refuses both.
	if err := w.js.DeleteConsumer(ctx, events.StreamJobs, events.ConsumerWorkers); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("worker: remove the pre-cluster jobs consumer: %w", err)
	}
	consumers := make([]jetstream.Consumer, 0, len(w.cfg.Clusters))
	for _, name := range w.cfg.Clusters {
		cons, err := w.js.CreateOrUpdateConsumer(ctx, events.StreamJobs, jetstream.ConsumerConfig{
			Durable:       events.WorkerConsumer(name),
			Description:   "Hookshot workers of cluster " + name + ": jobs to execution results",
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       w.cfg.AckWait,
			MaxDeliver:    -1, // attempts are counted by the worker, which records the give-up as a result
			FilterSubject: events.JobsOfCluster(name),
		})
		if err != nil {
			return fmt.Errorf("worker: jobs consumer of cluster %s: %w", name, err)
		}
		consumers = append(consumers, cons)
	}
	pullCtx, stopPull := context.WithCancel(context.Background())
	runCtx, killRuns := context.WithCancel(context.Background())
	w.stopPull, w.killRuns, w.started = stopPull, killRuns, true
	for _, cons := range consumers {
		w.loop.Go(func() {
			pull.Loop(pullCtx, cons, w.log, w.health, w.reserve(len(consumers)), func(msg jetstream.Msg) {
				// The slot was reserved by reserve.
				w.inFlight.Add(1)
				w.cfg.Metrics.ExecutionStarted()
				w.jobs.Go(func() {
					defer w.cfg.Metrics.ExecutionDone()
					defer func() {
						w.inFlight.Add(-1)
						w.release(1)
					}()
					w.handle(runCtx, msg)
				})
			}, w.release)
		})
	}
	w.log.Info("worker started", zap.Int("concurrency", w.cfg.Concurrency))
	return nil
}

// reserve returns the want function of a pull loop: it waits until a slot
// is free and reserves up to a fair share of the free ones (all of them
// when the worker serves one cluster), so that loops of several clusters do
// not starve one another while their fetches wait.
func (w *Worker) reserve(loops int) func(ctx context.Context) int {
	return func(ctx context.Context) int {
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			return 0
		}
		n := 1
		share := max(1, (cap(w.slots)-len(w.slots)+1+loops-1)/loops)
		for n < share {
			select {
			case w.slots <- struct{}{}:
				n++
				continue
			default:
			}
			break
		}
		return n
	}
}

// release frees n slots.
func (w *Worker) release(n int) {
	for range n {
		<-w.slots
	}
}

// Stop stops taking jobs and lets running hooks finish until ctx ends; then
// it cancels them, and their jobs are handed back for redelivery (never
// recorded). A hook that finished but whose result could not be published
// yet has its outcome held (see finish), so that its redelivery records it.
// It returns when every goroutine has ended.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return nil
	}
	w.stopPull()
	w.loop.Wait()
	done := make(chan struct{})
	go func() { w.jobs.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		w.log.Warn("stop: soft timeout passed; canceling running hooks", zap.Int("in_flight", w.InFlight()))
		err = fmt.Errorf("worker: stop: %d hooks canceled and handed back: %w", w.InFlight(), ctx.Err())
	}
	w.killRuns()
	<-done
	w.started = false
	w.dropScriptFiles()
	return err
}

// dropScriptFiles removes the script files the worker's local runners keep
// (executor.LocalRunner caches one per script content); a runner shared with
// another worker writes them again on its next run.
func (w *Worker) dropScriptFiles() {
	closed := map[*executor.LocalRunner]bool{}
	for _, r := range append([]executor.Runner{w.cfg.Runner}, slices.Collect(maps.Values(w.runners))...) {
		if lr, ok := r.(*executor.LocalRunner); ok && !closed[lr] {
			closed[lr] = true
			if err := lr.Close(); err != nil {
				w.log.Warn("remove cached script files", zap.Error(err))
			}
		}
	}
}

// handle runs one job to a recorded result, or hands it back.
//
// Attempts count the times a worker started the hook (recorded in the
// started.… key of the run-state bucket right before it runs), not
// deliveries: a job handed back because something it needs was unavailable,
// or redelivered with an outcome to record, uses no attempt.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	job, err := events.DecodeJob(msg.Data())
	if err != nil {
		// Jobs are written by engines; a malformed one is a bug, not a hook outcome.
		w.log.Error("malformed job terminated", zap.String("subject", msg.Subject()), zap.Error(err))
		_ = msg.TermWithReason(truncate(err.Error(), 200))
		return
	}
	log := w.log.With(zap.String("run_id", job.RunID), zap.String("hook_id", job.HookID),
		zap.String("execution_id", job.ExecutionID), zap.String("app_id", job.AppID))
	delivered := 1
	if md, err := msg.Metadata(); err == nil {
		delivered = int(md.NumDelivered)
	}
	if delivered > 1 {
		w.cfg.Metrics.Redelivered(metrics.RedeliveryJob)
	}
	res := &events.ExecutionResult{
		ExecutionID: job.ExecutionID, RunID: job.RunID, AccountID: job.AccountID, AppID: job.AppID,
		Action: job.Action, Stage: job.Stage, HookID: job.HookID, HookName: job.HookName, HookVersion: job.HookVersion,
		FailureMode: job.FailureMode, Container: job.Container, Attempt: 1,
		SourceChecksum: job.SourceChecksum, ExitCode: -1, Status: events.StatusFailed, Worker: w.cfg.Name,
	}
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic while running a hook", zap.Any("panic", p), zap.Stack("stack"))
			res.Error = fmt.Sprintf("hookshot worker panicked: %v", p)
			w.finish(ctx, msg, res, log)
		}
	}()

	if done, err := w.runs.Has(ctx, runstate.JobExecKey(job)); err == nil && done {
		log.Info("job already has a result; dropping the redelivery", zap.Int("delivery", delivered))
		w.forgetOutcome(ctx, runstate.ResultExecKey(res), false)
		_ = msg.Ack()
		return
	}
	// A hook that ran but whose result could not be published is recorded,
	// not run again.
	held, err := w.heldOutcome(ctx, job, delivered)
	if err != nil {
		w.stateUnavailable(ctx, msg, res, delivered, "read the outcome a worker may hold", err, log)
		return
	}
	if held != nil {
		log.Info("recording the outcome of an earlier run; the hook is not run again", zap.Int("attempt", held.Attempt))
		if w.finish(ctx, msg, held, log) {
			w.forgetOutcome(ctx, runstate.ResultExecKey(held), delivered > 1)
		}
		return
	}
	attempt, handBacks, err := w.attempts(ctx, job, delivered)
	if err != nil {
		w.stateUnavailable(ctx, msg, res, delivered, "read the attempts of the job", err, log)
		return
	}
	res.Attempt = attempt
	if attempt > w.cfg.MaxAttempts {
		res.Error = fmt.Sprintf("gave up after %d attempts: each worker stopped before finishing it", attempt-1)
		w.finish(ctx, msg, res, log)
		return
	}
	if handBacks > maxHandBacks {
		res.Error = fmt.Sprintf("gave up after %d deliveries that could not run the hook (what it needs was unavailable, or workers stopped before it started)", handBacks)
		w.finish(ctx, msg, res, log)
		return
	}
	runner, ok := w.runners[job.ClusterName()]
	if !ok {
		// Only this worker's clusters' consumers deliver to it.
		res.Error = fmt.Sprintf("worker %s does not serve cluster %s", w.cfg.Name, job.ClusterName())
		w.finish(ctx, msg, res, log)
		return
	}
	script, err := w.loadScript(ctx, job)
	if err != nil {
		if ctx.Err() != nil {
			_ = msg.Nak() // stopping before the hook started: no attempt used
			return
		}
		if errkind.OrUnavailable(err).Definite() {
			res.Error = err.Error()
			w.finish(ctx, msg, res, log)
			return
		}
		w.handBack(ctx, msg, handBacks, "load the hook source", err, log)
		return
	}

	stopBeat := w.heartbeat(msg, log)
	defer stopBeat() // also when Run panics: the heartbeat must not outlive the job
	log.Info("hook started", zap.String("hook", job.HookName), zap.String("container", job.Container.Key()), zap.Int("attempt", attempt))
	w.markStarted(ctx, job, attempt, log)
	out, err := runner.Run(ctx, executor.Spec{
		Script: script, Args: job.Arguments, Env: hookEnv(job, attempt),
		Timeout: time.Duration(job.TimeoutSeconds) * time.Second, KillGrace: w.cfg.KillGrace, OutputLimit: w.cfg.OutputLimit,
		Target: executor.Target{Cluster: job.ClusterName(), Namespace: job.Container.NamespaceName,
			Pod: job.Container.PodName, Container: job.Container.ContainerName},
	})
	stopBeat()
	if err != nil {
		res.Error = "runner: " + err.Error()
		w.finish(ctx, msg, res, log)
		return
	}
	if out.Canceled {
		// The worker is stopping: the hook was cut short through no fault of
		// its own. Hand the job back; another worker runs it again.
		log.Warn("hook canceled by shutdown; job handed back for redelivery")
		_ = msg.Nak()
		return
	}
	fillOutcome(res, out)
	w.finish(ctx, msg, res, log)
}

// markStarted records that the hook is about to run (started.<stage>.<execID>),
// so a run's view can tell a running hook from a queued one. Best effort: a
// failure is logged and the hook runs anyway.
func (w *Worker) markStarted(ctx context.Context, job *events.Job, attempt int, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := json.Marshal(runstate.ExecutionStart{Attempt: attempt, Worker: w.cfg.Name, Started: time.Now().UTC()})
	if err == nil {
		_, err = w.runs.Bucket.Put(ctx, runstate.JobStartedKey(job), raw)
	}
	if err != nil {
		log.Warn("record execution start; the run view shows it queued until it finishes", zap.Error(err))
	}
}

// finish records res and then acks the job. A result that cannot be
// published is kept and published again, with backoff, while the job's ack
// deadline is kept alive: the hook is not run again because its result could
// not be stored. Only when ctx ends (the worker stops) does it give up: the
// outcome stays held (in the run-state bucket if it could be written there,
// and in this worker's memory) and the job is handed back, so that its
// redelivery records the held outcome instead of running the hook.
//
// It reports whether res was recorded.
func (w *Worker) finish(ctx context.Context, msg jetstream.Msg, res *events.ExecutionResult, log *zap.Logger) (recorded bool) {
	err := w.publishResult(res)
	if err != nil {
		err = w.retryRecord(ctx, msg, res, err, log)
	}
	if err != nil {
		log.Error("execution result not recorded before stopping; outcome held and job handed back", zap.Error(err))
		_ = msg.NakWithDelay(handBackDelay(0))
		return false
	}
	actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		log.Warn("ack job", zap.Error(err))
	}
	log.Info("hook finished", zap.String("status", string(res.Status)), zap.Int("exit_code", res.ExitCode), zap.Int64("duration_ms", res.DurationMillis))
	return true
}

// publishResult publishes res once; publishing it again is safe, since the
// result carries its de-duplication ID.
func (w *Worker) publishResult(res *events.ExecutionResult) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := events.Publish(ctx, w.js, events.ExecutionResultSubject(res.AccountID, res.RunID),
		events.TypeExecutionResult, "exec."+res.ExecutionID, res)
	return err
}

// retryRecord holds res and publishes it again until that works or ctx
// ends; it returns nil once res is recorded. err is the first failure.
func (w *Worker) retryRecord(ctx context.Context, msg jetstream.Msg, res *events.ExecutionResult, err error, log *zap.Logger) error {
	key := runstate.ResultExecKey(res)
	stored := w.holdOutcome(ctx, key, res, log)
	stopBeat := w.heartbeat(msg, log)
	defer stopBeat()
	backoff := 100 * time.Millisecond
	for tries := 1; ; tries++ {
		kind := errkind.OrUnavailable(err)
		if kind == errkind.Invalid && (res.Stdout.Text != "" || res.Stderr.Text != "") {
			// The stream refuses the message itself (too large): keep the
			// outcome, drop the output.
			res.Stdout.Text, res.Stderr.Text = "", ""
			res.Stdout.Truncated, res.Stderr.Truncated = res.Stdout.TotalBytes > 0, res.Stderr.TotalBytes > 0
			res.Error = strings.TrimPrefix(res.Error+"; output dropped: the result could not be recorded with it", "; ")
			log.Warn("execution result refused; publishing it without its output", zap.Error(err))
		} else {
			log.Warn("publish execution result; holding the outcome and trying again",
				zap.Int("tries", tries), zap.Stringer("kind", kind), zap.Duration("backoff", backoff), zap.Error(err))
			select {
			case <-ctx.Done():
				if !stored {
					w.holdOutcome(ctx, key, res, log) // a last chance to leave it to other workers
				}
				return fmt.Errorf("publish execution result (%d tries): %w", tries, err)
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		if err = w.publishResult(res); err == nil {
			w.forgetOutcome(ctx, key, stored)
			return nil
		}
	}
}

// holdOutcome keeps res in memory and, best effort, in the run-state bucket,
// where any worker that gets the job again finds it. It reports whether the
// bucket has it.
func (w *Worker) holdOutcome(ctx context.Context, key string, res *events.ExecutionResult, log *zap.Logger) (stored bool) {
	w.heldMu.Lock()
	if len(w.held) >= maxHeldOutcomes {
		clear(w.held)
	}
	w.held[key] = res
	w.heldMu.Unlock()
	raw, err := json.Marshal(res)
	if err == nil {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, err = w.runs.Bucket.Put(pctx, runstate.HeldKey(key), raw)
		cancel()
	}
	if err != nil {
		log.Warn("store the held outcome in the run-state bucket; only this worker holds it", zap.Error(err))
	}
	return err == nil
}

// forgetOutcome drops the held outcome of key from memory and, when stored
// is set or memory had it, from the run-state bucket.
func (w *Worker) forgetOutcome(ctx context.Context, key string, stored bool) {
	w.heldMu.Lock()
	_, inMemory := w.held[key]
	delete(w.held, key)
	w.heldMu.Unlock()
	if stored || inMemory {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.runs.Bucket.Purge(dctx, runstate.HeldKey(key)); err != nil && errkind.OrUnavailable(err) != errkind.NotFound {
			w.log.Debug("drop held outcome", zap.String("key", key), zap.Error(err))
		}
	}
}

// heldOutcome returns the outcome of the job's execution held by a worker
// that ran the hook but could not publish its result, if any: from memory,
// or on a redelivery from the run-state bucket.
func (w *Worker) heldOutcome(ctx context.Context, job *events.Job, delivered int) (*events.ExecutionResult, error) {
	key := runstate.JobExecKey(job)
	w.heldMu.Lock()
	res, ok := w.held[key]
	w.heldMu.Unlock()
	if ok || delivered == 1 {
		return res, nil
	}
	var stored events.ExecutionResult
	if found, err := w.getState(ctx, runstate.HeldKey(key), &stored); err != nil || !found {
		return nil, err
	}
	return &stored, nil
}

// getState reads the run-state value at key into v. A value that does not
// decode is taken as absent (found false, no error): only the worker writes
// the keys it reads with it, and retrying would not mend one.
func (w *Worker) getState(ctx context.Context, key string, v any) (found bool, err error) {
	e, err := w.runs.Bucket.Get(ctx, key)
	switch {
	case err != nil && errkind.OrUnavailable(err) == errkind.NotFound:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		w.log.Warn("run-state value does not decode; taken as absent", zap.String("key", key), zap.Error(err))
		return false, nil
	}
	return true, nil
}

// attempts returns the attempt a delivery of job is (one more than the
// attempts started before) and how many earlier deliveries did not start
// the hook (handed back, or their worker died before starting it).
//
// Attempts are counted from the started record each attempt writes before
// running the hook, not from JetStream's delivery count: a write that is
// lost under-counts (one more attempt than MaxAttempts), where counting
// hand-backs would need a write exactly when the store fails, and a lost
// one would fail a hook that never ran.
func (w *Worker) attempts(ctx context.Context, job *events.Job, delivered int) (attempt, handBacks int, err error) {
	if delivered == 1 {
		return 1, 0, nil
	}
	var last runstate.ExecutionStart
	if _, err := w.getState(ctx, runstate.JobStartedKey(job), &last); err != nil {
		return 0, 0, err
	}
	return last.Attempt + 1, max(0, delivered-1-last.Attempt), nil
}

// handBack gives the job back to JetStream to be delivered again after a
// delay that grows with the hand-backs so far. It uses no attempt.
func (w *Worker) handBack(ctx context.Context, msg jetstream.Msg, handBacks int, what string, err error, log *zap.Logger) {
	if ctx.Err() != nil {
		_ = msg.Nak()
		return
	}
	delay := handBackDelay(handBacks)
	log.Warn("could not "+what+"; job handed back without using an attempt",
		zap.Stringer("kind", errkind.OrUnavailable(err)), zap.Duration("delay", delay), zap.Error(err))
	if nerr := msg.NakWithDelay(delay); nerr != nil {
		log.Warn("hand back job; it is redelivered when its ack deadline passes", zap.Error(nerr))
	}
}

// stateUnavailable hands back a redelivered job whose state in the run-state
// bucket cannot be read, until it has been delivered more often than any
// job needs; then it records the job as failed, so that its stage does not
// wait forever.
func (w *Worker) stateUnavailable(ctx context.Context, msg jetstream.Msg, res *events.ExecutionResult, delivered int, what string, err error, log *zap.Logger) {
	if delivered <= w.cfg.MaxAttempts+maxHandBacks || ctx.Err() != nil {
		w.handBack(ctx, msg, delivered-1, what, err, log)
		return
	}
	res.Error = fmt.Sprintf("gave up after %d deliveries: could not %s: %v", delivered, what, err)
	w.finish(ctx, msg, res, log)
}

// handBackDelay is the delay of a job's n+1-th hand-back: 1s, doubling, at most 30s.
func handBackDelay(n int) time.Duration { return min(time.Second<<min(n, 5), 30*time.Second) }

const (
	// maxHandBacks bounds the deliveries of a job that do not start its hook
	// (about 8 minutes of an unavailable store at handBackDelay): past it,
	// the job is recorded as failed rather than leaving its stage waiting.
	maxHandBacks = 20
	// maxHeldOutcomes bounds the outcomes a worker keeps in memory while
	// their results cannot be published; past it the map starts over.
	maxHeldOutcomes = 1024
)

// heartbeat tells JetStream the job is alive every AckWait/3 until stopped.
// stop may be called more than once.
func (w *Worker) heartbeat(msg jetstream.Msg, log *zap.Logger) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(w.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					log.Warn("extend ack deadline", zap.Error(err))
				}
			}
		}
	})
	return sync.OnceFunc(func() { close(done); wg.Wait() })
}

// loadScript reads the job's source and checks it is the one the stage was
// planned with.
func (w *Worker) loadScript(ctx context.Context, job *events.Job) ([]byte, error) {
	// A source's content is fixed by its checksum, so a decoded script can be
	// reused for as long as jobs ask for that checksum.
	cacheKey := job.AccountID + "/" + job.SourceID + "/" + job.SourceChecksum
	w.scriptsMu.Lock()
	script, ok := w.scripts[cacheKey]
	w.scriptsMu.Unlock()
	if ok {
		return script, nil
	}
	// Every content a source ever had is kept by checksum; the job names
	// the one its hook version pins.
	//
	// Errors are classified by kindOf: only a definite answer (no such
	// content, the source deleted, content that does not decode) fails the
	// hook; the store being unavailable hands the job back.
	src, err := w.store.Script(ctx, job.AccountID, job.SourceChecksum)
	if k := errkind.OrUnavailable(err); err != nil && (k == errkind.NotFound || k == errkind.Invalid) {
		cur, cerr := w.store.Sources.Get(ctx, job.AccountID, job.SourceID)
		switch {
		case cerr != nil && errkind.OrUnavailable(cerr) == errkind.NotFound:
			return nil, fmt.Errorf("hook source %s was deleted and no content with checksum %q is kept: %w", job.SourceID, job.SourceChecksum, cerr)
		case cerr != nil:
			return nil, fmt.Errorf("load hook source %s: %w", job.SourceID, cerr)
		}
		if got := cur.Value.Source.SourceMD5Checksum; got != job.SourceChecksum {
			return nil, permanent(fmt.Errorf("hook source %s has no content with checksum %q (now %s)", job.SourceID, job.SourceChecksum, got))
		}
		src, err = &cur.Value.Source, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load hook source %s: %w", job.SourceID, err)
	}
	script, err = src.Script()
	if err != nil {
		return nil, permanent(fmt.Errorf("hook source %s does not decode: %w", job.SourceID, err))
	}
	w.scriptsMu.Lock()
	if len(w.scripts) >= maxCachedScripts {
		clear(w.scripts)
	}
	w.scripts[cacheKey] = script
	w.scriptsMu.Unlock()
	return script, nil
}

// maxCachedScripts bounds the worker's script cache; past it the cache starts over.
const maxCachedScripts = 256

// hookEnv is the HOOKSHOT_* environment of a run.
func hookEnv(job *events.Job, attempt int) map[string]string {
	return map[string]string{
		"HOOKSHOT_RUN_ID":          job.RunID,
		"HOOKSHOT_EXECUTION_ID":    job.ExecutionID,
		"HOOKSHOT_ATTEMPT":         strconv.Itoa(attempt),
		"HOOKSHOT_ACTION":          string(job.Action),
		"HOOKSHOT_STAGE":           string(job.Stage),
		"HOOKSHOT_ACCOUNT_ID":      job.AccountID,
		"HOOKSHOT_APP_ID":          job.AppID,
		"HOOKSHOT_CLUSTER":         job.ClusterName(),
		"HOOKSHOT_HOOK_ID":         job.HookID,
		"HOOKSHOT_HOOK_NAME":       job.HookName,
		"HOOKSHOT_NAMESPACE":       job.Container.NamespaceName,
		"HOOKSHOT_POD_NAME":        job.Container.PodName,
		"HOOKSHOT_CONTAINER_NAME":  job.Container.ContainerName,
		"HOOKSHOT_CONTAINER_IMAGE": job.Container.ContainerImage,
	}
}

func fillOutcome(res *events.ExecutionResult, out executor.Outcome) {
	res.ExitCode, res.Signal, res.TimedOut = out.ExitCode, out.Signal, out.TimedOut
	res.Stdout = events.Output(out.Stdout)
	res.Stderr = events.Output(out.Stderr)
	res.Started, res.Finished = out.Started.UTC(), out.Finished.UTC()
	res.DurationMillis = out.Duration.Milliseconds()
	if out.Succeeded() {
		res.Status = events.StatusSucceeded
	} else if out.StartError != "" {
		res.Error = "could not start: " + out.StartError
	} else if out.Aborted != "" {
		res.Error = out.Reason() // the container stopped or vanished mid-run
	} else if out.TimedOut {
		res.Error = "timed out: " + out.Reason()
	}
}

// permanent marks err as definite: retrying will not change it (a source
// whose content no longer matches the job's checksum).
func permanent(err error) error { return errkind.Mark(err, errkind.Permanent) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
