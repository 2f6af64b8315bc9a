package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/errkind"
)

// lostAck makes every publish on its subject lose its ack, as one does when
// the stream leader that stored it dies before answering: something
// receives the message (so there is no "no responders"), nothing replies.
func lostAck(t *testing.T, nc *nats.Conn) *nats.Msg {
	t.Helper()
	sub, err := nc.Subscribe("lost.acks", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	m, err := events.NewMsg("lost.acks", events.TypeJob, "job.lost", map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A lost ack does not hold PublishAll for ever, whatever JetStream context
// it is given: with a context without deadline it gives up after
// PublishAckTimeout with an error that says "try again" (the engine's
// lifecycle planner used to stop for good on it after a leader was killed).
func TestPublishAllGivesUpOnALostAck(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	plain, err := jetstream.New(env.Conn) // no async publish timeout
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- events.PublishAll(context.Background(), plain, []*nats.Msg{lostAck(t, env.Conn)}) }()
	select {
	case err := <-done:
		if err == nil || errkind.Of(err) != errkind.Unavailable {
			t.Fatalf("PublishAll with a lost ack: %v (kind %v), want an Unavailable error", err, errkind.Of(err))
		}
	case <-time.After(10 * events.PublishAckTimeout):
		t.Fatal("PublishAll still waits for an ack that will never come")
	}
}

// NewJetStream's asynchronous publishes give up on a lost ack themselves,
// so no pending publish is left behind.
func TestNewJetStreamTimesOutLostAcks(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	js, err := events.NewJetStream(env.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // longer than any ack timeout
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- events.PublishAll(ctx, js, []*nats.Msg{lostAck(t, env.Conn)}) }()
	select {
	case err := <-done:
		if !errors.Is(err, jetstream.ErrAsyncPublishTimeout) || errkind.Of(err) != errkind.Unavailable {
			t.Fatalf("PublishAll with a lost ack: %v (kind %v), want jetstream.ErrAsyncPublishTimeout, Unavailable", err, errkind.Of(err))
		}
	case <-time.After(10 * events.PublishAckTimeout):
		t.Fatal("the future of a lost ack never resolved")
	}
	if n := js.PublishAsyncPending(); n != 0 {
		t.Errorf("%d async publishes still pending after their ack timed out", n)
	}
}
