package matcher

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/events"
)

// TestRE2Semantics pins what a criterion means, edge by edge. Criteria are
// RE2, searched for (not anchored) in the attribute. Until criteria were
// matched with Go's regexp they ran on regexp2 in RE2 mode, which agreed on
// everything here except the rows marked regexp2: there it departed from
// RE2, and the criterion now means what RE2 (and Astra's documentation)
// says.
func TestRE2Semantics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, value string
		want           bool
		regexp2        string // what regexp2 answered when it differed
	}{
		// A search, case sensitive, unless the pattern anchors or says (?i).
		{pattern: `mysql`, value: "docker.io/library/mysql:8.0", want: true},
		{pattern: `^mysql$`, value: "mysql-0", want: false},
		{pattern: `\bmysql\b`, value: "mysql-exporter", want: true},
		{pattern: `MYSQL`, value: "mysql", want: false},
		{pattern: `(?i)MYSQL`, value: "mysql", want: true},
		{pattern: `(?i)é`, value: "É", want: true},
		{pattern: `(?i)k`, value: "\u212a", want: true}, // Kelvin sign
		// $ is the end of the text, not before a final newline; (?m) makes
		// ^ and $ line anchors, on \n only.
		{pattern: `c$`, value: "abc\n", want: false},
		{pattern: `c\z`, value: "abc\n", want: false},
		{pattern: `(?m)c$`, value: "abc\n", want: true},
		{pattern: `^b`, value: "a\nb", want: false},
		{pattern: `(?m)^b`, value: "a\nb", want: true},
		{pattern: `(?m)a$`, value: "a\r\n", want: false},
		// . is any character but \n; (?s) takes \n too.
		{pattern: `a.b`, value: "a\nb", want: false},
		{pattern: `(?s)a.b`, value: "a\nb", want: true},
		{pattern: `a.b`, value: "a\rb", want: true},
		// Perl classes are ASCII; \p classes are Unicode.
		{pattern: `\w`, value: "é", want: false},
		{pattern: `\d`, value: "٣", want: false},
		{pattern: `\s`, value: "\u00a0", want: false},
		{pattern: `\s`, value: "\v", want: false},
		{pattern: `[[:alpha:]]`, value: "é", want: false},
		{pattern: `\pL`, value: "é", want: true},
		{pattern: `\p{Greek}`, value: "α", want: true},
		{pattern: `\p{Lu}`, value: "É", want: true},
		{pattern: `\p{^L}`, value: "1", want: true}, // regexp2 refused to compile it
		// An invalid UTF-8 byte is U+FFFD, one character.
		{pattern: `^.$`, value: "\xff", want: true},
		{pattern: `\x{FFFD}`, value: "\xff", want: true},
		// {,n} is literal text.
		{pattern: `a{,3}`, value: "a{,3}", want: true},
		{pattern: `a{,3}`, value: "aaa", want: false},

		// Where regexp2 departed from RE2.
		// \b and \B are ASCII word boundaries (regexp2: Unicode letters).
		{pattern: `a\b`, value: "aé", want: true, regexp2: "false"},
		{pattern: `\bé`, value: " é", want: false, regexp2: "true"},
		{pattern: `\B`, value: "é", want: true, regexp2: "false"},
		// (?i) folds by Unicode simple case folding (regexp2: lowercasing).
		{pattern: `(?i)s`, value: "ſ", want: true, regexp2: "false"},
		{pattern: `(?i)σ`, value: "ς", want: true, regexp2: "false"},
		{pattern: `(?i)i`, value: "İ", want: false, regexp2: "true"},
		// \Q…\E quotes (regexp2: the letters Q and E).
		{pattern: `\QA.B\E`, value: "A.B", want: true, regexp2: "false"},
		{pattern: `\QA.B\E`, value: "AxB", want: false},
		// POSIX classes are ASCII (regexp2: Unicode spaces and digits).
		{pattern: `[[:space:]]`, value: "\u00a0", want: false, regexp2: "true"},
		{pattern: `[[:digit:]]`, value: "٣", want: false, regexp2: "true"},
		// A regexp2 bug: a repeated negated \p class before a \p class.
		{pattern: `\PL*\p{Lu}`, value: "S", want: true, regexp2: "false"},
	}
	ix := NewIndex(Config{})
	for i, tt := range tests {
		h := newHook(i, "x", Criterion{CriterionPodName, tt.pattern})
		c := events.Container{NamespaceName: "ns", PodName: tt.value, ContainerName: "c", ContainerImage: "i"}
		got, err := ix.MatchingContainers(h, []events.Container{c})
		if err != nil {
			t.Errorf("%q: %v", tt.pattern, err)
			continue
		}
		if matched := len(got) == 1; matched != tt.want {
			t.Errorf("`%s` on %q = %v, want %v", tt.pattern, tt.value, matched, tt.want)
		}
	}

	// A podLabel criterion is searched for in each "key=value", one label
	// at a time.
	c := events.Container{NamespaceName: "ns", PodName: "p", ContainerName: "c", ContainerImage: "i",
		PodLabels: labels("app", "mysql", "tier", "back")}
	for _, tt := range []struct {
		pattern string
		want    bool
	}{
		{`^app=mysql$`, true}, {`^tier=`, true}, {`=back$`, true}, {`^mysql$`, false},
		{`mysql.*back`, false}, {`(?s)mysql.*back`, false}, {`(?m)^tier=back$`, true},
	} {
		got, err := ix.MatchingContainers(newHook(1, "x", Criterion{CriterionPodLabel, tt.pattern}), []events.Container{c})
		if err != nil || (len(got) == 1) != tt.want {
			t.Errorf("podLabel `%s` = %v, %v; want %v", tt.pattern, got, err, tt.want)
		}
	}
}

