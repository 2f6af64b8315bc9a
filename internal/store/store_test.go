package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"
)

// TestMain fails the package if a Watch, or anything else, outlives its test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const account = "acct"

// openStore starts a real embedded NATS, provisions it and opens a store.
func openStore(t *testing.T) (context.Context, *store.Store) {
	t.Helper()
	env := natstest.Start(t)
	ctx := natstest.Context(t, time.Minute)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, st
}

func saveSource(t *testing.T, ctx context.Context, st *store.Store, account, name string) *store.SourceRecord {
	t.Helper()
	rec, err := st.SaveSource(ctx, account, *executor.NewScriptSource(name, []byte("#!/bin/sh\necho "+name+"\n")), "tester")
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func hook(name, sourceID string) matcher.ExecutionHook {
	return matcher.ExecutionHook{
		Type: matcher.MediaType, Version: matcher.CurrentVersion, HookType: matcher.HookTypeCustom,
		Name: name, AppID: uuid.NewString(), Action: events.ActionSnapshot, Stage: events.StagePre, HookSourceID: sourceID,
	}
}

func TestSaveSourceComputesChecksumAndAssignsID(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)
	src := executor.NewScriptSource("freeze", []byte("#!/bin/sh\necho frozen\n"))
	want := src.SourceMD5Checksum
	src.SourceMD5Checksum = "" // the server computes it, whatever the client sent
	rec, err := st.SaveSource(ctx, account, *src, "tester")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Source.SourceMD5Checksum != want || want != executor.Checksum(src.Source) {
		t.Errorf("checksum %q, want %q", rec.Source.SourceMD5Checksum, want)
	}
	if _, err := uuid.Parse(rec.Source.ID); err != nil {
		t.Errorf("assigned id %q is not a UUID: %v", rec.Source.ID, err)
	}
	if rec.Metadata.CreatedBy != "tester" || rec.Metadata.CreationTimestamp == "" || rec.Metadata.CreationTimestamp != rec.Metadata.ModificationTimestamp {
		t.Errorf("metadata %+v", rec.Metadata)
	}
	got, err := st.Sources.Get(ctx, account, rec.Source.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Value.Source != rec.Source || got.Revision == 0 {
		t.Errorf("stored %+v (revision %d), saved %+v", got.Value.Source, got.Revision, rec.Source)
	}
}

func TestSaveHookRefusesSourceMissingFromAccount(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)
	// The source exists, but in another account: that is no source at all.
	other := saveSource(t, ctx, st, "other", "elsewhere")

	for _, tt := range []struct {
		name     string
		sourceID string
	}{
		{"no such source anywhere", uuid.NewString()},
		{"source of another account", other.Source.ID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := hook("freeze", tt.sourceID)
			h.ID = uuid.NewString()
			_, err := st.SaveHook(ctx, account, h, "tester")
			var ve *matcher.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "hookSourceID" || !ve.Fields[0].Extended {
				t.Fatalf("err %v, want a ValidationError naming hookSourceID", err)
			}
			if _, err := st.Hooks.Get(ctx, account, h.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("refused hook: Get = %v, want ErrNotFound", err)
			}
		})
	}
	if hooks, err := st.Hooks.List(ctx, account); err != nil || len(hooks) != 0 {
		t.Fatalf("hooks stored after refusals: %d (%v)", len(hooks), err)
	}
}

