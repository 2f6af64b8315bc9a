package metrics

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
)

// JetStreamQueueStats returns a SetQueueStats callback that reads the
// backlog of Hookshot's durable consumers from js: the workers' consumers
// (one per cluster, added up) and the engine's two. It fails when none of
// the workers' or either of the engine's does not exist yet (the workers'
// consumers are created by the first worker of each cluster to start, the
// engine's by the first engine).
func JetStreamQueueStats(js jetstream.JetStream) func(ctx context.Context) (QueueStats, error) {
	return func(ctx context.Context) (QueueStats, error) {
		var s QueueStats
		jobs, err := workerConsumers(ctx, js)
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

// workerConsumers adds up the backlog of every cluster's jobs consumer.
func workerConsumers(ctx context.Context, js jetstream.JetStream) (*jetstream.ConsumerInfo, error) {
	stream, err := js.Stream(ctx, events.StreamJobs)
	if err != nil {
		return nil, fmt.Errorf("metrics: stream %s: %w", events.StreamJobs, err)
	}
	sum := &jetstream.ConsumerInfo{}
	found := false
	list := stream.ListConsumers(ctx)
	for info := range list.Info() {
		if !strings.HasPrefix(info.Name, events.ConsumerWorkersPrefix) {
			continue
		}
		found = true
		sum.NumPending += info.NumPending
		sum.NumAckPending += info.NumAckPending
	}
	if err := list.Err(); err != nil {
		return nil, fmt.Errorf("metrics: consumers of %s: %w", events.StreamJobs, err)
	}
	if !found {
		return nil, fmt.Errorf("metrics: no workers' consumer on %s yet: %w", events.StreamJobs, jetstream.ErrConsumerNotFound)
	}
	return sum, nil
}
