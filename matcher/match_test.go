package matcher

import (
	"errors"
	"slices"
	"testing"

	"github.com/hookshot-dev/hookshot/events"
)

func TestMatchCriteria(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given []Criterion
		want  []string // container keys, in order
	}{
		{name: "no criteria matches every container", given: nil,
			want: []string{"db/mariadb-0/mariadb", "db/mysql-0/exporter", "db/mysql-0/mysql", "web/web-7f9/nginx"}},
		{name: "containerImage is a search", given: []Criterion{{CriterionContainerImage, `\bmariadb\b`}},
			want: []string{"db/mariadb-0/mariadb"}},
		{name: "containerImage word boundary", given: []Criterion{{CriterionContainerImage, `\bmysql\b`}},
			want: []string{"db/mysql-0/mysql"}},
		{name: "containerImage prefix", given: []Criterion{{CriterionContainerImage, `mysql`}},
			want: []string{"db/mysql-0/exporter", "db/mysql-0/mysql"}},
		{name: "containerName anchored", given: []Criterion{{CriterionContainerName, `^mysql$`}},
			want: []string{"db/mysql-0/mysql"}},
		{name: "podName", given: []Criterion{{CriterionPodName, `-0$`}},
			want: []string{"db/mariadb-0/mariadb", "db/mysql-0/exporter", "db/mysql-0/mysql"}},
		{name: "namespaceName", given: []Criterion{{CriterionNamespaceName, `^web$`}},
			want: []string{"web/web-7f9/nginx"}},
		{name: "podLabel on key=value", given: []Criterion{{CriterionPodLabel, `^app=mysql$`}},
			want: []string{"db/mysql-0/exporter", "db/mysql-0/mysql"}},
		{name: "podLabel any label", given: []Criterion{{CriterionPodLabel, `^tier=`}},
			want: []string{"db/mysql-0/exporter", "db/mysql-0/mysql", "web/web-7f9/nginx"}},
		{name: "podLabel does not span labels", given: []Criterion{{CriterionPodLabel, `mysql.*back`}}},
		{name: "podLabel is not the bare value", given: []Criterion{{CriterionPodLabel, `^mysql$`}}},
		{name: "AND on the same container", given: []Criterion{{CriterionPodLabel, `^app=mysql$`}, {CriterionContainerName, `^mysql$`}},
			want: []string{"db/mysql-0/mysql"}},
		{name: "AND each satisfied by a different container", given: []Criterion{
			{CriterionContainerName, `^nginx$`}, {CriterionNamespaceName, `^db$`}}},
		{name: "case sensitive by default", given: []Criterion{{CriterionContainerName, `NGINX`}}},
		{name: "inline flags", given: []Criterion{{CriterionContainerName, `(?i)NGINX`}},
			want: []string{"web/web-7f9/nginx"}},
	}
	ix := NewIndex(Config{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHook(i, tt.name, tt.given...)
			got, err := ix.MatchingContainers(h, inventory)
			if err != nil {
				t.Fatal(err)
			}
			if gk := keys(got); !slices.Equal(gk, tt.want) && len(gk)+len(tt.want) > 0 {
				t.Errorf("MatchingContainers = %q, want %q", gk, tt.want)
			}

			// Match through a stored hook gives the same containers.
			stored := NewIndex(Config{})
			if err := stored.Put(testAccount, h); err != nil {
				t.Fatal(err)
			}
			res := stored.Match(testAccount, testApp, ActionSnapshot, StagePre, inventory)
			switch {
			case len(tt.want) == 0 && len(res.Matches) != 0:
				t.Errorf("Match = %v, want no match", res.Matches)
			case len(tt.want) > 0 && (len(res.Matches) != 1 || !slices.Equal(keys(res.Matches[0].Containers), tt.want)):
				t.Errorf("Match = %+v, want %q", res.Matches, tt.want)
			}
		})
	}
}

