package metrics_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/metrics"
)

func TestJetStreamQueueStats(t *testing.T) {
	env := natstest.Start(t)
	ctx := natstest.Context(t, 30*time.Second)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	stats := metrics.JetStreamQueueStats(env.JS)

	// Before the consumers exist: an error naming the missing one.
	if _, err := stats(ctx); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("stats without consumers: err %v, want ErrConsumerNotFound", err)
	}

	consumer := func(stream, name, filter string) jetstream.Consumer {
		t.Helper()
		c, err := env.JS.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable: name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute, FilterSubject: filter,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	jobs := consumer(events.StreamJobs, events.WorkerConsumer(events.ClusterLocal), events.JobsOfCluster(events.ClusterLocal))
	lifecycle := consumer(events.StreamLifecycle, events.ConsumerLifecycle, events.SubjectsLifecycle)
	consumer(events.StreamResults, events.ConsumerAggregator, events.SubjectExecutionResults+".>")

	publish := func(subject string, n int) {
		t.Helper()
		for range n {
			if _, err := env.JS.Publish(ctx, subject, []byte("{}")); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(events.JobSubject("acct", events.ClusterLocal, "app"), 5)
	publish(events.LifecycleSubject("acct", "app", events.ActionSnapshot, events.StagePre), 2)
	publish(events.ExecutionResultSubject("acct", "run-1"), 3)
	publish(events.StageResultSubject("acct", "run-1"), 4) // not the aggregator's

	// A worker holds two jobs; the engine holds one lifecycle event.
	fetch := func(c jetstream.Consumer, n int) {
		t.Helper()
		batch, err := c.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for range batch.Messages() {
			got++
		}
		if got != n || batch.Error() != nil {
			t.Fatalf("fetched %d of %d: %v", got, n, batch.Error())
		}
	}
	fetch(jobs, 2)
	fetch(lifecycle, 1)

	got, err := stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := metrics.QueueStats{JobsPending: 3, JobsUnacked: 2, LifecyclePending: 2, ResultsPending: 3}
	if got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}

	// Through a scrape.
	m := metrics.New()
	m.SetQueueStats(stats)
	s := scrapeOf(t, m)
	if v := s.value(t, "hookshot_jobs_unacked", ""); v != 2 {
		t.Errorf("jobs_unacked = %v, want 2", v)
	}
}