func TestSecondSaveKeepsCreationMetadata(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)
	src := saveSource(t, ctx, st, account, "freeze")
	first, err := st.SaveHook(ctx, account, hook("freeze", src.Source.ID), "alice")
	if err != nil {
		t.Fatal(err)
	}
	// Timestamps have microsecond resolution: make sure the clock moved.
	for deadline := time.Now().Add(time.Second); store.Timestamp(time.Now()) == first.Metadata.ModificationTimestamp; {
		if time.Now().After(deadline) {
			t.Fatal("clock does not move")
		}
	}

	again := first.Hook
	again.Arguments = []string{"hard"}
	second, err := st.SaveHook(ctx, account, again, "bob")
	if err != nil {
		t.Fatal(err)
	}
	m1, m2 := first.Metadata, second.Metadata
	if m2.CreationTimestamp != m1.CreationTimestamp || m2.CreatedBy != "alice" {
		t.Errorf("creation changed: %+v, was %+v", m2, m1)
	}
	if m2.ModificationTimestamp == m1.ModificationTimestamp || m2.ModificationTimestamp < m1.ModificationTimestamp || m2.ModifiedBy != "bob" {
		t.Errorf("modification not recorded: %+v, was %+v", m2, m1)
	}
	got, err := st.Hooks.Get(ctx, account, first.Hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Value.Metadata.CreationTimestamp != m1.CreationTimestamp || got.Value.Metadata.ModificationTimestamp != m2.ModificationTimestamp ||
		!slices.Equal(got.Value.Hook.Arguments, []string{"hard"}) {
		t.Errorf("stored %+v", got.Value)
	}
}

func TestUpdateWithStaleRevisionConflicts(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)
	app := store.App{ID: uuid.NewString(), Name: "payroll"}
	rev1, err := st.Apps.Create(ctx, account, app.ID, app)
	if err != nil {
		t.Fatal(err)
	}
	app.Name = "payroll-2"
	rev2, err := st.Apps.Update(ctx, account, app.ID, app, rev1)
	if err != nil || rev2 <= rev1 {
		t.Fatalf("update at the current revision: rev %d, %v", rev2, err)
	}
	app.Name = "payroll-3"
	if _, err := st.Apps.Update(ctx, account, app.ID, app, rev1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update at a stale revision: %v, want ErrConflict", err)
	}
	got, err := st.Apps.Get(ctx, account, app.ID)
	if err != nil || got.Value.Name != "payroll-2" || got.Revision != rev2 {
		t.Fatalf("after the refused update: %+v, %v", got, err)
	}

	// The same through the resource-level update.
	src := saveSource(t, ctx, st, account, "freeze")
	e, err := st.Sources.Get(ctx, account, src.Source.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveSource(ctx, account, src.Source, "tester"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateSource(ctx, account, e.Value, e.Revision, "tester"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UpdateSource at a stale revision: %v, want ErrConflict", err)
	}
}

func TestConcurrentCreateOfOneIDHasOneWinner(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)
	const writers = 20
	for _, tt := range []struct {
		name   string
		create func(id string, i int) error
		stored func(id string) (string, error)
	}{{
		name: "collection",
		create: func(id string, i int) error {
			_, err := st.Apps.Create(ctx, account, id, store.App{ID: id, Name: fmt.Sprintf("writer-%d", i)})
			return err
		},
		stored: func(id string) (string, error) {
			e, err := st.Apps.Get(ctx, account, id)
			if err != nil {
				return "", err
			}
			return e.Value.Name, nil
		},
	}, {
		name: "CreateSource",
		create: func(id string, i int) error {
			src := executor.NewScriptSource("freeze", []byte(fmt.Sprintf("echo writer-%d\n", i)))
			src.ID = id
			_, err := st.CreateSource(ctx, account, store.SourceRecord{Source: *src}, fmt.Sprintf("writer-%d", i))
			return err
		},
		stored: func(id string) (string, error) {
			e, err := st.Sources.Get(ctx, account, id)
			if err != nil {
				return "", err
			}
			return e.Value.Metadata.CreatedBy, nil
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			id := uuid.NewString()
			errs := make([]error, writers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					<-start
					errs[i] = tt.create(id, i)
				})
			}
			close(start)
			wg.Wait()

			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Errorf("writers %d and %d both created %s", winner, i, id)
				case err == nil:
					winner = i
				case !errors.Is(err, store.ErrExists):
					t.Errorf("writer %d: %v, want ErrExists", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no writer created it")
			}
			if got, err := tt.stored(id); err != nil || got != fmt.Sprintf("writer-%d", winner) {
				t.Fatalf("stored by %q (%v), winner was writer-%d", got, err, winner)
			}
		})
	}
}

