package fault_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/fault"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"
)

// traceScript is every hook: it appends "<execution> <run> <stage>
// <attempt>" to the trace file shared by all workers (so an execution that
// really ran twice shows as two lines), then sleeps $1 seconds.
const traceScript = `#!/bin/sh
echo "$HOOKSHOT_EXECUTION_ID $HOOKSHOT_RUN_ID $HOOKSHOT_STAGE $HOOKSHOT_ATTEMPT" >> /trace/exec.log
sleep "$1"
`

// load drives runs through the cluster as a backup controller would:
// lifecycle events published (retried until acknowledged; the de-dup ID
// makes a retry harmless) and stage results read from the results stream.
type load struct {
	e          *env
	st         *store.Store
	app        string
	containers int // per event: executions per stage

	mu       sync.Mutex
	expected map[string]bool      // stage keys published
	answered map[string]time.Time // stage key → first stage result seen
	runs     int
	first    time.Time
	stopped  atomic.Bool

	followerRestarts atomic.Int64 // consumers follow replaced after errors or quiet
}

// newLoad registers the app's hooks (a snapshot pre and post hook running
// traceScript with sleep seconds) through the store, follows the stage
// results, and waits until a probe run is answered: the server has indexed
// the hooks and workers take jobs.
func newLoad(e *env, containers int, sleep string) *load {
	e.t.Helper()
	l := &load{e: e, app: uuid.NewString(), containers: containers,
		expected: map[string]bool{}, answered: map[string]time.Time{}}
	ctx, cancel := context.WithTimeout(e.t.Context(), time.Minute)
	defer cancel()
	var st *store.Store
	e.waitFor("store open", time.Minute, func() (err error) {
		st, err = store.Open(ctx, e.js)
		return err
	})
	l.st = st
	// The app is registered too (a static app), for runs driven through
	// the API; lifecycle events carry the same inventory.
	if _, err := st.SaveApp(ctx, account, store.App{ID: l.app, Name: "fault-app", Containers: l.inventory()}, "fault-suite"); err != nil {
		e.t.Fatalf("save app: %v", err)
	}
	src, err := st.SaveSource(ctx, account, *executor.NewScriptSource("trace", []byte(traceScript)), "fault-suite")
	if err != nil {
		e.t.Fatalf("save source: %v", err)
	}
	for _, stage := range []events.Stage{events.StagePre, events.StagePost} {
		// Not retried: on a 3-node cluster the source just written must be
		// readable at once (provisioning turns direct gets off, which any
		// replica would answer; see docs/reliability.md).
		if _, err := st.SaveHook(ctx, account, matcher.ExecutionHook{Type: matcher.MediaType, Version: matcher.CurrentVersion,
			HookType: matcher.HookTypeCustom, Name: "trace-" + string(stage), AppID: l.app, Action: "snapshot", Stage: stage,
			HookSourceID: src.Source.ID, Arguments: []string{sleep}}, "fault-suite"); err != nil {
			e.t.Fatalf("save hook right after its source: %v", err)
		}
	}
	l.follow()
	probe := "probe-" + uuid.NewString()[:8]
	l.publish(probe, "pre")
	l.waitAnswered(2*time.Minute, "probe run")
	return l
}

// follow records the arrival of every stage result of the account.
func (l *load) follow() {
	e := l.e
	ctx, cancel := context.WithCancel(context.Background())
	filter := events.SubjectStageResults + "." + account + ".*"
	// An ordered consumer does not always recover from its stream's leader
	// being killed: it may return errors, or, when the node holding it was
	// killed, time out quietly for ever (its pull requests reach no one).
	// After 5 s of errors, or of quiet while stages are pending, a new one
	// resumes after the last message seen.
	consumer := func(last uint64) (jetstream.Consumer, error) {
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverAllPolicy}
		if last > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, last+1
		}
		return e.js.OrderedConsumer(ctx, events.StreamResults, cfg)
	}
	cons, err := consumer(0)
	if err != nil {
		e.t.Fatalf("follow stage results: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var last uint64
		failing := time.Time{} // since when Next has returned nothing
		for ctx.Err() == nil {
			msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
			if err != nil {
				quiet := errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, nats.ErrTimeout)
				if failing.IsZero() {
					failing = time.Now()
				}
				if time.Since(failing) > 5*time.Second && (!quiet || l.pending() > 0) {
					if c, err := consumer(last); err == nil {
						cons, failing = c, time.Time{}
						l.followerRestarts.Add(1)
					}
				}
				if !quiet {
					time.Sleep(100 * time.Millisecond)
				}
				continue
			}
			failing = time.Time{}
			if md, err := msg.Metadata(); err == nil {
				last = md.Sequence.Stream
			}
			sr, err := events.DecodeStageResult(msg.Data())
			if err != nil {
				continue
			}
			key := events.StageKey(sr.AccountID, sr.RunID, sr.Action, sr.Stage)
			l.mu.Lock()
			if _, ok := l.answered[key]; !ok {
				l.answered[key] = time.Now()
			}
			l.mu.Unlock()
		}
	}()
	e.t.Cleanup(func() { cancel(); <-done })
}

