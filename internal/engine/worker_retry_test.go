package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// faultJS is the harness's real JetStream with faults injected around it:
// the next kvFails reads of the scripts bucket time out, and the next
// pubFails publishes (the worker publishes only execution results) are
// refused as by a server whose storage is exhausted. Everything else, and
// every call once the faults are used up, goes to the real server.
type faultJS struct {
	jetstream.JetStream
	kvFails, pubFails   atomic.Int64 // faults still to inject
	kvFailed, pubFailed atomic.Int64 // faults injected
}

// errStorageExhausted is the server's answer to a publish when JetStream
// storage is exhausted.
var errStorageExhausted = &jetstream.APIError{Code: 500, ErrorCode: 10047, Description: "insufficient storage resources available"}

func (f *faultJS) KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	kv, err := f.JetStream.KeyValue(ctx, bucket)
	if err != nil || bucket != events.BucketScripts {
		return kv, err
	}
	return &faultKV{KeyValue: kv, js: f}, nil
}

func (f *faultJS) PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if f.pubFails.Add(-1) >= 0 {
		f.pubFailed.Add(1)
		return nil, errStorageExhausted
	}
	return f.JetStream.PublishMsg(ctx, msg, opts...)
}

type faultKV struct {
	jetstream.KeyValue
	js *faultJS
}

func (k *faultKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	if k.js.kvFails.Add(-1) >= 0 {
		k.js.kvFailed.Add(1)
		return nil, fmt.Errorf("get %s: %w", key, nats.ErrTimeout)
	}
	return k.KeyValue.Get(ctx, key)
}

// oneHook stores the trace script and one hook running it on app's pre
// snapshot, and returns the trace file.
func oneHook(h *harness, app string) string {
	h.t.Helper()
	trace := h.traceFile("trace-" + app)
	src := h.source("trace-"+app[:8], traceScript)
	h.hook(matcher.ExecutionHook{Name: "h", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src,
		Arguments: []string{trace, "x"}, FailureMode: matcher.FailureModeFail})
	return trace
}

// A script that cannot be read because the store does not answer is not a
// failed hook: the job is handed back and runs once the store answers, as
// its first attempt.
func TestWorkerTransientScriptLoadFailureHandsBackWithoutUsingAnAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noWorker: true})
	fjs := &faultJS{JetStream: h.env.JS}
	fjs.kvFails.Store(2)
	h.startWorker(worker.Config{JS: fjs, Name: "flaky-store", MaxAttempts: 1})
	app := uuid.NewString()
	trace := oneHook(h, app)

	wantOneRunSucceeded(t, h.run(h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i"))), trace)
	if n := fjs.kvFailed.Load(); n != 2 {
		t.Fatalf("%d script reads failed, want 2", n)
	}
}

// A hook whose source content is gone fails, saying so, without being
// retried.
func TestWorkerMissingSourceContentFailsTheHook(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	app := uuid.NewString()
	trace := h.traceFile("trace")
	srcID := h.source("gone", traceScript)
	src, err := h.store.Sources.Get(h.ctx, account, srcID)
	if err != nil {
		t.Fatal(err)
	}
	h.hook(matcher.ExecutionHook{Name: "h", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: srcID,
		Arguments: []string{trace, "x"}, FailureMode: matcher.FailureModeFail})
	// Remove the content and the source behind the store's back: the hook
	// still pins the checksum.
	for bucket, key := range map[string]string{
		events.BucketScripts: account + "." + src.Value.Source.SourceMD5Checksum,
		events.BucketSources: account + "." + srcID,
	} {
		kv, err := h.env.JS.KeyValue(h.ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.Purge(h.ctx, key); err != nil {
			t.Fatal(err)
		}
	}

	sr := h.run(h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i")))
	if sr.HookState != events.HookStateFailed || len(sr.Executions) != 1 || sr.Executions[0].Attempt != 1 ||
		len(sr.HookStateDetails) != 1 || !strings.Contains(sr.HookStateDetails[0].Detail, "was deleted and no content with checksum") {
		t.Fatalf("stage result %+v", sr)
	}
	if got := readLines(t, trace); len(got) != 0 {
		t.Fatalf("trace %q, want no run", got)
	}
}

// A result that cannot be published (storage exhausted) is published again
// by the worker that holds it: the hook runs once and its success is
// recorded.
func TestWorkerResultPublishFailureRetriedWithoutRerunningTheHook(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noWorker: true})
	fjs := &faultJS{JetStream: h.env.JS}
	fjs.pubFails.Store(4) // about 1.5s of retries: past the 1s ack wait
	h.startWorker(worker.Config{JS: fjs, Name: "full-disk", AckWait: time.Second})
	app := uuid.NewString()
	trace := oneHook(h, app)

	ev := h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i"))
	wantOneRunSucceeded(t, h.run(ev), trace)
	if n := fjs.pubFailed.Load(); n != 4 {
		t.Fatalf("%d publishes failed, want 4", n)
	}
	if n := countMessages(t, h, events.ExecutionResultSubject(account, ev.RunID)); n != 1 {
		t.Fatalf("%d execution results published, want 1", n)
	}
}

// A worker that stops while it cannot publish a result leaves the outcome in
// the run-state bucket: the worker that gets the job next records it
// instead of running the hook again.
func TestWorkerStoppingWithUnpublishedResultLeavesOutcomeToNextWorker(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noWorker: true})
	fjs := &faultJS{JetStream: h.env.JS}
	fjs.pubFails.Store(1 << 30)
	stuck := h.startWorker(worker.Config{JS: fjs, Name: "stuck", AckWait: time.Second})
	app := uuid.NewString()
	trace := oneHook(h, app)

	ev := h.event(app, "snapshot", "pre", ctr("ns", "p", "c", "i"))
	if _, err := events.PublishLifecycle(h.ctx, h.env.JS, ev); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a result publish failing", func() bool { return fjs.pubFailed.Load() >= 2 })
	ctx, cancel := context.WithTimeout(h.ctx, 200*time.Millisecond)
	defer cancel()
	_ = stuck.Stop(ctx) // soft timeout: gives up recording, hands the job back

	h.startWorker(worker.Config{Name: "next", AckWait: time.Second})
	wantOneRunSucceeded(t, h.wait(ev), trace)
}

// wantOneRunSucceeded checks that the stage of oneHook's hook succeeded as
// attempt 1 and that its script ran once.
func wantOneRunSucceeded(t *testing.T, sr *events.StageResult, trace string) {
	t.Helper()
	if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 || sr.Executions[0].Attempt != 1 {
		t.Fatalf("stage result %+v", sr)
	}
	if got := readLines(t, trace); strings.Join(got, ",") != "h|c|1|x" {
		t.Fatalf("trace %q, want one run as attempt 1", got)
	}
}
