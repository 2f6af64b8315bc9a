package matcher

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/hookshot-dev/hookshot/events"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given Config
		want  Config
	}{
		{name: "zero", given: Config{}, want: Config{CacheSize: 4096}},
		{name: "negative", given: Config{CacheSize: -1}, want: Config{CacheSize: 4096}},
		{name: "set", given: Config{CacheSize: 2}, want: Config{CacheSize: 2}},
	}
	for _, tt := range tests {
		if got := tt.given.withDefaults(); got != tt.want {
			t.Errorf("%s: withDefaults() = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestIndexPutGetDelete(t *testing.T) {
	t.Parallel()
	ix := NewIndex(Config{})
	h := newHook(1, "freeze", Criterion{CriterionPodLabel, "^app=mysql$"})
	if err := ix.Put(testAccount, h); err != nil {
		t.Fatal(err)
	}
	// The index keeps a private copy.
	h.Name = "changed"
	h.MatchingCriteria[0].Value = "^app=web$"
	got, ok := ix.Get(testAccount, h.ID)
	if !ok || got.Name != "freeze" || got.MatchingCriteria[0].Value != "^app=mysql$" {
		t.Fatalf("Get = %+v, %v", got, ok)
	}
	got.Arguments[0] = "changed"
	if again, _ := ix.Get(testAccount, h.ID); again.Arguments[0] != "freeze" {
		t.Error("Get returned the stored hook, not a copy")
	}
	if _, ok := ix.Get("acct-2", h.ID); ok {
		t.Error("Get found a hook of another account")
	}
	if ix.Len() != 1 {
		t.Errorf("Len() = %d, want 1", ix.Len())
	}

	// Replace: new app, action and stage; the old buckets forget it.
	moved := newHook(1, "thaw")
	moved.AppID, moved.Action, moved.Stage = testID(1, 9), ActionRestore, StagePost
	if err := ix.Put(testAccount, moved); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 1 {
		t.Errorf("Len() after replace = %d, want 1", ix.Len())
	}
	if res := ix.Match(testAccount, testApp, ActionSnapshot, StagePre, inventory); len(res.Matches) != 0 {
		t.Errorf("old bucket still matches: %v", names(res.Matches))
	}
	if hs := ix.HooksForApp(testAccount, testApp); len(hs) != 0 {
		t.Errorf("HooksForApp(old app) = %d hooks", len(hs))
	}
	res := ix.Match(testAccount, moved.AppID, ActionRestore, StagePost, inventory)
	if got := names(res.Matches); !slices.Equal(got, []string{"thaw"}) {
		t.Errorf("new bucket = %q", got)
	}

	// Disable in place: Match forgets it, HooksForApp and Explain keep it.
	moved.Enabled = EnabledFalse
	if err := ix.Put(testAccount, moved); err != nil {
		t.Fatal(err)
	}
	if res := ix.Match(testAccount, moved.AppID, ActionRestore, StagePost, inventory); len(res.Matches) != 0 {
		t.Errorf("disabled hook matched")
	}
	if hs := ix.HooksForApp(testAccount, moved.AppID); len(hs) != 1 || hs[0].Enabled != EnabledFalse {
		t.Errorf("HooksForApp = %+v", hs)
	}
	moved.Enabled = EnabledTrue
	if err := ix.Put(testAccount, moved); err != nil {
		t.Fatal(err)
	}
	if res := ix.Match(testAccount, moved.AppID, ActionRestore, StagePost, inventory); len(res.Matches) != 1 {
		t.Errorf("re-enabled hook did not match")
	}

	ix.Delete(testAccount, "unknown")
	ix.Delete("acct-2", moved.ID)
	if ix.Len() != 1 {
		t.Errorf("Delete of an unknown hook removed something")
	}
	ix.Delete(testAccount, moved.ID)
	if _, ok := ix.Get(testAccount, moved.ID); ok || ix.Len() != 0 {
		t.Error("Delete left the hook")
	}
	if res := ix.Match(testAccount, moved.AppID, ActionRestore, StagePost, inventory); len(res.Matches) != 0 {
		t.Error("deleted hook matched")
	}
	if len(ix.byApp) != 0 || len(ix.byStage) != 0 {
		t.Errorf("empty buckets left: %d apps, %d stages", len(ix.byApp), len(ix.byStage))
	}
}

func TestIndexPutErrors(t *testing.T) {
	t.Parallel()
	noID := newHook(1, "x")
	noID.ID = ""
	noIDBadName := newHook(1, "")
	noIDBadName.ID = ""
	tests := []struct {
		name       string
		account    string
		given      *ExecutionHook
		wantErr    error
		wantFields []string
	}{
		{name: "no account", given: newHook(1, "x"), wantErr: ErrAccountRequired},
		{name: "nil hook", account: testAccount, wantErr: ErrInvalidHook},
		{name: "no id", account: testAccount, given: noID, wantErr: ErrInvalidHook, wantFields: []string{"id"}},
		{name: "no id and no name", account: testAccount, given: noIDBadName, wantErr: ErrInvalidHook, wantFields: []string{"id", "name"}},
		{name: "bad regex", account: testAccount, given: newHook(1, "x", Criterion{CriterionPodName, "a)"}),
			wantErr: ErrInvalidHook, wantFields: []string{"matchingCriteria[0].value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ix := NewIndex(Config{})
			err := ix.Put(tt.account, tt.given)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put() = %v, want %v", err, tt.wantErr)
			}
			var ve *ValidationError
			if tt.wantFields != nil {
				if !errors.As(err, &ve) {
					t.Fatalf("Put() = %v, want a *ValidationError", err)
				}
				var got []string
				for _, f := range ve.Fields {
					got = append(got, f.Field)
				}
				if !slices.Equal(got, tt.wantFields) {
					t.Errorf("fields = %q, want %q", got, tt.wantFields)
				}
			}
			if ix.Len() != 0 {
				t.Error("an invalid hook was stored")
			}
		})
	}
}

// TestIndexManyHooks stores 10,000 hooks over 500 apps and checks that Match
// returns exactly the hooks built to match.
func TestIndexManyHooks(t *testing.T) {
	t.Parallel()
	const apps, perApp = 500, 20
	type pair struct {
		action Action
		stage  Stage
	}
	pairs := []pair{{ActionSnapshot, StagePre}, {ActionSnapshot, StagePost}, {ActionBackup, StagePre},
		{ActionBackup, StagePost}, {ActionRestore, StagePost}, {ActionFailover, StagePost}}
	ix := NewIndex(Config{})
	wants := map[string][]string{} // app → expected hook names for snapshot/pre, in order
	wantContainers := map[string][]string{}
	for a := range apps {
		app := testID(10, a)
		for i := range perApp {
			n := a*perApp + i
			h := newHook(n, fmt.Sprintf("hook-%02d", perApp-i)) // stored in reverse name order
			h.AppID = app
			h.Action, h.Stage = pairs[n%len(pairs)].action, pairs[n%len(pairs)].stage
			if n%7 == 0 {
				h.Enabled = EnabledFalse
			}
			switch n % 3 {
			case 0:
				h.MatchingCriteria = []Criterion{{CriterionContainerName, "^db$"}}
			case 1:
				h.MatchingCriteria = []Criterion{{CriterionContainerName, "^db$"}, {CriterionNamespaceName, "^elsewhere$"}}
			}
			if err := ix.Put(testAccount, h); err != nil {
				t.Fatal(err)
			}
			if h.Action == ActionSnapshot && h.Stage == StagePre && h.IsEnabled() && n%3 != 1 {
				wants[app] = append(wants[app], h.Name)
				wantContainers[app+h.Name] = []string{"ns/p-db/db"}
				if n%3 == 2 {
					wantContainers[app+h.Name] = []string{"ns/p-db/db", "ns/p-web/web"}
				}
			}
		}
	}
	if ix.Len() != apps*perApp {
		t.Fatalf("Len() = %d", ix.Len())
	}
	inv := []events.Container{
		{NamespaceName: "ns", PodName: "p-web", ContainerName: "web", ContainerImage: "web:1"},
		{NamespaceName: "ns", PodName: "p-db", ContainerName: "db", ContainerImage: "db:1"},
	}
	total := 0
	for a := range apps {
		app := testID(10, a)
		res := ix.Match(testAccount, app, ActionSnapshot, StagePre, inv)
		want := wants[app]
		slices.Sort(want)
		if got := names(res.Matches); !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("app %d: Match = %q, want %q", a, got, want)
		}
		for _, m := range res.Matches {
			if m.Hook.AppID != app {
				t.Fatalf("app %d: got a hook of app %s", a, m.Hook.AppID)
			}
			if got := keys(m.Containers); !slices.Equal(got, wantContainers[app+m.Hook.Name]) {
				t.Fatalf("app %d hook %s: containers %q, want %q", a, m.Hook.Name, got, wantContainers[app+m.Hook.Name])
			}
		}
		total += len(res.Matches)
		if hs := ix.HooksForApp(testAccount, app); len(hs) != perApp {
			t.Fatalf("app %d: HooksForApp = %d hooks", a, len(hs))
		}
	}
	if total == 0 {
		t.Fatal("nothing matched at all")
	}
	if n := ix.cache.len(); n != 2 {
		t.Errorf("cache holds %d patterns, want the 2 shared ones", n)
	}
}