// wantCatastrophic says, without a regex, whether criterion k of
// catastrophic selects c.
func wantCatastrophic(k int, c *events.Container) bool {
	p := catastrophic[k]
	switch p.field {
	case CriterionPodName:
		return p.want(c.PodName)
	case CriterionContainerName:
		return p.want(c.ContainerName)
	case CriterionContainerImage:
		return p.want(c.ContainerImage)
	case CriterionNamespaceName:
		return p.want(c.NamespaceName)
	default:
		return slices.ContainsFunc(c.PodLabels, func(l events.Label) bool {
			return l.Name == "app" && l.Value != "" && strings.Trim(l.Value, "a") == ""
		})
	}
}

// TestCatastrophicPatterns stores 10 hooks with catastrophic patterns and
// matches and explains them on 20 containers: every verdict is RE2's answer,
// none is an error, and no hook is left out.
func TestCatastrophicPatterns(t *testing.T) {
	t.Parallel()
	ix := NewIndex(Config{})
	const hooks = 10
	for i := range hooks {
		p := catastrophic[i%len(catastrophic)]
		if err := ix.Put(testAccount, newHook(i, fmt.Sprintf("evil-%02d", i), Criterion{p.field, p.pattern})); err != nil {
			t.Fatal(err)
		}
	}
	inv := catastrophicInventory(20)
	want := func(hook int) []string { // keys of the containers hook selects
		var out []string
		for i := range inv {
			if wantCatastrophic(hook%len(catastrophic), &inv[i]) {
				out = append(out, inv[i].Key())
			}
		}
		slices.Sort(out)
		return out
	}

	before := ix.Evaluations()
	res := ix.Match(testAccount, testApp, ActionSnapshot, StagePre, inv)
	if got := ix.Evaluations() - before; got != hooks {
		t.Errorf("Match evaluated %d hooks, want %d", got, hooks)
	}
	if len(res.Matches) != hooks {
		t.Fatalf("Match = %d hooks, want %d", len(res.Matches), hooks)
	}
	for i, m := range res.Matches {
		got := keys(m.Containers)
		slices.Sort(got)
		if w := want(i); !slices.Equal(got, w) || len(w) != 4 {
			t.Errorf("%s: %d containers %q, want the 4 of %q", m.Hook.Name, len(got), got, w)
		}
	}

	xs := ix.Explain(testAccount, testApp, ActionSnapshot, StagePre, inv)
	if len(xs) != hooks {
		t.Fatalf("Explain = %d hooks, want %d", len(xs), hooks)
	}
	for i, x := range xs {
		if x.Reason != ReasonMatched || !x.WouldRun || x.Message != "would run on 4 of 20 containers" {
			t.Errorf("%s: %s %v %q", x.HookName, x.Reason, x.WouldRun, x.Message)
		}
		for _, v := range x.Containers {
			if w := wantCatastrophic(i%len(catastrophic), &v.Container); v.Matched != w || (v.FailedCriterion == nil) != w {
				t.Errorf("%s on %s: matched %v (%s), want %v", x.HookName, v.Container.Key(), v.Matched, v.Detail, w)
			}
		}
	}

	// The same patterns against values that are nothing but the run: all match.
	all := []events.Container{{NamespaceName: strings.Repeat("a", 253), PodName: strings.Repeat("a", 253),
		ContainerName: strings.Repeat("a", 253), ContainerImage: strings.Repeat("a", 1024), PodLabels: labels("app", strings.Repeat("a", 63))}}
	if res := ix.Match(testAccount, testApp, ActionSnapshot, StagePre, all); len(res.Matches) != hooks {
		t.Errorf("on runs of a: %d hooks matched, want %d", len(res.Matches), hooks)
	}
}
