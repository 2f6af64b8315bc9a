package driver

import (
	"context"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// candidate is a non-terminal action as last seen by the watch.
type candidate struct {
	key     string
	created time.Time
	owner   string    // lease owner, "" when unleased
	until   time.Time // lease expiry
}

// schedule keeps a view of every non-terminal action from a watch of the
// bucket and starts driving those that are unleased or whose lease has
// expired, up to Config.Concurrency at once, oldest first. The watch's first
// pass over the stored actions is the resume after a restart; ready is
// called once it is done.
func (d *Driver) schedule(ctx context.Context, w jetstream.KeyWatcher, ready func()) {
	defer func() {
		if w != nil {
			_ = w.Stop()
		}
	}()
	tick := time.NewTicker(d.cfg.LeaseTTL / 3)
	defer tick.Stop()
	cands := map[string]candidate{}
	loaded := false
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				// The watch ended under us (connection trouble): start over.
				_ = w.Stop()
				if w = d.rewatch(ctx); w == nil {
					return
				}
				cands, loaded = map[string]candidate{}, false
				continue
			}
			if e == nil {
				loaded = true
				ready()
			} else {
				d.note(cands, e)
			}
		case <-tick.C:
		case <-d.wake:
		}
		if loaded {
			d.dispatch(ctx, cands, time.Now())
		}
	}
}

// note updates the view with one watched entry.
func (d *Driver) note(cands map[string]candidate, e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		delete(cands, e.Key())
		return
	}
	a, err := decode(e.Key(), e.Value())
	if err != nil {
		d.log.Error("stored action not driven", zap.String("key", e.Key()), zap.Error(err))
		delete(cands, e.Key())
		return
	}
	if a.Terminal() {
		delete(cands, e.Key())
		return
	}
	c := candidate{key: e.Key(), created: a.Created}
	if a.Lease != nil {
		c.owner, c.until = a.Lease.Owner, a.Lease.Until
	}
	cands[e.Key()] = c
}

// dispatch starts driving the eligible candidates that fit.
func (d *Driver) dispatch(ctx context.Context, cands map[string]candidate, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	for k := range d.cooling {
		if _, ok := cands[k]; !ok {
			delete(d.cooling, k)
		}
	}
	free := d.cfg.Concurrency - len(d.running)
	if free <= 0 {
		return
	}
	var eligible []candidate
	for k, c := range cands {
		if _, ok := d.running[k]; ok {
			continue
		}
		if t, ok := d.cooling[k]; ok && now.Before(t) {
			continue
		}
		if c.owner != "" && c.owner != d.cfg.Owner && now.Before(c.until) {
			continue // another driver's, and alive
		}
		eligible = append(eligible, c)
	}
	sort.Slice(eligible, func(i, j int) bool {
		if !eligible[i].created.Equal(eligible[j].created) {
			return eligible[i].created.Before(eligible[j].created)
		}
		return eligible[i].key < eligible[j].key
	})
	for _, c := range eligible[:min(free, len(eligible))] {
		d.running[c.key] = struct{}{}
		delete(d.cooling, c.key)
		d.wg.Go(func() {
			done := d.drive(ctx, c.key)
			d.mu.Lock()
			delete(d.running, c.key)
			if !done {
				// Claimed by another, lost, or interrupted: look again later
				// rather than at once (the watch will have caught up by then).
				d.cooling[c.key] = time.Now().Add(d.cfg.LeaseTTL / 3)
			}
			d.mu.Unlock()
			d.poke()
		})
	}
}

// poke makes the scheduler look again soon.
func (d *Driver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// rewatch opens a new watch of the bucket, retrying until ctx ends (nil).
func (d *Driver) rewatch(ctx context.Context) jetstream.KeyWatcher {
	b := newBackoff()
	for {
		w, err := d.kv.WatchAll(ctx)
		if err == nil {
			return w
		}
		d.log.Warn("watch actions, will retry", zap.Error(err))
		if !b.wait(ctx) {
			return nil
		}
	}
}

// backoff is an exponential pause between retries, 100ms to 5s.
type backoff struct{ next time.Duration }

func newBackoff() *backoff { return &backoff{next: 100 * time.Millisecond} }

func (b *backoff) reset() { b.next = 100 * time.Millisecond }

// wait pauses, and reports false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, 5*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