// publish publishes one lifecycle event, retrying until JetStream
// acknowledges it.
func (l *load) publish(run string, stage events.Stage) {
	ev := &events.LifecycleEvent{RunID: run, AccountID: account, AppID: l.app, Action: "snapshot", Stage: stage,
		Containers: l.inventory()}
	l.expect(run, stage)
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(l.e.t.Context(), 5*time.Second)
		_, err := events.PublishLifecycle(ctx, l.e.js, ev)
		cancel()
		if err == nil || l.e.t.Context().Err() != nil {
			return
		}
		if attempt%20 == 19 {
			l.e.t.Logf("publish %s/%s: still failing after %d attempts: %v", run, stage, attempt+1, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// inventory is the app's containers.
func (l *load) inventory() []events.Container {
	var cs []events.Container
	for c := range l.containers {
		cs = append(cs, events.Container{NamespaceName: "fault", PodName: fmt.Sprintf("pod-%d", c),
			ContainerName: "app", ContainerImage: "fault:1"})
	}
	return cs
}

// expect records that a stage of run must be answered.
func (l *load) expect(run string, stages ...events.Stage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.first.IsZero() {
		l.first = time.Now()
	}
	for _, stage := range stages {
		key := events.StageKey(account, run, "snapshot", stage)
		if !l.expected[key] && stage == "pre" {
			l.runs++
		}
		l.expected[key] = true
	}
}

// answeredAt is when the stage result of a stage of run arrived (zero: not
// yet).
func (l *load) answeredAt(run string, stage events.Stage) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered[events.StageKey(account, run, "snapshot", stage)]
}

// burst publishes n runs (their pre stage) from 8 publishers, at most rate
// events per second (0: as fast as they go), and returns when all are
// published.
func (l *load) burst(prefix string, n int, rate float64) {
	var wg sync.WaitGroup
	next := make(chan string)
	for range 8 {
		wg.Go(func() {
			for run := range next {
				l.publish(run, "pre")
			}
		})
	}
	start := time.Now()
	for i := range n {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		next <- fmt.Sprintf("%s-%05d", prefix, i)
	}
	close(next)
	wg.Wait()
}

// burstAsync runs burst in the background; the returned function waits for
// it.
func (l *load) burstAsync(prefix string, n int, rate float64) (wait func()) {
	done := make(chan struct{})
	go func() { defer close(done); l.burst(prefix, n, rate) }()
	return func() { <-done }
}

// pending is how many published stages have no result yet.
func (l *load) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k := range l.expected {
		if _, ok := l.answered[k]; !ok {
			n++
		}
	}
	return n
}

// answeredCount is how many stage results have arrived.
func (l *load) answeredCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.answered)
}

