package store_test

import (
	"errors"
	"testing"

	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"
)

// TestCustomHookNamesAreUniquePerApp: NetApp's tooling copies an app's
// hooks to another app under the same names, so a custom hook's name is
// unique within its app; netapp hooks stay unique within the account.
func TestCustomHookNamesAreUniquePerApp(t *testing.T) {
	ctx, st := openStore(t)
	src := saveSource(t, ctx, st, account, "freeze")
	create := func(h matcher.ExecutionHook) (*store.Entry[store.HookRecord], error) {
		return st.CreateHook(ctx, account, store.HookRecord{Hook: h}, "tester")
	}

	first := hook("freeze", src.Source.ID)
	if _, err := create(first); err != nil {
		t.Fatal(err)
	}
	other := hook("freeze", src.Source.ID) // another app
	if _, err := create(other); err != nil {
		t.Fatalf("the same name in another app: %v", err)
	}
	same := hook("freeze", src.Source.ID)
	same.AppID = first.AppID
	if _, err := create(same); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("the same name in the same app: %v, want ErrNameTaken", err)
	}

	// Renaming into a name taken in the app is refused; moving a hook to
	// another app where its name is free is not.
	e, err := create(func() matcher.ExecutionHook { h := hook("thaw", src.Source.ID); h.AppID = first.AppID; return h }())
	if err != nil {
		t.Fatal(err)
	}
	rec := e.Value
	rec.Hook.Name = "freeze"
	if _, err := st.UpdateHook(ctx, account, rec, 0, "tester"); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("rename to a name taken in the app: %v, want ErrNameTaken", err)
	}

	netapp := func(app string) matcher.ExecutionHook {
		h := hook("netapp-quiesce", src.Source.ID)
		h.HookType, h.AppID = matcher.HookTypeNetApp, app
		return h
	}
	if _, err := create(netapp(first.AppID)); err != nil {
		t.Fatal(err)
	}
	if _, err := create(netapp(other.AppID)); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("a netapp hook's name in another app: %v, want ErrNameTaken", err)
	}
}
