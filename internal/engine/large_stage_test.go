package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// defaultPayloadHarness is a harness on a NATS server with the default
// max_payload (1 MiB); natstest's servers allow 4 MiB.
func defaultPayloadHarness(t *testing.T, opts harnessOpts) *harness {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		t.Fatal("nats server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		srv.Shutdown()
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); srv.Shutdown(); srv.WaitForShutdown() })
	if got := nc.MaxPayload(); got != 1<<20 {
		t.Fatalf("max payload %d, want NATS's default 1 MiB", got)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, env: &natstest.Env{Conn: nc, JS: js}, ctx: natstest.Context(t, 2*time.Minute), dir: t.TempDir()}
	if err := events.Provision(h.ctx, js, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	h.startEngine(opts.engine)
	if !opts.noWorker {
		h.worker = h.startWorker(opts.worker)
	}
	if h.store, err = store.Open(h.ctx, js); err != nil {
		t.Fatal(err)
	}
	return h
}

// succeedAtOnce is a runner that runs nothing: every hook succeeds at once.
type succeedAtOnce struct{}

func (succeedAtOnce) Run(context.Context, executor.Spec) (executor.Outcome, error) {
	return executor.Outcome{}, nil
}

var _ executor.Runner = succeedAtOnce{}

// publishedStageResult is a stage result as published, with the counts the
// engine adds when the executions list is cut to fit in one message.
type publishedStageResult struct {
	events.StageResult
	ExecutionsTotal     int  `json:"executionsTotal"`
	ExecutionsTruncated bool `json:"executionsTruncated"`
}

// nextStageResult reads the next stage result from cons, raw and decoded.
func nextStageResult(t *testing.T, cons jetstream.Consumer, wait time.Duration) (*publishedStageResult, int) {
	t.Helper()
	msg, err := cons.Next(jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatalf("no stage result within %s: %v", wait, err)
	}
	var env events.Envelope
	var sr publishedStageResult
	if err := json.Unmarshal(msg.Data(), &env); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(env.Data, &sr); err != nil {
		t.Fatal(err)
	}
	return &sr, len(msg.Data())
}

func stageResults(t *testing.T, h *harness, ev *events.LifecycleEvent, deliver jetstream.DeliverPolicy) jetstream.Consumer {
	t.Helper()
	cons, err := h.env.JS.OrderedConsumer(h.ctx, events.StreamResults, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.StageResultSubject(ev.AccountID, ev.RunID)}, DeliverPolicy: deliver})
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

// TestLargeStageIsAnsweredUnderDefaultMaxPayload: an event of 1,000
// containers × 4 hooks (valid: under events.MaxContainers) makes a plan of
// several MiB and 4,000 execution summaries; against a NATS with the
// default max payload the plan is stored in chunks, every hook runs once,
// and the stage result fits in one message, counting all 4,000. The hooks
// run through a runner that succeeds at once (no process per hook), so the
// test measures the engine, not fork/exec.
func TestLargeStageIsAnsweredUnderDefaultMaxPayload(t *testing.T) {
	if testing.Short() {
		t.Skip("4,000 executions: about 10s, a minute with -race")
	}
	h := defaultPayloadHarness(t, harnessOpts{worker: worker.Config{Concurrency: 16, Runner: succeedAtOnce{}}})
	app := uuid.NewString()
	src := h.source("noop", "#!/bin/sh\nexit 0\n")
	for i := range 4 {
		h.hook(matcher.ExecutionHook{Name: fmt.Sprintf("hook-%d", i), AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src,
			Arguments: []string{"--a-long-argument-to-make-every-job-a-little-bigger", fmt.Sprint(i)}})
	}
	cs := make([]events.Container, 1000)
	for i := range cs {
		cs[i] = ctr("namespace-of-a-large-app", fmt.Sprintf("statefulset-pod-%04d", i), "database", "registry.example.com/db:1.2.3", "app=large", "tier=db")
	}
	ev := h.event(app, "snapshot", "pre", cs...)
	cons := stageResults(t, h, ev, jetstream.DeliverAllPolicy)
	if _, err := events.PublishLifecycle(h.ctx, h.env.JS, ev); err != nil {
		t.Fatal(err)
	}
	sr, size := nextStageResult(t, cons, 90*time.Second)
	if sr.HookState != events.HookStateSuccess || len(sr.HookStateDetails) != 0 {
		t.Fatalf("hookState %s, details %+v; want success", sr.HookState, sr.HookStateDetails)
	}
	if !sr.ExecutionsTruncated || sr.ExecutionsTotal != 4000 || len(sr.Executions) == 0 || len(sr.Executions) >= 4000 {
		t.Errorf("executions: %d listed, total %d, truncated %t; want 4000 counted, the list cut", len(sr.Executions), sr.ExecutionsTotal, sr.ExecutionsTruncated)
	}
	if size >= 1<<20 {
		t.Errorf("stage result is %d bytes", size)
	}
	kv, err := h.env.JS.KeyValue(h.ctx, events.BucketRuns)
	if err != nil {
		t.Fatal(err)
	}
	lister, err := kv.ListKeysFiltered(h.ctx, "exec."+ev.StageKey()+".*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range lister.Keys() {
		n++
	}
	if n != 4000 {
		t.Errorf("%d execution results recorded, want 4000", n)
	}
	// The run view reads the plan's chunks: every execution is listed.
	view, err := h.engine.Run(h.ctx, ev.AccountID, ev.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(view.Stages[0].Executions); got != 4000 || view.Stages[0].Executions[3999].Status != events.StatusSucceeded {
		t.Errorf("run view lists %d executions, want 4000 succeeded", got)
	}
}

// TestPermanentPlanningErrorFailsTheStage: a plan that cannot be stored
// whatever is tried is answered with a failed stage result saying why, not
// retried for ever. Here the event is just under the max payload, so its
// plan (the event, and the sizes of 4,000 lanes) is just over it.
func TestPermanentPlanningErrorFailsTheStage(t *testing.T) {
	t.Parallel()
	h := defaultPayloadHarness(t, harnessOpts{noWorker: true})
	app := uuid.NewString()
	src := h.source("noop", "#!/bin/sh\nexit 0\n")
	h.hook(matcher.ExecutionHook{Name: "freeze", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src})
	cs := make([]events.Container, 4000)
	ev := h.event(app, "snapshot", "pre")
	for pad := 200; ; pad-- {
		for i := range cs {
			cs[i] = ctr("ns", fmt.Sprintf("pod-%04d", i), "c", "img:"+strings.Repeat("x", pad))
		}
		ev.Containers = cs
		raw, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) < 1<<20-1<<10 {
			break
		}
	}
	sr := h.run(ev)
	if sr.HookState != events.HookStateFailed || len(sr.HookStateDetails) != 1 || !strings.Contains(sr.HookStateDetails[0].Detail, "maximum payload") {
		t.Fatalf("stage result %+v; want failed, saying the plan is over the max payload", sr)
	}
}

