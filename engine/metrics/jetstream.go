package metrics

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
)

// JetStreamQueueStats returns a SetQueueStats callback that reads the
// backlog of Hookshot's three durable consumers from js: one consumer info
// request each. It fails when any of them does not exist yet (the workers'
// consumer is created by the first worker to start, the engine's by the
// first engine).
func JetStreamQueueStats(js jetstream.JetStream) func(ctx context.Context) (QueueStats, error) {
	return func(ctx context.Context) (QueueStats, error) {
		var s QueueStats
		jobs, err := consumerInfo(ctx, js, events.StreamJobs, events.ConsumerWorkers)
		if err != nil {
			return s, err
		}
		lifecycle, err := consumerInfo(ctx, js, events.StreamLifecycle, events.ConsumerLifecycle)
		if err != nil {
			return s, err
		}
		results, err := consumerInfo(ctx, js, events.StreamResults, events.ConsumerAggregator)
		if err != nil {
			return s, err
		}
		s.JobsPending = int(jobs.NumPending)
		s.JobsUnacked = jobs.NumAckPending
		s.LifecyclePending = int(lifecycle.NumPending) + lifecycle.NumAckPending
		s.ResultsPending = int(results.NumPending) + results.NumAckPending
		return s, nil
	}
}

func consumerInfo(ctx context.Context, js jetstream.JetStream, stream, consumer string) (*jetstream.ConsumerInfo, error) {
	c, err := js.Consumer(ctx, stream, consumer)
	if err != nil {
		return nil, fmt.Errorf("metrics: consumer %s on %s: %w", consumer, stream, err)
	}
	return c.CachedInfo(), nil
}
