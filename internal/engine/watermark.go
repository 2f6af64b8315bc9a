package engine

import (
	"context"
	"sync"
)

// watermark is the highest bucket revision a watcher has applied. The
// engine's index is a cache of the hooks and overrides buckets, fed by KV
// watches; before planning a stage it waits until the watermark reaches the
// bucket's last revision, so a hook written before a lifecycle event was
// published is always seen by that event.
type watermark struct {
	mu      sync.Mutex
	seq     uint64
	changed chan struct{} // closed and replaced at every advance
}

func newWatermark() *watermark { return &watermark{changed: make(chan struct{})} }

// advance records that every change up to seq has been applied.
func (w *watermark) advance(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if seq <= w.seq {
		return
	}
	w.seq = seq
	close(w.changed)
	w.changed = make(chan struct{})
}

// wait blocks until the watermark reaches seq or ctx ends.
func (w *watermark) wait(ctx context.Context, seq uint64) error {
	for {
		w.mu.Lock()
		reached, changed := w.seq >= seq, w.changed
		w.mu.Unlock()
		if reached {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
