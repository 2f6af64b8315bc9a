// Package pull is the fetch loop the engine's consumers and the workers
// pull JetStream messages with, and the health it reports for /readyz.
package pull

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// fetchWait bounds one pull request, and so how long Stop waits for a loop to notice.
const fetchWait = 2 * time.Second

// Loop fetches from cons until ctx ends. want returns how many messages
// may be taken now (it may block until that is at least one, or return 0
// when ctx ended); handle is called for each message in order.
//
// release, when not nil, gets back the part of n that no message used once
// the batch is over (a worker's reserved slots).
func Loop(ctx context.Context, cons jetstream.Consumer, log *zap.Logger, health *Health, want func(context.Context) int, handle func(jetstream.Msg), release func(unused int)) {
	health.set(nil)
	defer health.set(errStopped)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		n := want(ctx)
		if n <= 0 {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := cons.Fetch(n, jetstream.FetchContext(fctx))
		handled := 0
		if err == nil {
			for msg := range batch.Messages() {
				handled++
				handle(msg)
			}
			err = batch.Error()
		}
		cancel()
		if release != nil && handled < n {
			release(n - handled)
		}
		switch {
		case err == nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, jetstream.ErrNoMessages):
			backoff = 100 * time.Millisecond
			health.set(nil)
		default:
			health.set(err)
			log.Warn("fetch failed", zap.String("consumer", cons.CachedInfo().Name), zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// FixedBatch is a want function for loops that handle each batch in order.
func FixedBatch(n int) func(context.Context) int { return func(context.Context) int { return n } }

// Redelivered reports whether msg was delivered before.
func Redelivered(msg jetstream.Msg) bool {
	md, err := msg.Metadata()
	return err == nil && md.NumDelivered > 1
}

var errStopped = errors.New("not consuming")

// Health is what a pull loop last saw: nil while its fetches work.
type Health struct {
	mu  sync.Mutex
	err error
}

// NewHealth is a Health of a loop not started: not consuming.
func NewHealth() *Health { return &Health{err: errStopped} }

func (h *Health) set(err error) {
	h.mu.Lock()
	h.err = err
	h.mu.Unlock()
}

// Check returns nil while the loop consumes, else why not.
func (h *Health) Check(name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return fmt.Errorf("%s: %w", name, h.err)
	}
	return nil
}
