package store

import (
	"context"
	"fmt"
)

// Live reports whether the resource id, the owner of a name reservation,
// still exists; an error means it cannot tell (the name is then not taken
// over).
type Live func(ctx context.Context, id string) (bool, error)

// ReserveName makes id the owner of name among the resources of kind in the
// account, for resources kept outside the store (the driver's actions), with
// the same compare-and-set reservation hooks and sources use. It fails with
// ErrNameTaken when another live resource holds the name; live tells whether
// the holder of an older reservation still exists, and one that does not is
// taken over. taken is true when this call made the reservation (and so the
// caller releases it if it then fails to store the resource), false when id
// already held it. The store's own kinds are refused: their names are
// reserved by the store's writes alone.
func (s *Store) ReserveName(ctx context.Context, kind, account, name, id string, live Live) (taken bool, err error) {
	if err := externalKind(kind, account); err != nil {
		return false, err
	}
	return s.reserve(ctx, kind, account, name, id, live)
}

// ReleaseName drops id's reservation of name (see ReserveName), if id still
// holds it. A failure leaves a stale reservation, which ReserveName takes
// over once its owner is gone.
func (s *Store) ReleaseName(ctx context.Context, kind, account, name, id string) {
	if externalKind(kind, account) != nil {
		return
	}
	s.releaseName(ctx, kind, account, name, id)
}

// externalKind checks that kind is not one of the store's own kinds and that
// kind and account can be parts of a key.
func externalKind(kind, account string) error {
	switch kind {
	case KindSource, KindHook, KindApp, KindOverride:
		return fmt.Errorf("store: names of kind %q are reserved by the store itself", kind)
	}
	if _, err := key(account, kind); err != nil {
		return err
	}
	return nil
}
