package driver

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookshot-dev/hookshot/engine/store"
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
