package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// A worker that dies mid-hook (its connection gone, so it can neither ack
// nor publish) leaves the job to be redelivered; the second attempt's result
// is the only one recorded.
func TestWorkerDiesMidHookJobRedeliveredResultRecordedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noWorker: true})
	app := uuid.NewString()
	trace := h.traceFile("attempts")
	src := h.source("slow-first", "#!/bin/sh\necho \"$HOOKSHOT_ATTEMPT\" >> \"$1\"\nif [ \"$HOOKSHOT_ATTEMPT\" = 1 ]; then sleep 30; fi\n")
	h.hook(matcher.ExecutionHook{Name: "h", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace}})

	// The doomed worker has its own connection.
	nc, err := h.env.Server.Connect("doomed-worker")
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	doomed := h.startWorker(worker.Config{JS: js, Name: "doomed", AckWait: time.Second})

	ev := h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i"))
	if _, err := events.PublishLifecycle(h.ctx, h.env.JS, ev); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first attempt running", func() bool { return len(readLines(t, trace)) == 1 })
	nc.Close() // the worker is gone: no ack, no result, no heartbeat

	h.startWorker(worker.Config{Name: "survivor", AckWait: time.Second})
	sr := h.wait(ev)
	if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 || sr.Executions[0].Attempt != 2 {
		t.Fatalf("stage result %+v", sr)
	}
	stopWithin(t, doomed.Stop) // kills the orphaned first attempt's script

	if got := readLines(t, trace); strings.Join(got, ",") != "1,2" {
		t.Fatalf("attempts %q, want 1,2", got)
	}
	if n := countMessages(t, h, events.ExecutionResultSubject(account, ev.RunID)); n != 1 {
		t.Fatalf("%d execution results published, want 1", n)
	}
}

func countMessages(t *testing.T, h *harness, subject string) int {
	t.Helper()
	s, err := h.env.JS.Stream(h.ctx, events.StreamResults)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(h.ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Subjects[subject])
}

// The whole process — NATS, engine, worker — restarts between pre and post,
// and the post event arrives while nothing runs: post still runs.
func TestRestartBetweenPreAndPostStillRunsPost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	traceDir := t.TempDir()
	trace := traceDir + "/trace"
	app := uuid.NewString()
	ctx := natstest.Context(t, 2*time.Minute)
	c := ctr("ns", "db-0", "db", "postgres:16")

	start := func() (*natstest.Env, *engine.Engine, *worker.Worker) {
		env := natstest.StartIn(t, dir)
		if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
			t.Fatal(err)
		}
		e, err := engine.New(ctx, engine.Config{JS: env.JS})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		w, err := worker.New(ctx, worker.Config{JS: env.JS, AckWait: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return env, e, w
	}
	stop := func(env *natstest.Env, e *engine.Engine, w *worker.Worker) {
		stopWithin(t, w.Stop)
		stopWithin(t, e.Stop)
		env.Stop()
	}

	env, e, w := start()
	src, err := e.Store().SaveSource(ctx, account, *newSource("trace", traceScript), "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, stage := range []string{"pre", "post"} {
		rec, err := e.Store().SaveHook(ctx, account, matcher.ExecutionHook{Type: matcher.MediaType, Version: "1.3", HookType: "custom",
			Name: stage, AppID: app, Action: "snapshot", Stage: matcher.Stage(stage), HookSourceID: src.Source.ID, Arguments: []string{trace, stage}}, "test")
		if err != nil {
			t.Fatal(err)
		}
		// The index follows the bucket through a watch: an event published
		// before it has the hook matches nothing.
		waitFor(t, stage+" hook indexed", func() bool { _, ok := e.Index().Get(account, rec.Hook.ID); return ok })
	}
	pre := events.LifecycleEvent{RunID: "run-restart", AccountID: account, AppID: app, Action: "snapshot", Stage: "pre", Containers: []events.Container{c}}
	if _, err := events.PublishLifecycle(ctx, env.JS, &pre); err != nil {
		t.Fatal(err)
	}
	if sr, err := events.WaitStageResult(ctx, env.JS, account, pre.RunID, "snapshot", "pre"); err != nil || sr.HookState != "success" {
		t.Fatalf("pre: %v %+v", err, sr)
	}
	stop(env, e, w)

	// The controller publishes post while Hookshot is down: the event is kept
	// by a NATS restarted on the same data, without engine or workers.
	env = natstest.StartIn(t, dir)
	post := pre
	post.Stage = "post"
	if _, err := events.PublishLifecycle(ctx, env.JS, &post); err != nil {
		t.Fatal(err)
	}
	env.Stop()

	env, e, w = start()
	defer stop(env, e, w)
	sr, err := events.WaitStageResult(ctx, env.JS, account, post.RunID, "snapshot", "post")
	if err != nil || sr.HookState != "success" || len(sr.Executions) != 1 {
		t.Fatalf("post: %v %+v", err, sr)
	}
	if got := readLines(t, trace); strings.Join(got, ",") != "pre|db|1|pre,post|db|1|post" {
		t.Fatalf("trace %q", got)
	}
}

