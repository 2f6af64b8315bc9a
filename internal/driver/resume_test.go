package driver_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/driver"
)

// blocking is a performer function that says it started, then blocks until
// its ctx ends (the driver stops or loses the lease).
// The time it returned is sent on returned.
func blocking(entered, returned chan<- time.Time) func(context.Context, *driver.Action) error {
	return func(ctx context.Context, _ *driver.Action) error {
		entered <- time.Now()
		<-ctx.Done()
		returned <- time.Now()
		return ctx.Err()
	}
}

// The driver, the engine and the worker all stop while the action is being
// performed (its pre stage done); new ones on the same NATS resume it from
// the perform step: each hook runs exactly once, and the interrupted
// perform is done again.
func TestRestartResumesActionFromRecordedStep(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := h.app(hk{name: "bfreeze", action: "backup", stage: "pre"}, hk{name: "freeze", action: "snapshot", stage: "pre"},
		hk{name: "thaw", action: "snapshot", stage: "post"}, hk{name: "bthaw", action: "backup", stage: "post"})
	entered, returned := make(chan time.Time, 1), make(chan time.Time, 1)
	first := h.performer(blocking(entered, returned))
	d1 := h.startDriver(driver.Config{Performer: first, Owner: "first"})
	id := h.create(d1, driver.Action{AppID: app, Kind: driver.KindBackup}).ID
	receive(t, "perform started", entered)

	mid, _, err := d1.Get(h.ctx, account, id)
	if err != nil {
		t.Fatal(err)
	}
	if mid.State != driver.StateRunning || mid.Step != 2 || len(mid.Stages) != 2 || mid.Lease == nil || mid.Lease.Owner != "first" {
		t.Fatalf("mid-way action %+v", mid)
	}
	stopWithin(t, d1.Stop)
	receive(t, "perform canceled", returned)
	stopWithin(t, h.worker.Stop)
	stopWithin(t, h.engine.Stop)
	stopped, _, err := d1.Get(h.ctx, account, id)
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Lease != nil || stopped.Step != 2 || stopped.State != driver.StateRunning {
		t.Fatalf("stopped action %+v: the lease must be released, the step kept", stopped)
	}

	h.startEngine()
	h.startWorker()
	second := h.performer(nil)
	d2 := h.startDriver(driver.Config{Performer: second, Owner: "second"})
	a := h.wait(d2, id)
	if a.State != driver.StateCompleted || a.HookState != events.HookStateSuccess || len(a.Stages) != 4 {
		t.Fatalf("action %+v", a)
	}
	wantTrace(t, h, app, "backup/pre bfreeze", "snapshot/pre freeze", "perform", "perform", "snapshot/post thaw", "backup/post bthaw")
	if first.calls.Load() != 1 || second.calls.Load() != 1 {
		t.Errorf("performed %d times by the first driver and %d by the second", first.calls.Load(), second.calls.Load())
	}
}

// Two drivers share one NATS: every action is performed once, by one of
// them, and each stage's hooks run once.
func TestTwoDriversDriveEachActionOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pa, pb := h.performer(nil), h.performer(nil)
	da := h.startDriver(driver.Config{Performer: pa, Owner: "a"})
	db := h.startDriver(driver.Config{Performer: pb, Owner: "b"})
	const n = 6
	apps := make([]string, n)
	ids := make([]string, n)
	for i := range n {
		apps[i] = h.app(hk{name: "freeze", action: "snapshot", stage: "pre"}, hk{name: "thaw", action: "snapshot", stage: "post"})
		d := da
		if i%2 == 1 {
			d = db
		}
		ids[i] = h.create(d, driver.Action{AppID: apps[i], Kind: driver.KindSnapshot}).ID
	}
	for i := range n {
		a := h.wait(da, ids[i])
		if a.State != driver.StateCompleted || a.HookState != events.HookStateSuccess {
			t.Errorf("action %d: %+v", i, a)
		}
		wantTrace(t, h, apps[i], "snapshot/pre freeze", "perform", "snapshot/post thaw")
	}
	if got := pa.calls.Load() + pb.calls.Load(); got != n {
		t.Errorf("%d actions performed %d times (a %d, b %d)", n, got, pa.calls.Load(), pb.calls.Load())
	}
	t.Logf("driver a performed %d, driver b %d", pa.calls.Load(), pb.calls.Load())
}

