package matcher

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/events"
)

func TestExplain(t *testing.T) {
	t.Parallel()
	ix := NewIndex(Config{})
	mysql := newHook(1, "a-mysql", Criterion{CriterionPodLabel, "^app=mysql$"}, Criterion{CriterionContainerName, "^mysql$"})
	disabled := newHook(2, "b-disabled")
	disabled.Enabled = EnabledFalse
	post := newHook(3, "c-post", Criterion{CriterionNamespaceName, "^db$"})
	post.Stage = StagePost
	redis := newHook(4, "d-redis", Criterion{CriterionContainerImage, "redis"})
	other := newHook(5, "e-other-app")
	other.AppID = testID(1, 2)
	for _, h := range []*ExecutionHook{redis, post, other, disabled, mysql} {
		if err := ix.Put(testAccount, h); err != nil {
			t.Fatal(err)
		}
	}

	got := ix.Explain(testAccount, testApp, ActionSnapshot, StagePre, inventory)
	type summary struct {
		name, reason, message string
		wouldRun              bool
		matched               int
	}
	want := []summary{
		{"a-mysql", ReasonMatched, "would run on 1 of 4 containers", true, 1},
		{"b-disabled", ReasonDisabled, "hook is disabled; its criteria match 4 of 4 containers", false, 4},
		{"c-post", ReasonOtherActionStage, "hook runs at post-snapshot, not pre-snapshot; its criteria match 3 of 4 containers", false, 3},
		{"d-redis", ReasonNoContainerMatched, "no container matched its criteria (0 of 4 containers)", false, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("Explain returned %d explanations, want %d", len(got), len(want))
	}
	for i, w := range want {
		x := got[i]
		matched := 0
		for _, v := range x.Containers {
			if v.Matched {
				matched++
			}
		}
		if g := (summary{x.HookName, x.Reason, x.Message, x.WouldRun, matched}); g != w {
			t.Errorf("explanation %d = %+v, want %+v", i, g, w)
		}
		if x.Action != ActionSnapshot || len(x.Containers) != len(inventory) {
			t.Errorf("explanation %d: action %s, %d containers", i, x.Action, len(x.Containers))
		}
	}

	// Which criterion failed on which container, in container order.
	tests := []struct {
		container string
		matched   bool
		failed    int // -1: none
		detail    string
	}{
		{"db/mariadb-0/mariadb", false, 0, "podLabel `^app=mysql$` matched none of the labels [app=mariadb]"},
		{"db/mysql-0/exporter", false, 1, "containerName `^mysql$` did not match \"exporter\""},
		{"db/mysql-0/mysql", true, -1, "all 2 criteria matched"},
		{"web/web-7f9/nginx", false, 0, "podLabel `^app=mysql$` matched none of the labels [app=web tier=front]"},
	}
	for i, tt := range tests {
		v := got[0].Containers[i]
		failed := -1
		if v.FailedCriterion != nil {
			failed = v.FailedCriterion.Index
			if c := mysql.MatchingCriteria[failed]; v.FailedCriterion.Criterion != c {
				t.Errorf("%s: FailedCriterion = %+v, want %+v", tt.container, v.FailedCriterion, c)
			}
		}
		if v.Container.Key() != tt.container || v.Matched != tt.matched || failed != tt.failed || v.Detail != tt.detail {
			t.Errorf("verdict %d = {%s %v %d %q}, want %+v", i, v.Container.Key(), v.Matched, failed, v.Detail, tt)
		}
	}
	if d := got[1].Containers[0].Detail; d != "no criteria: every container matches" {
		t.Errorf("detail without criteria = %q", d)
	}

	b, err := json.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"reason":"matched"`, `"failedCriterion":{"index":1,"type":"containerName","value":"^mysql$"}`, `"wouldRun":true`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("JSON %s lacks %s", b, s)
		}
	}
}

func TestExplainEdges(t *testing.T) {
	t.Parallel()
	ix := NewIndex(Config{})
	if got := ix.Explain(testAccount, testApp, ActionSnapshot, StagePre, inventory); got != nil {
		t.Errorf("Explain of an app without hooks = %v", got)
	}
	if err := ix.Put(testAccount, newHook(1, "x", Criterion{CriterionPodLabel, "^app=db$"})); err != nil {
		t.Fatal(err)
	}
	got := ix.Explain(testAccount, testApp, ActionSnapshot, StagePre, nil)
	if len(got) != 1 || got[0].Reason != ReasonNoContainerMatched || got[0].Message != "the app has no containers" {
		t.Errorf("Explain without containers = %+v", got)
	}
	unlabelled := slices.Clone(inventory[:1])
	unlabelled[0].PodLabels = nil
	got = ix.Explain(testAccount, testApp, ActionSnapshot, StagePre, unlabelled)
	if d := got[0].Containers[0].Detail; d != "podLabel `^app=db$` matched no label: the pod has no labels" {
		t.Errorf("detail = %q", d)
	}
}

func TestOverridesEnableAndDisableForOneApp(t *testing.T) {
	t.Parallel()
	ix := NewIndex(Config{})
	app := "7be5ae7c-151d-4230-ac39-ac1d0b33c2a9"
	on := &ExecutionHook{Type: MediaType, Version: "1.3", ID: "11111111-1111-4111-8111-111111111111", Name: "a-netapp-on", HookType: HookTypeNetApp,
		Action: ActionSnapshot, Stage: StagePre, HookSourceID: "22222222-2222-4222-8222-222222222222", AppID: app, Enabled: EnabledTrue}
	off := on.Clone()
	off.ID, off.Name, off.Enabled = "33333333-3333-4333-8333-333333333333", "b-netapp-off", EnabledFalse
	for _, h := range []*ExecutionHook{on, off} {
		if err := ix.Put("acct", h); err != nil {
			t.Fatal(err)
		}
	}
	cs := []events.Container{{NamespaceName: "ns", PodName: "p", ContainerName: "c", ContainerImage: "i"}}
	names := func() []string {
		var out []string
		for _, m := range ix.Match("acct", app, ActionSnapshot, StagePre, cs).Matches {
			out = append(out, m.Hook.Name)
		}
		return out
	}
	if got := names(); len(got) != 1 || got[0] != "a-netapp-on" {
		t.Fatalf("without overrides: %v", got)
	}
	ix.SetOverride("acct", app, on.ID, false)
	ix.SetOverride("acct", app, off.ID, true)
	if got := names(); len(got) != 1 || got[0] != "b-netapp-off" {
		t.Fatalf("with overrides: %v", got)
	}
	xs := ix.Explain("acct", app, ActionSnapshot, StagePre, cs)
	if xs[0].Reason != ReasonOverridden || xs[0].WouldRun || !xs[1].WouldRun {
		t.Fatalf("explain: %+v", xs)
	}
	// Another account's override changes nothing here.
	ix.SetOverride("other", app, on.ID, true)
	ix.ClearOverride("acct", app, on.ID)
	if got := names(); len(got) != 2 {
		t.Fatalf("after clearing one override: %v", got)
	}
}