// waitAnswered waits until every published stage is answered, or within
// passes; it does not fail: the figures say what was lost.
func (l *load) waitAnswered(within time.Duration, what string) bool {
	deadline := time.Now().Add(within)
	for {
		if l.pending() == 0 {
			return true
		}
		if time.Now().After(deadline) || l.e.t.Context().Err() != nil {
			l.e.t.Errorf("%s: %d stages not answered within %s (the results stream holds %d stage results, the test saw %d; %s)",
				what, l.pending(), within, l.streamStageResults(), l.answeredCount(), l.pendingInStream())
			l.e.dumpLogs()
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pendingInStream says how many of the stages the follower has not seen
// the results stream does hold: a stalled engine answers none of them, a
// stalled follower missed them.
func (l *load) pendingInStream() string {
	l.mu.Lock()
	pending := map[string]bool{}
	for k := range l.expected {
		if _, ok := l.answered[k]; !ok {
			pending[k] = true
		}
	}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(l.e.t.Context(), time.Minute)
	defer cancel()
	found := map[string]bool{}
	err := l.e.scanResults(ctx, func(msg jetstream.Msg) {
		if sr, err := events.DecodeStageResult(msg.Data()); err == nil {
			if k := events.StageKey(sr.AccountID, sr.RunID, sr.Action, sr.Stage); pending[k] {
				found[k] = true
			}
		}
	})
	var missing []string
	for k := range pending {
		if !found[k] {
			missing = append(missing, k)
		}
	}
	return fmt.Sprintf("of them the stream holds %d (scan error %v), the follower was replaced %d times; not in the stream: %v",
		len(found), err, l.followerRestarts.Load(), missing[:min(5, len(missing))])
}

// lastAnswer is when the last stage result arrived.
func (l *load) lastAnswer() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last time.Time
	for _, at := range l.answered {
		if at.After(last) {
			last = at
		}
	}
	return last
}

// tally reads the whole results stream of the account and the trace file
// and fills the figures: lost stages, duplicated results and executions.
// It fails the test for any invariant broken: lost = 0, duplicated results
// = 0, every stage answered with every execution and hookState success
// (every hook exits 0).
func (l *load) tally(f *fault.Figures, lastFault time.Time) {
	f.Profile = profileName()
	e := l.e
	t := e.t
	stageResults := map[string]int{}
	execResults := map[string]int{}
	replays := map[string]int{} // stage key → replayed results
	replayFirst := 0            // stages whose first answer was a replay
	var bad []string
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	err := e.scanResults(ctx, func(msg jetstream.Msg) {
		if strings.HasPrefix(msg.Subject(), events.SubjectStageResults+".") {
			sr, err := events.DecodeStageResult(msg.Data())
			if err != nil {
				bad = append(bad, "undecodable stage result: "+err.Error())
				return
			}
			key := events.StageKey(sr.AccountID, sr.RunID, sr.Action, sr.Stage)
			answers := stageResults[key] + replays[key]
			if sr.Replayed {
				// A replay answers too (a controller takes it); only
				// results that are not replays count as duplicates.
				f.Replays++
				replays[key]++
				if answers == 0 {
					replayFirst++
				}
			} else {
				stageResults[key]++
			}
			if answers > 0 {
				return
			}
			if len(sr.Executions) != l.containers {
				bad = append(bad, fmt.Sprintf("%s: %d executions, want %d", key, len(sr.Executions), l.containers))
			}
			if sr.HookState != events.HookStateSuccess {
				f.FailedStages++
				bad = append(bad, fmt.Sprintf("%s: hookState %s %+v", key, sr.HookState, sr.HookStateDetails))
			}
		} else {
			r, err := events.DecodeExecutionResult(msg.Data())
			if err != nil {
				bad = append(bad, "undecodable execution result: "+err.Error())
				return
			}
			execResults[r.ExecutionID]++
		}
	})
	if err != nil {
		t.Fatalf("scan results: %v", err)
	}
	for _, n := range stageResults {
		f.DuplicatedResults += n - 1
	}
	for _, n := range execResults {
		f.DuplicatedResults += n - 1
	}

	l.mu.Lock()
	f.Runs = l.runs
	f.Stages = len(l.expected)
	for k := range l.expected {
		if stageResults[k]+replays[k] > 0 {
			f.StagesAnswered++
		}
	}
	if replayFirst > 0 {
		if f.Extra == nil {
			f.Extra = map[string]string{}
		}
		f.Extra["stages first answered by a replay"] = fmt.Sprint(replayFirst)
	}
	first := l.first
	l.mu.Unlock()
	f.Lost = f.Stages - f.StagesAnswered
	last := l.lastAnswer()
	f.DurationSeconds = last.Sub(first).Seconds()
	if !lastFault.IsZero() {
		f.RecoverySeconds = max(0, last.Sub(lastFault).Seconds())
	}

	// What a controller sees: events.WaitStageResult for a sample of the
	// stages (counted, not asserted: see docs/reliability.md).
	if errs := l.waitStageResultErrors(10); errs != "" {
		if f.Extra == nil {
			f.Extra = map[string]string{}
		}
		f.Extra["events.WaitStageResult errors"] = errs
	}

	lines, distinct := traceCounts(t, filepath.Join(e.traceDir, "exec.log"))
	f.Executions, f.DuplicatedExecutions = lines, lines-distinct
	f.Stamp()

	t.Logf("figures: %+v", *f)
	if err := fault.Record(*f); err != nil {
		t.Errorf("record figures: %v", err)
	}
	if f.Lost != 0 {
		t.Errorf("lost %d of %d stages", f.Lost, f.Stages)
	}
	if f.DuplicatedResults != 0 {
		t.Errorf("%d duplicated results", f.DuplicatedResults)
	}
	if len(bad) > 0 {
		t.Errorf("%d bad stage results, e.g. %s", len(bad), strings.Join(bad[:min(5, len(bad))], "; "))
	}
}

// traceCounts counts the lines of the trace file and the distinct
// executions among them.
func traceCounts(t *testing.T, path string) (lines, distinct int) {
	fh, err := os.Open(path)
	if err != nil {
		t.Errorf("trace: %v", err)
		return 0, 0
	}
	defer fh.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		lines++
		seen[fs[0]] = true
	}
	return lines, len(seen)
}

// profile is the size of a scenario in the short (CI) and long profiles.
func long() bool { return os.Getenv(fault.EnvProfile) == "long" }

func profileName() string {
	if long() {
		return "long"
	}
	return "short"
}

func pick(short, long_ int) int {
	if long() {
		return long_
	}
	return short
}

// traceByRun counts the trace lines of a stage by run.
func traceByRun(t *testing.T, e *env, stage string) map[string]int {
	raw, err := os.ReadFile(filepath.Join(e.traceDir, "exec.log"))
	if err != nil {
		t.Fatalf("trace: %v", err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(raw), "\n") {
		if fs := strings.Fields(line); len(fs) >= 3 && fs[2] == stage {
			out[fs[1]]++
		}
	}
	return out
}

// scanResults calls fn for every execution and stage result of the account,
// in stream order, each once. It survives a consumer lost on the way by
// starting a new one after the last message seen.
func (e *env) scanResults(ctx context.Context, fn func(jetstream.Msg)) error {
	filter := events.SubjectResults + ".*." + account + ".*"
	var last uint64
	for ctx.Err() == nil {
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverAllPolicy}
		if last > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, last+1
		}
		cons, err := e.js.OrderedConsumer(ctx, events.StreamResults, cfg)
		if err != nil {
			e.t.Logf("scan results: %v", err)
			time.Sleep(time.Second)
			continue
		}
		for ctx.Err() == nil {
			// Batches: one pull request per message is far too slow for
			// the thousands of results of a long burst.
			batch, err := cons.Fetch(500, jetstream.FetchMaxWait(3*time.Second))
			if err != nil {
				e.t.Logf("scan results after stream sequence %d: %v", last, err)
				break
			}
			n := 0
			for msg := range batch.Messages() {
				n++
				md, err := msg.Metadata()
				if err != nil {
					return err
				}
				if md.Sequence.Stream <= last {
					continue
				}
				last = md.Sequence.Stream
				fn(msg)
				if md.NumPending == 0 {
					return nil
				}
			}
			if n == 0 {
				if last == 0 && e.countResults(ctx, filter) == 0 {
					return nil
				}
				if err := batch.Error(); err != nil {
					e.t.Logf("scan results after stream sequence %d: %v", last, err)
				}
				break
			}
		}
	}
	return ctx.Err()
}

