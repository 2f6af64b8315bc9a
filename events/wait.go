package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// WaitStageResult returns the stage result of (runID, action, stage),
// waiting until the engine publishes it or ctx ends. It reads the results
// stream from the start of the run's subject, so a result published before
// the call is found too: a controller may publish, crash, and wait again.
func WaitStageResult(ctx context.Context, js jetstream.JetStream, account, runID, action, stage string) (*StageResult, error) {
	if !ValidToken(account) || !ValidToken(runID) {
		return nil, fmt.Errorf("wait stage result: invalid account %q or run %q", account, runID)
	}
	cons, err := js.OrderedConsumer(ctx, StreamResults, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{StageResultSubject(account, runID)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("wait stage result: %w", err)
	}
	for {
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("wait stage result of %s: %w", StageKey(account, runID, action, stage), ctx.Err())
			}
			if errors.Is(err, jetstream.ErrNoMessages) {
				continue
			}
			return nil, fmt.Errorf("wait stage result: %w", err)
		}
		sr, err := DecodeStageResult(msg.Data())
		if err != nil {
			continue // not ours to judge; keep waiting for a good one
		}
		if sr.Action == action && sr.Stage == stage {
			return sr, nil
		}
	}
}
