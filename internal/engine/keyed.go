package engine

import (
	"context"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// keyedSerial hands messages to handle one at a time per key, in the order
// they were submitted, and messages of different keys concurrently, at
// most limit at once. The engine plans lifecycle events through it keyed
// by account and app: an app's stages stay in order, and one app whose
// cluster is slow to answer (discovery waits up to its timeout) or whose
// hooks are costly to match does not hold up every other app's stages.
//
// A drainer hands everything queued under its key at that moment to handle
// as one batch (in order): under load, results of one stage are recorded
// together (one progress update, one publish of the next jobs), and when
// it is quiet a batch is one message, so batching adds no latency.
type keyedSerial[T any] struct {
	handle func([]T)
	limit  int

	mu       sync.Mutex
	queues   map[string][]T // pending, by key; present while a drainer runs
	inFlight int            // messages submitted and not yet handled
	room     chan struct{}  // signaled when inFlight goes down
	wg       sync.WaitGroup
}

func newKeyedSerial[T any](limit int, handle func([]T)) *keyedSerial[T] {
	return &keyedSerial[T]{handle: handle, limit: limit, queues: map[string][]T{}, room: make(chan struct{}, 1)}
}

// oneByOne is a batch handler that handles each message in turn.
func oneByOne(handle func(jetstream.Msg)) func([]jetstream.Msg) {
	return func(msgs []jetstream.Msg) {
		for _, m := range msgs {
			handle(m)
		}
	}
}

// want is the pull loop's want function: it waits until fewer than limit
// messages are in flight and returns how many more may be taken.
func (k *keyedSerial[T]) want(ctx context.Context) int {
	for {
		k.mu.Lock()
		free := k.limit - k.inFlight
		k.mu.Unlock()
		if free > 0 {
			return free
		}
		select {
		case <-ctx.Done():
			return 0
		case <-k.room:
		}
	}
}

// submit queues msg under key; a goroutine drains each key's queue.
func (k *keyedSerial[T]) submit(key string, msg T) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.inFlight++
	q, running := k.queues[key]
	k.queues[key] = append(q, msg)
	if running {
		return
	}
	k.wg.Go(func() { k.drain(key) })
}

func (k *keyedSerial[T]) drain(key string) {
	for {
		k.mu.Lock()
		q := k.queues[key]
		if len(q) == 0 {
			delete(k.queues, key)
			k.mu.Unlock()
			return
		}
		k.queues[key] = nil // still draining: what comes now is the next batch
		k.mu.Unlock()

		k.handle(q)

		k.mu.Lock()
		k.inFlight -= len(q)
		k.mu.Unlock()
		select {
		case k.room <- struct{}{}:
		default:
		}
	}
}

// wait returns once every submitted message has been handled.
func (k *keyedSerial[T]) wait() { k.wg.Wait() }

// resultRunKey is the account and run of an execution result subject,
// hookshot.results.execution.<account>.<run>: the unit whose results are
// recorded in order (a stage's progress is one value).
func resultRunKey(subject string) string {
	parts := strings.SplitN(subject, ".", 6)
	if len(parts) < 5 {
		return subject
	}
	return parts[3] + "." + parts[4]
}

// lifecycleKey is the account and app of a lifecycle subject,
// hookshot.lifecycle.<account>.<app>.<action>.<stage>: the unit whose
// stages are planned in order.
func lifecycleKey(subject string) string {
	parts := strings.SplitN(subject, ".", 5)
	if len(parts) < 4 {
		return subject
	}
	return parts[2] + "." + parts[3]
}
