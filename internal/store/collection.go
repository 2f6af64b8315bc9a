package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
)

// Entry is a stored value with its KV revision (the ETag of the API).
type Entry[T any] struct {
	Account  string
	ID       string
	Value    T
	Revision uint64
}

// collection is one bucket of JSON values of type T keyed <account>.<id>.
type collection[T any] struct {
	kv   jetstream.KeyValue
	kind string
}

func key(account, id string) (string, error) {
	if !events.ValidToken(account) || !events.ValidToken(id) {
		return "", fmt.Errorf("%w: %q/%q", ErrInvalidKey, account, id)
	}
	return account + "." + id, nil
}

func (c *collection[T]) Get(ctx context.Context, account, id string) (*Entry[T], error) {
	k, err := key(account, id)
	if err != nil {
		return nil, err
	}
	e, err := c.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%s %s: %w", c.kind, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", c.kind, id, err)
	}
	return c.decode(account, id, e.Value(), e.Revision())
}

func (c *collection[T]) decode(account, id string, raw []byte, rev uint64) (*Entry[T], error) {
	out := &Entry[T]{Account: account, ID: id, Revision: rev}
	if err := json.Unmarshal(raw, &out.Value); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", c.kind, id, err)
	}
	return out, nil
}

// Create stores v under a new id; ErrExists if the id is taken.
func (c *collection[T]) Create(ctx context.Context, account, id string, v T) (uint64, error) {
	k, raw, err := c.encode(account, id, v)
	if err != nil {
		return 0, err
	}
	rev, err := c.kv.Create(ctx, k, raw)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("%s %s: %w", c.kind, id, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("create %s %s: %w", c.kind, id, err)
	}
	return rev, nil
}

// Update replaces the value stored at revision rev; ErrConflict if it moved.
func (c *collection[T]) Update(ctx context.Context, account, id string, v T, rev uint64) (uint64, error) {
	k, raw, err := c.encode(account, id, v)
	if err != nil {
		return 0, err
	}
	newRev, err := c.kv.Update(ctx, k, raw, rev)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return 0, fmt.Errorf("%s %s: %w", c.kind, id, ErrConflict)
		}
		return 0, fmt.Errorf("update %s %s: %w", c.kind, id, err)
	}
	return newRev, nil
}

// Put creates or replaces v regardless of revision (loading, seeding).
func (c *collection[T]) Put(ctx context.Context, account, id string, v T) (uint64, error) {
	k, raw, err := c.encode(account, id, v)
	if err != nil {
		return 0, err
	}
	rev, err := c.kv.Put(ctx, k, raw)
	if err != nil {
		return 0, fmt.Errorf("put %s %s: %w", c.kind, id, err)
	}
	return rev, nil
}

func (c *collection[T]) encode(account, id string, v T) (string, []byte, error) {
	k, err := key(account, id)
	if err != nil {
		return "", nil, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s %s: %w", c.kind, id, err)
	}
	return k, raw, nil
}

// Delete removes the resource; with rev > 0 only if it is still at rev.
func (c *collection[T]) Delete(ctx context.Context, account, id string, rev uint64) error {
	k, err := key(account, id)
	if err != nil {
		return err
	}
	if _, err := c.Get(ctx, account, id); err != nil {
		return err
	}
	var opts []jetstream.KVDeleteOpt
	if rev > 0 {
		opts = append(opts, jetstream.LastRevision(rev))
	}
	if err := c.kv.Delete(ctx, k, opts...); err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return fmt.Errorf("%s %s: %w", c.kind, id, ErrConflict)
		}
		return fmt.Errorf("delete %s %s: %w", c.kind, id, err)
	}
	return nil
}

// List returns every resource of the account, ordered by id.
func (c *collection[T]) List(ctx context.Context, account string) ([]*Entry[T], error) {
	if !events.ValidToken(account) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidKey, account)
	}
	lister, err := c.kv.ListKeysFiltered(ctx, account+".*")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", c.kind, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*Entry[T], 0, len(keys))
	for _, k := range keys {
		e, err := c.Get(ctx, account, strings.TrimPrefix(k, account+"."))
		if errors.Is(err, ErrNotFound) {
			continue // deleted while listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Watch streams every current value and then every change, in order, until
// ctx ends. fn gets a nil value for a deletion. The first call after the
// initial values have been delivered is signalled by ready.
func (c *collection[T]) Watch(ctx context.Context, fn func(account, id string, v *T), ready func()) error {
	return c.WatchRevisions(ctx, func(account, id string, v *T, _ uint64) { fn(account, id, v) }, func(uint64) { ready() })
}

// LastRevision is the revision of the bucket's latest change: a watcher that
// has seen it has seen everything written before the call.
func (c *collection[T]) LastRevision(ctx context.Context) (uint64, error) {
	st, err := c.kv.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("status of %s: %w", c.kind, err)
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return 0, fmt.Errorf("status of %s: unexpected %T", c.kind, st)
	}
	return bs.StreamInfo().State.LastSeq, nil
}

// WatchRevisions is Watch that also passes each change's revision, and to
// ready the bucket revision the initial values cover: every change up to it
// has been delivered, or was a deletion the initial values leave out.
func (c *collection[T]) WatchRevisions(ctx context.Context, fn func(account, id string, v *T, rev uint64), ready func(rev uint64)) error {
	covered, err := c.LastRevision(ctx)
	if err != nil {
		return err
	}
	w, err := c.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", c.kind, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil {
				ready(covered)
				continue
			}
			account, id, _ := strings.Cut(e.Key(), ".")
			if e.Operation() != jetstream.KeyValuePut {
				fn(account, id, nil, e.Revision())
				continue
			}
			dec, err := c.decode(account, id, e.Value(), e.Revision())
			if err != nil {
				fn(account, id, nil, e.Revision()) // undecodable: treated as gone; Get reports it
				continue
			}
			fn(account, id, &dec.Value, e.Revision())
		}
	}
}
