package driver_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/internal/driver"
)

func TestDeleteRefusesUnfinishedAction(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gate, entered := make(chan struct{}), make(chan time.Time, 1)
	d := h.startDriver(driver.Config{Performer: h.performer(func(ctx context.Context, _ *driver.Action) error {
		entered <- time.Now()
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})})
	app := h.app(hk{name: "thaw", action: "snapshot", stage: "post"})
	id := h.create(d, driver.Action{AppID: app, Kind: driver.KindSnapshot}).ID
	receive(t, "perform started", entered)
	if err := d.Delete(h.ctx, account, id, 0); !errors.Is(err, driver.ErrRunning) {
		t.Fatalf("delete of a running action: %v, want ErrRunning", err)
	}
	close(gate)
	if a := h.wait(d, id); a.State != driver.StateCompleted {
		t.Fatalf("action %+v", a)
	}
	if err := d.Delete(h.ctx, account, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Get(h.ctx, account, id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := d.Wait(h.ctx, account, id); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("wait after delete: %v", err)
	}
	if err := d.Delete(h.ctx, account, id, 0); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if as, err := d.List(h.ctx, account, app, ""); err != nil || len(as) != 0 {
		t.Errorf("list after delete: %v %v", as, err)
	}
}

func TestListFiltersByAppAndKind(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	d := h.startDriver(driver.Config{})
	app1, app2 := h.app(), h.app()
	snap1 := h.create(d, driver.Action{AppID: app1, Kind: driver.KindSnapshot}).ID
	backup1 := h.create(d, driver.Action{AppID: app1, Kind: driver.KindBackup}).ID
	restore1 := h.create(d, driver.Action{AppID: app1, Kind: driver.KindRestore}).ID
	snap2 := h.create(d, driver.Action{AppID: app2, Kind: driver.KindSnapshot}).ID
	for _, id := range []string{snap1, backup1, restore1, snap2} {
		h.wait(d, id)
	}
	other, _, err := d.Create(h.ctx, driver.Action{Account: "other", AppID: app1, Kind: driver.KindSnapshot}, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Wait(h.ctx, "other", other.ID); err != nil {
		t.Fatal(err)
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for _, tt := range []struct {
		name string
		app  string
		kind driver.Kind
		want []string
	}{
		{"all", "", "", sorted(snap1, backup1, restore1, snap2)},
		{"one app", app1, "", sorted(snap1, backup1, restore1)},
		{"one kind", "", driver.KindSnapshot, sorted(snap1, snap2)},
		{"one app, one kind", app1, driver.KindSnapshot, []string{snap1}},
		{"nothing", app2, driver.KindFailover, nil},
	} {
		as, err := d.List(h.ctx, account, tt.app, tt.kind)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range as {
			got = append(got, a.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: listed %q, want %q", tt.name, got, tt.want)
		}
	}
	if as, err := d.List(h.ctx, "nobody", "", ""); err != nil || len(as) != 0 {
		t.Errorf("list of an account with none: %v %v", as, err)
	}
}

func TestCreateValidatesAndRefusesTakenID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	d, err := driver.New(h.ctx, driver.Config{JS: h.env.JS}) // not started: Create only stores
	if err != nil {
		t.Fatal(err)
	}
	app := "7be5ae7c-151d-4230-ac39-ac1d0b33c2a9"
	for _, tt := range []struct {
		name       string
		given      driver.Action
		wantFields []string
	}{
		{"unknown kind", driver.Action{Account: account, AppID: app, Kind: "clone"}, []string{"kind"}},
		{"snapshot of a snapshot", driver.Action{Account: account, AppID: app, Kind: driver.KindSnapshot, SnapshotID: "x"}, []string{"snapshotID"}},
		{"bad tokens", driver.Action{Account: "a.b", AppID: "", ID: "x y", Kind: driver.KindBackup}, []string{"account", "appID", "id", "runID"}},
		{"bad name", driver.Action{Account: account, AppID: app, Kind: driver.KindRestore, Name: "Not_DNS"}, []string{"name"}},
	} {
		_, _, err := d.Create(h.ctx, tt.given, "tester")
		var ve *driver.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, driver.ErrInvalidAction) {
			t.Errorf("%s: %v, want a *ValidationError", tt.name, err)
			continue
		}
		var got []string
		for _, f := range ve.Fields {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: invalid fields %q, want %q (%v)", tt.name, got, tt.wantFields, err)
		}
	}

	a, rev, err := d.Create(h.ctx, driver.Action{ID: "fixed-id", RunID: "run-7", Account: account, AppID: app, Kind: driver.KindBackup, SnapshotID: "snap-1", Name: "nightly"}, "tester")
	if err != nil {
		t.Fatal(err)
	}
	got, gotRev, err := d.Get(h.ctx, account, "fixed-id")
	if err != nil || gotRev != rev || got.RunID != "run-7" || got.Name != "nightly" || got.State != driver.StatePending ||
		got.StateUnready == nil || got.Metadata.CreatedBy != "tester" || !got.Created.Equal(a.Created) {
		t.Fatalf("stored %+v at %d (%v), created %+v at %d", got, gotRev, err, a, rev)
	}
	if _, _, err := d.Create(h.ctx, driver.Action{ID: "fixed-id", Account: account, AppID: app, Kind: driver.KindSnapshot}, "tester"); !errors.Is(err, driver.ErrExists) {
		t.Errorf("create over a taken id: %v", err)
	}
	if _, _, err := d.Get(h.ctx, account, "nope"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("get of nothing: %v", err)
	}
	if _, err := d.Wait(h.ctx, account, "nope"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("wait for nothing: %v", err)
	}
	// Nobody drives it: Wait ends with its context.
	ctx, cancel := context.WithTimeout(h.ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := d.Wait(ctx, account, "fixed-id"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait for an undriven action: %v", err)
	}
	if err := d.Delete(h.ctx, account, "fixed-id", 0); !errors.Is(err, driver.ErrRunning) || !strings.Contains(err.Error(), "pending") {
		t.Errorf("delete of a pending action: %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, cfg := range []driver.Config{
		{},
		{JS: h.env.JS, LeaseTTL: time.Millisecond},
		{JS: h.env.JS, Concurrency: -1},
		{JS: h.env.JS, StageTimeout: -time.Second},
	} {
		if _, err := driver.New(h.ctx, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