// A driver that dies (its connection gone: it can neither renew nor write)
// keeps its action until the lease expires; then another driver takes it
// over from the recorded step, and the dead one's performer is canceled.
func TestDeadDriversActionTakenOverOnlyWhenLeaseExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	app := h.app(hk{name: "freeze", action: "snapshot", stage: "pre"}, hk{name: "thaw", action: "snapshot", stage: "post"})
	nc, err := h.env.Server.Connect("doomed-driver")
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	const ttl = 2 * time.Second
	entered, returned := make(chan time.Time, 1), make(chan time.Time, 1)
	doomedPerf := h.performer(blocking(entered, returned))
	doomed := h.startDriver(driver.Config{JS: js, Performer: doomedPerf, Owner: "doomed", LeaseTTL: ttl})
	id := h.create(doomed, driver.Action{AppID: app, Kind: driver.KindSnapshot}).ID
	receive(t, "perform started", entered)

	// The survivor is up before the doomed driver dies, and sees the live lease.
	takenOver := make(chan time.Time, 1)
	survivorPerf := h.performer(func(context.Context, *driver.Action) error { takenOver <- time.Now(); return nil })
	survivor := h.startDriver(driver.Config{Performer: survivorPerf, Owner: "survivor", LeaseTTL: ttl})
	nc.Close()
	last, _, err := survivor.Get(h.ctx, account, id)
	if err != nil {
		t.Fatal(err)
	}
	if last.Lease == nil || last.Lease.Owner != "doomed" || last.Step != 1 {
		t.Fatalf("action of the dead driver %+v", last)
	}

	at := receive(t, "take-over", takenOver)
	if at.Before(last.Lease.Until) {
		t.Errorf("taken over at %s, before the lease expired at %s", at.Format(time.StampMicro), last.Lease.Until.Format(time.StampMicro))
	}
	// The dead driver gave up before the survivor started: never both at once.
	if gaveUp := receive(t, "dead driver's perform canceled", returned); !gaveUp.Before(at) {
		t.Errorf("dead driver still performing at %s when the survivor started at %s", gaveUp.Format(time.StampMicro), at.Format(time.StampMicro))
	}
	a := h.wait(survivor, id)
	if a.State != driver.StateCompleted || a.HookState != events.HookStateSuccess {
		t.Fatalf("action %+v", a)
	}
	wantTrace(t, h, app, "snapshot/pre freeze", "perform", "perform", "snapshot/post thaw")
	stopWithin(t, doomed.Stop)
	if doomedPerf.calls.Load() != 1 || survivorPerf.calls.Load() != 1 {
		t.Errorf("performed %d times by the dead driver and %d by the survivor", doomedPerf.calls.Load(), survivorPerf.calls.Load())
	}
}

// With Concurrency 1, a driver drives one action at a time, oldest first,
// and the others wait pending.
func TestConcurrencyBoundsActionsDrivenAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gate := make(chan struct{})
	order := make(chan string, 3)
	p := h.performer(func(ctx context.Context, a *driver.Action) error {
		order <- a.Name
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	// Created before any driver runs, so that the first one sees them all at once.
	stopped := h.startDriver(driver.Config{})
	stopWithin(t, stopped.Stop)
	var ids []string
	for i := range 3 {
		ids = append(ids, h.create(stopped, driver.Action{AppID: h.app(), Kind: driver.KindRestore, Name: fmt.Sprintf("restore-%d", i)}).ID)
	}
	d := h.startDriver(driver.Config{Performer: p, Concurrency: 1})
	first := receive(t, "first perform", order)
	for _, id := range ids[1:] {
		a, _, err := d.Get(h.ctx, account, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.State != driver.StatePending {
			t.Errorf("action %s is %s while another is being performed", a.Name, a.State)
		}
	}
	close(gate)
	for _, id := range ids {
		if a := h.wait(d, id); a.State != driver.StateCompleted {
			t.Errorf("action %+v", a)
		}
	}
	got := []string{first, receive(t, "second perform", order), receive(t, "third perform", order)}
	if !slices.Equal(got, []string{"restore-0", "restore-1", "restore-2"}) {
		t.Errorf("performed in order %q", got)
	}
}