// countResults is how many messages of the results stream match filter
// (-1 when it cannot tell).
func (e *env) countResults(ctx context.Context, filter string) int {
	s, err := e.js.Stream(ctx, events.StreamResults)
	if err != nil {
		return -1
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return -1
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

// waitStageResultErrors calls events.WaitStageResult, as a controller
// would, for up to n answered stages and describes the errors it returned.
func (l *load) waitStageResultErrors(n int) string {
	l.mu.Lock()
	var keys []string
	for k := range l.answered {
		if len(keys) == n {
			break
		}
		keys = append(keys, k)
	}
	l.mu.Unlock()
	failed, first := 0, ""
	for _, k := range keys {
		// account.run.action.stage
		parts := strings.Split(k, ".")
		if len(parts) != 4 {
			continue
		}
		ctx, cancel := context.WithTimeout(l.e.t.Context(), 30*time.Second)
		_, err := events.WaitStageResult(ctx, l.e.js, parts[0], parts[1], events.Action(parts[2]), events.Stage(parts[3]))
		cancel()
		if err != nil {
			failed++
			if first == "" {
				first = err.Error()
			}
		}
	}
	if failed == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d (%s)", failed, len(keys), first)
}

// streamStageResults is how many stage results of the account the results
// stream holds (-1: unknown), to tell a stalled engine from a stalled
// follower.
func (l *load) streamStageResults() int {
	ctx, cancel := context.WithTimeout(l.e.t.Context(), 10*time.Second)
	defer cancel()
	return l.e.countResults(ctx, events.SubjectStageResults+"."+account+".*")
}
