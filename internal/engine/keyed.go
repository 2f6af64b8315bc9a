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
type keyedSerial struct {
	handle func(jetstream.Msg)
	limit  int

	mu       sync.Mutex
	queues   map[string][]jetstream.Msg // pending, by key; present while a drainer runs
	inFlight int                        // messages submitted and not yet handled
	room     chan struct{}              // signaled when inFlight goes down
	wg       sync.WaitGroup
}

func newKeyedSerial(limit int, handle func(jetstream.Msg)) *keyedSerial {
	return &keyedSerial{handle: handle, limit: limit, queues: map[string][]jetstream.Msg{}, room: make(chan struct{}, 1)}
}

// want is the pull loop's want function: it waits until fewer than limit
// messages are in flight and returns how many more may be taken.
func (k *keyedSerial) want(ctx context.Context) int {
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
func (k *keyedSerial) submit(key string, msg jetstream.Msg) {
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

func (k *keyedSerial) drain(key string) {
	for {
		k.mu.Lock()
		q := k.queues[key]
		if len(q) == 0 {
			delete(k.queues, key)
			k.mu.Unlock()
			return
		}
		msg := q[0]
		k.queues[key] = q[1:]
		k.mu.Unlock()

		k.handle(msg)

		k.mu.Lock()
		k.inFlight--
		k.mu.Unlock()
		select {
		case k.room <- struct{}{}:
		default:
		}
	}
}

// wait returns once every submitted message has been handled.
func (k *keyedSerial) wait() { k.wg.Wait() }

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