func TestRegexCacheBounded(t *testing.T) {
	t.Parallel()
	c := newRegexCache(8)
	for i := range 100 {
		re, err := c.compile(fmt.Sprintf("^p%d$", i))
		if err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprintf("p%d", i); !re.MatchString(s) {
			t.Fatalf("^p%d$ did not match %s", i, s)
		}
	}
	if n := c.len(); n != 8 {
		t.Errorf("cache len = %d, want 8", n)
	}
	a, _ := c.compile("same")
	b, _ := c.compile("same")
	if a != b {
		t.Error("a cached pattern was compiled twice")
	}
	if _, err := c.compile("("); err == nil {
		t.Error("bad pattern compiled")
	}
}

// TestIndexConcurrent runs Put, Delete, Match and Explain together; run it
// with -race.
func TestIndexConcurrent(t *testing.T) {
	t.Parallel()
	ix := NewIndex(Config{CacheSize: 16})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				h := newHook(w*1000+i%20, fmt.Sprintf("h-%d", i%20), Criterion{CriterionPodName, fmt.Sprintf("-%d$", i%30)})
				if i%5 == 0 {
					h.Enabled = EnabledFalse
				}
				if err := ix.Put(testAccount, h); err != nil {
					t.Error(err)
					return
				}
				if i%11 == 0 {
					ix.Delete(testAccount, h.ID)
				}
			}
		})
		wg.Go(func() {
			for range 200 {
				res := ix.Match(testAccount, testApp, ActionSnapshot, StagePre, inventory)
				if !slices.IsSortedFunc(res.Matches, func(a, b Match) int {
					return cmpHooks(a.Hook, b.Hook)
				}) {
					t.Error("Match out of order")
					return
				}
				ix.Explain(testAccount, testApp, ActionSnapshot, StagePre, inventory)
				ix.HooksForApp(testAccount, testApp)
			}
		})
	}
	wg.Wait()
}

func cmpHooks(a, b *ExecutionHook) int {
	return compareEntries(&entry{hook: a}, &entry{hook: b})
}

// The size limit is checked when a hook is written: a hook stored before
// the limit existed still indexes and matches, rather than silently not
// running.
func TestIndexKeepsAStoredHookOverTheSizeLimit(t *testing.T) {
	t.Parallel()
	big := Criterion{CriterionContainerName, `a{999}a{999}a|^mysql$`}
	h := newHook(1, "old", big)
	if err := h.Validate(); err == nil {
		t.Fatal("a criterion over the size limit validates")
	}
	ix := NewIndex(Config{})
	if err := ix.Put(testAccount, h); err != nil {
		t.Fatalf("Put of a stored hook over the size limit: %v", err)
	}
	res := ix.Match(testAccount, testApp, ActionSnapshot, StagePre, []events.Container{
		{NamespaceName: "ns", PodName: "db-0", ContainerName: "mysql", ContainerImage: "mysql:8"}})
	if len(res.Matches) != 1 || res.Matches[0].Hook.Name != "old" {
		t.Fatalf("matches %+v", res.Matches)
	}
}
