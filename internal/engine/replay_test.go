package engine_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/matcher"
)

// TestRepublishedStageAnswersWithTheRecordedResult: a lifecycle event of a
// stage that already has a result (published again after JetStream's
// de-duplication window, here with another message ID) runs nothing again
// and is answered with the recorded result, marked as replayed.
func TestRepublishedStageAnswersWithTheRecordedResult(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	app := uuid.NewString()
	trace := h.traceFile("trace")
	src := h.source("trace", traceScript)
	h.hook(matcher.ExecutionHook{Name: "freeze", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src, Arguments: []string{trace, "x"}})
	ev := h.event(app, "snapshot", "pre", ctr("ns", "db-0", "mysql", "mysql:8"))
	first := h.run(ev)
	if first.Replayed || len(readLines(t, trace)) != 1 {
		t.Fatalf("first result %+v, trace %q", first, readLines(t, trace))
	}

	cons, err := h.env.JS.OrderedConsumer(h.ctx, events.StreamResults, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.StageResultSubject(ev.AccountID, ev.RunID)}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := events.NewMsg(events.LifecycleSubject(ev.AccountID, ev.AppID, ev.Action, ev.Stage), events.TypeLifecycle,
		"lifecycle-again-"+ev.RunID, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.env.JS.PublishMsg(h.ctx, msg); err != nil {
		t.Fatal(err)
	}
	next, err := cons.Next(jetstream.FetchMaxWait(30 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var env events.Envelope
	var again events.StageResult
	if err := json.Unmarshal(next.Data(), &env); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(env.Data, &again); err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.HookState != first.HookState || !again.Finished.Equal(first.Finished) || len(again.Executions) != 1 {
		t.Errorf("second answer %+v, want the first one (finished %s) marked replayed", again, first.Finished)
	}
	if got := readLines(t, trace); len(got) != 1 {
		t.Errorf("the hook ran again: %q", got)
	}
}