func TestListAndGetStayInTheAccount(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)
	// "acct-ab" starts with "acct-a": only whole key tokens may match.
	mine := []string{"c-" + uuid.NewString(), "a-" + uuid.NewString(), "b-" + uuid.NewString()}
	for i, id := range mine {
		if _, err := st.Apps.Create(ctx, "acct-a", id, store.App{ID: id, Name: fmt.Sprint("mine-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	theirs := "a0-" + uuid.NewString()
	for _, acct := range []string{"acct-ab", "other"} {
		if _, err := st.Apps.Create(ctx, acct, theirs, store.App{ID: theirs, Name: "theirs"}); err != nil {
			t.Fatal(err)
		}
	}

	list, err := st.Apps.List(ctx, "acct-a")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range list {
		if e.Account != "acct-a" || e.ID != e.Value.ID {
			t.Errorf("entry %+v", e)
		}
		ids = append(ids, e.ID)
	}
	want := slices.Sorted(slices.Values(mine))
	if !slices.Equal(ids, want) {
		t.Fatalf("listed %q, want %q", ids, want)
	}
	if empty, err := st.Apps.List(ctx, "nobody"); err != nil || len(empty) != 0 {
		t.Fatalf("list of an empty account: %v, %v", empty, err)
	}

	if _, err := st.Apps.Get(ctx, "acct-a", theirs); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of another account's id: %v, want ErrNotFound", err)
	}
	if err := st.Apps.Delete(ctx, "acct-a", theirs, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete of another account's id: %v, want ErrNotFound", err)
	}
	if _, err := st.Apps.Get(ctx, "other", theirs); err != nil {
		t.Fatalf("the other account's app: %v", err)
	}
}

func TestDeleteWithStaleRevisionFails(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)

	t.Run("collection", func(t *testing.T) {
		id := uuid.NewString()
		rev1, err := st.Apps.Create(ctx, account, id, store.App{ID: id, Name: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		rev2, err := st.Apps.Update(ctx, account, id, store.App{ID: id, Name: "v2"}, rev1)
		if err != nil {
			t.Fatal(err)
		}
		// Unlike Update, a stale Delete is not reported as ErrConflict (see
		// the review note); that it fails and deletes nothing is what holds.
		if err := st.Apps.Delete(ctx, account, id, rev1); err == nil {
			t.Fatal("delete at a stale revision succeeded")
		}
		if got, err := st.Apps.Get(ctx, account, id); err != nil || got.Revision != rev2 {
			t.Fatalf("after the refused delete: %+v, %v", got, err)
		}
		if err := st.Apps.Delete(ctx, account, id, rev2); err != nil {
			t.Fatalf("delete at the current revision: %v", err)
		}
		if _, err := st.Apps.Get(ctx, account, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
		if err := st.Apps.Delete(ctx, account, id, 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
	})

	t.Run("hook", func(t *testing.T) {
		src := saveSource(t, ctx, st, account, "freeze")
		first, err := st.SaveHook(ctx, account, hook("freeze", src.Source.ID), "tester")
		if err != nil {
			t.Fatal(err)
		}
		e, err := st.Hooks.Get(ctx, account, first.Hook.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveHook(ctx, account, first.Hook, "tester"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteHook(ctx, account, first.Hook.ID, e.Revision); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("DeleteHook at a stale revision: %v, want ErrConflict", err)
		}
		if _, err := st.Hooks.Get(ctx, account, first.Hook.ID); err != nil {
			t.Fatalf("after the refused delete: %v", err)
		}
	})
}

// watchEvent is one call of a Watch callback, as text: "put <id> <name>",
// "delete <id>" or "ready".
type watchEvent = string

func TestWatchDeliversExistingThenReadyThenChanges(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)
	a, b := "a-"+uuid.NewString(), "b-"+uuid.NewString()
	revA, err := st.Apps.Create(ctx, account, a, store.App{ID: a, Name: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apps.Create(ctx, "other", b, store.App{ID: b, Name: "second"}); err != nil {
		t.Fatal(err)
	}

	got := make(chan watchEvent, 16)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- st.Apps.Watch(wctx, func(acct, id string, v *store.App) {
			if v == nil {
				got <- "delete " + acct + "." + id
				return
			}
			got <- "put " + acct + "." + id + " " + v.Name
		}, func() { got <- "ready" })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch ended with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("watch did not end with its context")
		}
	})
	next := func(want watchEvent) {
		t.Helper()
		select {
		case e := <-got:
			if e != want {
				t.Fatalf("watch delivered %q, want %q", e, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("watch delivered nothing, want %q", want)
		}
	}

	next("put " + account + "." + a + " first")
	next("put other." + b + " second")
	next("ready")
	if _, err := st.Apps.Update(ctx, account, a, store.App{ID: a, Name: "renamed"}, revA); err != nil {
		t.Fatal(err)
	}
	next("put " + account + "." + a + " renamed")
	if err := st.Apps.Delete(ctx, "other", b, 0); err != nil {
		t.Fatal(err)
	}
	next("delete other." + b)
	select {
	case e := <-got:
		t.Fatalf("unexpected %q", e)
	default:
	}
}

func TestInvalidAccountOrIDIsErrInvalidKey(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)
	good := uuid.NewString()
	app := store.App{ID: good, Name: "x"}
	for _, tt := range []struct {
		name        string
		account, id string
	}{
		{"empty account", "", good},
		{"empty id", account, ""},
		{"dot in account", "a.b", good},
		{"dot in id", account, "x.y"},
		{"wildcard account", "*", good},
		{"full wildcard id", account, ">"},
		{"space", account, "a b"},
		{"not ASCII", "compte-é", good},
		{"129 characters", account, strings.Repeat("x", 129)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ops := map[string]error{}
			_, ops["Get"] = st.Apps.Get(ctx, tt.account, tt.id)
			_, ops["Create"] = st.Apps.Create(ctx, tt.account, tt.id, app)
			_, ops["Update"] = st.Apps.Update(ctx, tt.account, tt.id, app, 1)
			_, ops["Put"] = st.Apps.Put(ctx, tt.account, tt.id, app)
			ops["Delete"] = st.Apps.Delete(ctx, tt.account, tt.id, 0)
			if tt.id == good {
				_, ops["List"] = st.Apps.List(ctx, tt.account)
				_, ops["SaveSource"] = st.SaveSource(ctx, tt.account, *executor.NewScriptSource("s", []byte("exit 0\n")), "tester")
			}
			for op, err := range ops {
				if !errors.Is(err, store.ErrInvalidKey) {
					t.Errorf("%s(%q, %q): %v, want ErrInvalidKey", op, tt.account, tt.id, err)
				}
			}
		})
	}
}

// A delete without a revision deletes what is there, even while another
// writer (the app-state collector) keeps changing the resource; with a
// revision it is a compare-and-set.
func TestDeleteWithoutRevisionWinsOverConcurrentWrites(t *testing.T) {
	ctx, st := openStore(t)
	for i := range 5 {
		a, err := st.CreateApp(ctx, "acct", store.App{Name: fmt.Sprintf("busy-%d", i)}, "tester")
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				// As the collector writes: compare-and-set, a few times
				// a millisecond.
				if e, err := st.Apps.Get(ctx, "acct", a.ID); err == nil {
					e.Value.State = fmt.Sprintf("state-%d", e.Revision)
					_, _ = st.Apps.Update(ctx, "acct", a.ID, e.Value, e.Revision)
				}
				time.Sleep(time.Millisecond)
			}
		}()
		time.Sleep(20 * time.Millisecond)
		err = st.DeleteApp(ctx, "acct", a.ID, 0)
		close(stop)
		<-done
		if err != nil {
			t.Fatalf("delete %d without a revision while the app is written: %v", i, err)
		}
	}
}
