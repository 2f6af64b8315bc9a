package driver_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/store"
)

func TestCreateReservesTheNamePerAppAndKind(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	d := h.startDriver(driver.Config{})
	app, other := h.app(), h.app()

	// 16 concurrent creates of one name: exactly one wins.
	const n = 16
	errs := make([]error, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _, err := d.Create(h.ctx, driver.Action{Account: account, AppID: app, Kind: driver.KindSnapshot, Name: "nightly"}, "test")
			errs[i] = err
			if err == nil {
				ids[i] = a.ID
			}
		}()
	}
	wg.Wait()
	var winner string
	for i, err := range errs {
		switch {
		case err == nil && winner == "":
			winner = ids[i]
		case err == nil:
			t.Errorf("two creates of one name succeeded: %s and %s", winner, ids[i])
		case !errors.Is(err, driver.ErrNameTaken):
			t.Errorf("create %d: %v, want ErrNameTaken", i, err)
		}
	}
	if winner == "" {
		t.Fatal("no create succeeded")
	}

	// The name is per app and kind.
	for _, a := range []driver.Action{
		{Account: account, AppID: other, Kind: driver.KindSnapshot, Name: "nightly"},
		{Account: account, AppID: app, Kind: driver.KindBackup, Name: "nightly"},
	} {
		if _, _, err := d.Create(h.ctx, a, "test"); err != nil {
			t.Errorf("create %s of app %s: %v", a.Kind, a.AppID, err)
		}
	}

	// Default names made in the same second do not collide.
	first, _, err := d.Create(h.ctx, driver.Action{Account: account, AppID: app, Kind: driver.KindSnapshot}, "test")
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := d.Create(h.ctx, driver.Action{Account: account, AppID: app, Kind: driver.KindSnapshot, Name: first.Name}, "test")
	if !errors.Is(err, driver.ErrNameTaken) {
		t.Fatalf("create with a default name taken: %+v %v, want ErrNameTaken", second, err)
	}
	third, _, err := d.Create(h.ctx, driver.Action{Account: account, AppID: app, Kind: driver.KindSnapshot}, "test")
	if err != nil || third.Name == first.Name {
		t.Fatalf("second default name: %v, %q after %q", err, third.Name, first.Name)
	}

	// Deleting the action frees its name; a stale revision deletes nothing.
	h.wait(d, winner)
	_, rev, err := d.Get(h.ctx, account, winner)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(h.ctx, account, winner, rev-1); !errors.Is(err, driver.ErrConflict) {
		t.Fatalf("delete at a stale revision: %v, want ErrConflict", err)
	}
	if err := d.Delete(h.ctx, account, winner, rev); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Create(h.ctx, driver.Action{Account: account, AppID: app, Kind: driver.KindSnapshot, Name: "nightly"}, "test"); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
}

// noNames is a release before names were reserved: it checks nothing.
type noNames struct{}

func (noNames) ReserveName(context.Context, string, string, string, string, store.Live) (bool, error) {
	return true, nil
}
func (noNames) ReleaseName(context.Context, string, string, string, string) {}

// Actions stored by a release that did not reserve names get their names
// reserved when a driver starts, so a new action cannot take one of them,
// even where two old actions already share a name.
func TestStartReservesTheNamesOfOlderActions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := h.app()
	old := h.startDriver(driver.Config{Names: noNames{}})
	var ids []string
	for range 2 {
		a, _, err := old.Create(h.ctx, driver.Action{Account: account, AppID: app, Kind: driver.KindSnapshot, Name: "legacy"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	for _, id := range ids {
		h.wait(old, id)
	}
	stopWithin(t, old.Stop)

	names, err := h.env.JS.KeyValue(h.ctx, events.BucketNames)
	if err != nil {
		t.Fatal(err)
	}
	reserved := func() []string {
		l, err := names.ListKeysFiltered(h.ctx, "action-snapshot."+account+".*")
		if err != nil {
			return nil
		}
		var keys []string
		for k := range l.Keys() {
			keys = append(keys, k)
		}
		return keys
	}
	if keys := reserved(); len(keys) != 0 {
		t.Fatalf("the old release reserved %v", keys)
	}
	d := h.startDriver(driver.Config{})
	deadline := time.Now().Add(30 * time.Second)
	for len(reserved()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no name reserved 30 s after start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := d.Create(h.ctx, driver.Action{Account: account, AppID: app, Kind: driver.KindSnapshot, Name: "legacy"}, "test"); !errors.Is(err, driver.ErrNameTaken) {
		t.Fatalf("create with an older action's name: %v, want ErrNameTaken", err)
	}
}
