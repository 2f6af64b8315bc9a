package driver

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/internal/store"
)

// nameKind is the kind an action's name is reserved under: names are
// unique per kind and app.
func nameKind(k Kind) string { return "action-" + string(k) }

// nameInApp is the reserved name: the app's id and the action's name.
func nameInApp(a *Action) string { return a.AppID + "/" + a.Name }

// reserveName reserves a's name for a. A default name (named false) that is
// taken, as when two actions are created in the same second, gets a random
// suffix instead of failing.
func (d *Driver) reserveName(ctx context.Context, a *Action, named bool) (taken bool, err error) {
	live := func(ctx context.Context, id string) (bool, error) {
		_, _, err := d.Get(ctx, a.Account, id)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	taken, err = d.cfg.Names.ReserveName(ctx, nameKind(a.Kind), a.Account, nameInApp(a), a.ID, live)
	if errors.Is(err, store.ErrNameTaken) && !named {
		a.Name += "-" + store.NewID()[:8] // hex: still a DNS-1123 label
		taken, err = d.cfg.Names.ReserveName(ctx, nameKind(a.Kind), a.Account, nameInApp(a), a.ID, live)
	}
	if errors.Is(err, store.ErrNameTaken) {
		return false, fmt.Errorf("%s %q of app %s: %w", a.Kind, a.Name, a.AppID, ErrNameTaken)
	}
	if err != nil {
		return false, fmt.Errorf("driver: reserve name of action %s: %w", a.ID, err)
	}
	return taken, nil
}

// backfillNames reserves the names of the actions stored before names were
// reserved (an older release only checked them by listing), so that a new
// action cannot take the name of one of those. Every driver does it once at
// start, in the background; an action that already holds its name costs a
// read. Two stored actions that already share a name (the old check let
// that happen under concurrency) cannot both hold it: the first one met
// keeps it and the other is logged. Trouble stops the pass, and the next
// start goes on with it.
func (d *Driver) backfillNames(ctx context.Context) {
	lister, err := d.kv.ListKeys(ctx)
	if err != nil {
		if !errors.Is(err, jetstream.ErrNoKeysFound) && ctx.Err() == nil {
			d.log.Warn("action names not backfilled; the next start tries again", zap.Error(err))
		}
		return
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	reserved, shared := 0, 0
	for _, k := range keys {
		a, _, err := d.get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err == nil && a.Name != "" {
			var taken bool
			taken, err = d.reserveName(ctx, a, true)
			if taken {
				reserved++
			}
			if errors.Is(err, ErrNameTaken) {
				shared++
				d.log.Warn("two actions share a name; only the other one holds it", zap.String("action_id", a.ID),
					zap.String("app_id", a.AppID), zap.String("kind", string(a.Kind)), zap.String("name", a.Name))
				continue
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("action names not backfilled; the next start tries again", zap.Error(err))
			}
			return
		}
	}
	if reserved > 0 || shared > 0 {
		d.log.Info("action names backfilled", zap.Int("reserved", reserved), zap.Int("shared", shared))
	}
}
