package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/internal/errkind"
)

// WaitStageResult returns the stage result of (runID, action, stage),
// waiting until the engine publishes it or ctx ends. It reads the results
// stream from the start of the run's subject, so a result published before
// the call is found too: a controller may publish, crash, and wait again.
// Trouble that may pass (no JetStream responders while a stream leader is
// elected, a lost connection) is waited out with a new reader; only an
// answer no retry can change, or the end of ctx, ends the wait early.
func WaitStageResult(ctx context.Context, js jetstream.JetStream, account, runID string, action Action, stage Stage) (*StageResult, error) {
	if !ValidToken(account) || !ValidToken(runID) {
		return nil, fmt.Errorf("wait stage result: invalid account %q or run %q", account, runID)
	}
	backoff := waitMinBackoff
	for {
		sr, err := waitStageResultOnce(ctx, js, account, runID, action, stage)
		switch {
		case err == nil:
			return sr, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("wait stage result of %s: %w (last error: %w)", StageKey(account, runID, action, stage), ctx.Err(), err)
		case errkind.Of(err).Definite():
			return nil, fmt.Errorf("wait stage result: %w", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait stage result of %s: %w (last error: %w)", StageKey(account, runID, action, stage), ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(2*backoff, waitMaxBackoff)
	}
}

// readerLife is how long one reader waits before a new one takes over.
const readerLife = 10 * time.Second

// errReaderRenewed ends a reader that lived readerLife (of unknown kind:
// a new reader follows at once).
var errReaderRenewed = errors.New("reader renewed")

// The waits between readers after trouble that may pass.
const (
	waitMinBackoff = 100 * time.Millisecond
	waitMaxBackoff = 2 * time.Second
)

// waitStageResultOnce reads with one ordered consumer until the result is
// there or the consumer fails.
func waitStageResultOnce(ctx context.Context, js jetstream.JetStream, account, runID string, action Action, stage Stage) (*StageResult, error) {
	cons, err := js.OrderedConsumer(ctx, StreamResults, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{StageResultSubject(account, runID)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, err
	}
	// A reader lives readerLife: an ordered consumer does not always recover
	// from a restart of its server, and a stuck one would wait out ctx.
	life, cancel := context.WithTimeout(ctx, readerLife)
	defer cancel()
	for {
		msg, err := cons.Next(jetstream.FetchContext(life))
		if err != nil {
			if errors.Is(err, jetstream.ErrNoMessages) && life.Err() == nil {
				continue
			}
			if ctx.Err() == nil && life.Err() != nil {
				return nil, errReaderRenewed
			}
			return nil, err
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