// TestReplayAfterDedupWindowKeepsTheRunFinished: a completed run's pre
// event published again (after JetStream's de-duplication window, here
// under another message ID) is answered once with the recorded result,
// runs nothing, and does not promise a post stage again: no stage result
// follows the replayed one, not even the post stage's.
func TestReplayAfterDedupWindowKeepsTheRunFinished(t *testing.T) {
	t.Parallel()
	// A watchdog quick to keep its promises: if the replay made one again,
	// the post stage would be requested (and answered) within the wait below.
	h := newHarness(t, harnessOpts{engine: engine.Config{PairingTimeout: 300 * time.Millisecond, PairingInterval: 50 * time.Millisecond}})
	app := uuid.NewString()
	trace := h.traceFile("trace")
	src := h.source("trace", traceScript)
	h.hook(matcher.ExecutionHook{Name: "freeze", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace, "pre"}})
	h.hook(matcher.ExecutionHook{Name: "thaw", AppID: app, Action: "snapshot", Stage: "post", HookSourceID: src, Arguments: []string{trace, "post"}})
	pre := h.event(app, "snapshot", "pre", ctr("ns", "db-0", "mysql", "mysql:8"))
	if sr := h.run(pre); sr.Replayed || sr.HookState != events.HookStateSuccess {
		t.Fatalf("pre: %+v", sr)
	}
	post := *pre
	post.Stage = events.StagePost
	if sr := h.run(&post); sr.Replayed || sr.HookState != events.HookStateSuccess {
		t.Fatalf("post: %+v", sr)
	}
	kv, err := h.env.JS.KeyValue(h.ctx, events.BucketRuns)
	if err != nil {
		t.Fatal(err)
	}
	pairKey := "pair." + pre.AccountID + "." + pre.RunID + "." + string(pre.Action)
	if _, err := kv.Get(h.ctx, pairKey); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("pairing after post: %v, want none", err)
	}

	cons := stageResults(t, h, pre, jetstream.DeliverNewPolicy)
	msg, err := events.NewMsg(events.LifecycleSubject(pre.AccountID, pre.AppID, pre.Action, pre.Stage), events.TypeLifecycle,
		"lifecycle-again-"+pre.RunID, pre)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.env.JS.PublishMsg(h.ctx, msg); err != nil {
		t.Fatal(err)
	}
	again, _ := nextStageResult(t, cons, 30*time.Second)
	if !again.Replayed || again.Stage != events.StagePre || len(again.Executions) != 1 {
		t.Errorf("answer to the replay: %+v, want the recorded pre result marked replayed", again)
	}
	// The replay was answered after its pairing was decided.
	if _, err := kv.Get(h.ctx, pairKey); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("pairing after the replay: %v, want none (the post stage would run again)", err)
	}
	if m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second)); err == nil {
		t.Errorf("a second stage result after the replay: %s", m.Data())
	}
	if got := readLines(t, trace); len(got) != 2 {
		t.Errorf("hooks ran %q, want freeze and thaw once each", got)
	}
}