// A malformed event is terminated, not redelivered, and the waiting
// controller gets a failed stage result naming the problem.
func TestMalformedLifecycleEventAnsweredAndTerminated(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	bad := map[string]any{"runID": "run-bad", "accountID": account, "appID": "app", "action": "snapshot", "stage": "pre", "containers": []any{map[string]any{"podName": "p"}}}
	env, err := events.NewEnvelope(events.TypeLifecycle, "bad-1", bad)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(env)
	if _, err := h.env.JS.Publish(h.ctx, events.LifecycleSubject(account, "app", "snapshot", "pre"), raw); err != nil {
		t.Fatal(err)
	}
	// And one with no run ID at all: nothing to answer, but still terminated.
	if _, err := h.env.JS.Publish(h.ctx, events.LifecycleSubject(account, "app", "snapshot", "pre"), []byte("not json")); err != nil {
		t.Fatal(err)
	}
	sr := h.wait(&events.LifecycleEvent{RunID: "run-bad", AccountID: account, Action: "snapshot", Stage: "pre"})
	if sr.HookState != events.HookStateFailed || len(sr.HookStateDetails) != 1 ||
		sr.HookStateDetails[0].Type != events.DetailInvalidEvent || !strings.Contains(sr.HookStateDetails[0].Detail, "data.containers[0].namespaceName") {
		t.Fatalf("stage result %+v", sr)
	}
	waitFor(t, "both events settled", func() bool {
		c, err := h.env.JS.Consumer(h.ctx, events.StreamLifecycle, events.ConsumerLifecycle)
		if err != nil {
			return false
		}
		info, err := c.Info(h.ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	})
}

// The controller never asks for post: the engine runs it itself after the
// pairing timeout, so a thaw follows a freeze.
func TestPairingWatchdogRunsForgottenPost(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{engine: engine.Config{PairingTimeout: 500 * time.Millisecond, PairingInterval: 100 * time.Millisecond}})
	app := uuid.NewString()
	trace := h.traceFile("trace")
	src := h.source("trace", traceScript)
	h.hook(matcher.ExecutionHook{Name: "freeze", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace, "freeze"}})
	h.hook(matcher.ExecutionHook{Name: "thaw", AppID: app, Action: "snapshot", Stage: "post", HookSourceID: src, Arguments: []string{trace, "thaw"}})
	pre := h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i"))
	h.run(pre)
	post := *pre
	post.Stage = "post"
	sr := h.wait(&post)
	if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 || sr.Executions[0].HookName != "thaw" {
		t.Fatalf("post %+v", sr)
	}
	// The promise is cleared: the post stage is not run a second time.
	ctx, cancel := context.WithTimeout(h.ctx, time.Second)
	defer cancel()
	<-ctx.Done()
	if got := readLines(t, trace); strings.Join(got, ",") != "freeze|c|1|freeze,thaw|c|1|thaw" {
		t.Fatalf("trace %q", got)
	}
}
