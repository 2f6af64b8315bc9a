package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"
)

func appV2(name string) store.App {
	return store.App{Name: name, Version: "2.2", ClusterID: "aad2c18d-c82c-53bd-bfd5-31a4710c2dd2",
		NamespaceScopedResources: []events.NamespaceSelector{{Namespace: "payroll", LabelSelectors: []string{"app in (db)"}}}}
}

func TestCheckAppV2NamesEveryField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		given func(*store.App)
		want  []string // fields, "!" marks an extended one
	}{
		{"valid", func(*store.App) {}, nil},
		{"everything wrong", func(a *store.App) {
			a.Name, a.Version, a.ClusterID = "", "1.0", ""
			a.NamespaceScopedResources = []events.NamespaceSelector{
				{Namespace: "UPPER"}, {Namespace: "ok", LabelSelectors: []string{"a b"}}, {Namespace: "ok"},
			}
		}, []string{"name", "version", "clusterID", "namespaceScopedResources[0].namespace",
			"!namespaceScopedResources[1].labelSelectors[0]", "!namespaceScopedResources[2].namespace"}},
		{"no namespace", func(a *store.App) { a.NamespaceScopedResources = nil }, []string{"namespaceScopedResources"}},
		{"empty selector", func(a *store.App) { a.NamespaceScopedResources[0].LabelSelectors = []string{" "} },
			[]string{"!namespaceScopedResources[0].labelSelectors[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := appV2("payroll")
			tc.given(&app)
			err := store.CheckAppV2(&app)
			var got []string
			var ve *matcher.ValidationError
			if errors.As(err, &ve) {
				for _, f := range ve.Fields {
					name := f.Field
					if f.Extended {
						name = "!" + name
					}
					got = append(got, name)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("fields %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("fields %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// SetAppStatus is a compare-and-set: a status computed from an old read
// never overwrites a newer change.
func TestSetAppStatusCompareAndSet(t *testing.T) {
	t.Parallel()
	ctx, st := openStore(t)
	e, err := st.CreateAppV2(ctx, account, appV2("payroll"), "tester")
	if err != nil {
		t.Fatal(err)
	}
	if e.Value.State != store.AppStateDiscovering {
		t.Fatalf("state %q at creation", e.Value.State)
	}
	renamed, err := st.RenameAppV2(ctx, account, e.ID, "payroll-eu", nil, 0, "tester")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	if _, err := st.SetAppStatus(ctx, account, e.ID, e.Revision, store.AppStatus{State: store.AppStateReady, Collected: at}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale status: %v, want ErrConflict", err)
	}
	done, err := st.SetAppStatus(ctx, account, e.ID, renamed.Revision, store.AppStatus{State: store.AppStateReady, Collected: at})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Apps.Get(ctx, account, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != done.Revision || got.Value.Name != "payroll-eu" || got.Value.State != store.AppStateReady ||
		!got.Value.LastResourceCollection.Equal(at) || got.Value.Metadata.ModificationTimestamp != renamed.Value.Metadata.ModificationTimestamp {
		t.Fatalf("after status: %+v", got.Value)
	}
	// A failed collection keeps the last collection time.
	if _, err := st.SetAppStatus(ctx, account, e.ID, got.Revision, store.AppStatus{State: store.AppStateUnavailable}); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.Apps.Get(ctx, account, e.ID); !again.Value.LastResourceCollection.Equal(at) || again.Value.State != store.AppStateUnavailable {
		t.Fatalf("after a failed collection: %+v", again.Value)
	}
	// Names are shared with static apps.
	if _, err := st.CreateApp(ctx, account, store.App{Name: "payroll-eu"}, "tester"); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("static app with an app 2.x's name: %v", err)
	}
}