func TestMatchSelectsHooks(t *testing.T) {
	t.Parallel()
	ix := NewIndex(Config{})
	put := func(h *ExecutionHook) {
		t.Helper()
		if err := ix.Put(testAccount, h); err != nil {
			t.Fatal(err)
		}
	}
	put(newHook(1, "b-freeze-mysql", Criterion{CriterionPodLabel, `^app=mysql$`}))
	put(newHook(2, "a-all"))
	put(newHook(3, "c-nothing", Criterion{CriterionContainerName, `^redis$`}))
	disabled := newHook(4, "a-disabled")
	disabled.Enabled = EnabledFalse
	put(disabled)
	post := newHook(5, "a-post")
	post.Stage = StagePost
	put(post)
	backup := newHook(6, "a-backup")
	backup.Action = ActionBackup
	put(backup)
	otherApp := newHook(7, "a-other-app")
	otherApp.AppID = testID(1, 2)
	put(otherApp)
	// Same name as b-freeze-mysql: ordered by id after it.
	twin := newHook(0, "b-freeze-mysql", Criterion{CriterionContainerName, `^exporter$`})
	put(twin)
	if err := ix.Put("acct-2", newHook(8, "a-other-account")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name         string
		account, app string
		action       Action
		stage        Stage
		containers   []events.Container
		want         []string
	}{
		{name: "pre snapshot", account: testAccount, app: testApp, action: ActionSnapshot, stage: StagePre,
			containers: inventory, want: []string{"a-all", "b-freeze-mysql", "b-freeze-mysql"}},
		{name: "post snapshot", account: testAccount, app: testApp, action: ActionSnapshot, stage: StagePost,
			containers: inventory, want: []string{"a-post"}},
		{name: "pre backup", account: testAccount, app: testApp, action: ActionBackup, stage: StagePre,
			containers: inventory, want: []string{"a-backup"}},
		{name: "no hooks for this stage", account: testAccount, app: testApp, action: ActionRestore, stage: StagePost,
			containers: inventory},
		{name: "no containers", account: testAccount, app: testApp, action: ActionSnapshot, stage: StagePre},
		{name: "other account", account: "acct-2", app: testApp, action: ActionSnapshot, stage: StagePre,
			containers: inventory, want: []string{"a-other-account"}},
		{name: "unknown account", account: "acct-3", app: testApp, action: ActionSnapshot, stage: StagePre,
			containers: inventory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := ix.Match(tt.account, tt.app, tt.action, tt.stage, tt.containers)
			if got := names(res.Matches); !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("Match = %q, want %q", got, tt.want)
			}
		})
	}

	res := ix.Match(testAccount, testApp, ActionSnapshot, StagePre, inventory)
	if got := res.Matches[1].Hook.ID; got != twin.ID {
		t.Errorf("same-name hooks: first id = %s, want %s", got, twin.ID)
	}
	if got := keys(res.Matches[2].Containers); !slices.Equal(got, []string{"db/mysql-0/exporter", "db/mysql-0/mysql"}) {
		t.Errorf("containers = %q", got)
	}
	// The returned hook is a copy.
	res.Matches[0].Hook.Name = "changed"
	res.Matches[0].Hook.Arguments[0] = "changed"
	if h, _ := ix.Get(testAccount, res.Matches[0].Hook.ID); h.Name != "a-all" || h.Arguments[0] != "freeze" {
		t.Errorf("stored hook changed through a Match result: %+v", h)
	}
	// The inventory is not reordered.
	if inventory[0].ContainerName != "nginx" {
		t.Error("Match sorted the caller's inventory")
	}
}

func TestMatchDeterministic(t *testing.T) {
	t.Parallel()
	ix := NewIndex(Config{})
	for i, name := range []string{"delta", "alpha", "charlie", "bravo", "alpha"} {
		if err := ix.Put(testAccount, newHook(100-i, name)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"alpha", "alpha", "bravo", "charlie", "delta"}
	first := ix.Match(testAccount, testApp, ActionSnapshot, StagePre, inventory)
	reversed := slices.Clone(inventory)
	slices.Reverse(reversed)
	for range 20 {
		res := ix.Match(testAccount, testApp, ActionSnapshot, StagePre, reversed)
		if got := names(res.Matches); !slices.Equal(got, want) {
			t.Fatalf("order = %q, want %q", got, want)
		}
		for i, m := range res.Matches {
			if m.Hook.ID != first.Matches[i].Hook.ID || !slices.Equal(keys(m.Containers), keys(first.Matches[i].Containers)) {
				t.Fatalf("match %d differs between calls", i)
			}
		}
	}
}

func TestMatchingImages(t *testing.T) {
	t.Parallel()
	ix := NewIndex(Config{})
	inv := append(slices.Clone(inventory), events.Container{NamespaceName: "db", PodName: "mysql-1",
		ContainerName: "mysql", ContainerImage: "docker.io/library/mysql:8.0"})
	tests := []struct {
		name    string
		given   *ExecutionHook
		want    []string
		wantErr error
	}{
		{name: "distinct and sorted", given: newHook(1, "x", Criterion{CriterionNamespaceName, "^db$"}),
			want: []string{"docker.io/bitnami/mariadb:11.2", "docker.io/library/mysql:8.0", "prom/mysqld-exporter:v0.15"}},
		{name: "none", given: newHook(1, "x", Criterion{CriterionNamespaceName, "^kube-system$"}), want: []string{}},
		{name: "invalid hook", given: newHook(1, "x", Criterion{CriterionNamespaceName, "("}), wantErr: ErrInvalidHook},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, err := ix.MatchingContainers(tt.given, inv)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := Images(cs); err == nil && (got == nil || !slices.Equal(got, tt.want)) {
				t.Errorf("Images = %q, want %q", got, tt.want)
			}
		})
	}
	cs, err := ix.MatchingContainers(newHook(1, "x", Criterion{CriterionPodName, "nope"}), inv)
	if err != nil || cs == nil || len(cs) != 0 {
		t.Errorf("MatchingContainers = %v, %v; want an empty, non-nil slice", cs, err)
	}
	if got := Images(nil); got == nil || len(got) != 0 {
		t.Errorf("Images(nil) = %#v, want an empty, non-nil slice", got)
	}
}
