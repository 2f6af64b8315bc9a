package matcher

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/events"
)

// BenchmarkMatch matches one app (5 candidate hooks) against 20 containers
// in an index holding 10 to 10,000 hooks over many apps: ns/op is the cost
// of one lifecycle event.
func BenchmarkMatch(b *testing.B) {
	inv := make([]events.Container, 20)
	for i := range inv {
		inv[i] = events.Container{
			NamespaceName:  "payroll",
			PodName:        fmt.Sprintf("pod-%d", i/2),
			PodLabels:      labels("app", []string{"mysql", "web"}[i%2], "tier", "back"),
			ContainerName:  []string{"db", "sidecar"}[i%2],
			ContainerImage: []string{"docker.io/library/mysql:8.0", "envoyproxy/envoy:v1.30"}[i%2],
		}
	}
	candidates := [][]Criterion{
		{{CriterionContainerImage, `\bmysql\b`}},
		{{CriterionPodLabel, `^app=mysql$`}, {CriterionContainerName, `^db$`}},
		{{CriterionNamespaceName, `^payroll$`}},
		{{CriterionPodName, `^pod-[0-4]$`}, {CriterionPodLabel, `^tier=back$`}},
		nil,
	}
	type pair struct {
		action Action
		stage  Stage
	}
	pairs := []pair{{ActionSnapshot, StagePost}, {ActionBackup, StagePre}, {ActionBackup, StagePost}, {ActionSnapshot, StagePre}}
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("hooks=%d", n), func(b *testing.B) {
			ix := NewIndex(Config{})
			for i, cs := range candidates {
				if err := ix.Put(testAccount, newHook(i, fmt.Sprintf("hook-%d", i), cs...)); err != nil {
					b.Fatal(err)
				}
			}
			for i := len(candidates); i < n; i++ {
				h := newHook(i, fmt.Sprintf("hook-%d", i), candidates[i%len(candidates)]...)
				h.AppID = testID(20, i/5)
				h.Action, h.Stage = pairs[i%len(pairs)].action, pairs[i%len(pairs)].stage
				if err := ix.Put(testAccount, h); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			jobs := 0
			for b.Loop() {
				res := ix.Match(testAccount, testApp, ActionSnapshot, StagePre, inv)
				if len(res.Matches) != len(candidates) {
					b.Fatalf("%d matches", len(res.Matches))
				}
				for _, m := range res.Matches {
					jobs += len(m.Containers)
				}
			}
			b.ReportMetric(float64(jobs)/float64(b.N), "jobs/op")
		})
	}
}

// catastrophic are patterns that take a backtracking engine exponential (or
// high polynomial) time on the values of catastrophicInventory. RE2 matches
// them in linear time and gives the plain answer: want says it without a
// regex.
var catastrophic = []struct {
	field   string
	pattern string
	want    func(string) bool
}{
	{CriterionPodName, `(a+)+$`, endsWithA},
	{CriterionContainerName, `(a|aa)+$`, endsWithA},
	{CriterionContainerImage, `(.*a){20}`, func(s string) bool { return strings.Count(s, "a") >= 20 }},
	{CriterionPodLabel, `^app=(a+)+$`, nil}, // want: the label value is all a
	{CriterionNamespaceName, `^(a|a?)+$`, func(s string) bool { return strings.Trim(s, "a") == "" }},
}

func endsWithA(s string) bool { return strings.HasSuffix(s, "a") }

// catastrophicInventory returns n containers whose values are as long as a
// lifecycle event allows (253 characters for names, 1024 for the image):
// runs of a that end in another character, which is what makes a
// backtracking engine try every way of splitting the run, and a few that
// match.
func catastrophicInventory(n int) []events.Container {
	cs := make([]events.Container, n)
	for i := range cs {
		run := strings.Repeat("a", 250)
		c := events.Container{
			NamespaceName:  run + "-ns",
			PodName:        fmt.Sprintf("%s-%02d", run, i),
			ContainerName:  run + "!",
			ContainerImage: strings.Repeat("a", 19) + strings.Repeat("b", 1005),
			PodLabels:      labels("app", strings.Repeat("a", 300)+"b"),
		}
		if i%5 == 0 { // matches every pattern
			c.NamespaceName = strings.Repeat("a", 253)
			c.PodName = fmt.Sprintf("%02d-%s", i, run)
			c.ContainerName = run
			c.ContainerImage = strings.Repeat("ab", 512)
			c.PodLabels = labels("app", strings.Repeat("a", 300))
		}
		cs[i] = c
	}
	return cs
}

// benign are ordinary patterns on the same attributes as catastrophic.
var benign = []Criterion{
	{CriterionPodName, `-\d+$`},
	{CriterionContainerName, `^aaa`},
	{CriterionContainerImage, `\bmysql\b`},
	{CriterionPodLabel, `^app=web$`},
	{CriterionNamespaceName, `^prod$`},
}

// BenchmarkCriteria matches and explains 10 hooks on the 20 containers of
// catastrophicInventory, with catastrophic patterns and with benign ones:
// the ratio of the two is what a hostile pattern costs over an ordinary one.
func BenchmarkCriteria(b *testing.B) {
	inv := catastrophicInventory(20)
	for _, kind := range []string{"benign", "catastrophic"} {
		ix := NewIndex(Config{})
		for i := range 10 {
			c := benign[i%len(benign)]
			if kind == "catastrophic" {
				p := catastrophic[i%len(catastrophic)]
				c = Criterion{p.field, p.pattern}
			}
			if err := ix.Put(testAccount, newHook(i, fmt.Sprintf("hook-%02d", i), c)); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("op=Match/patterns="+kind, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ix.Match(testAccount, testApp, ActionSnapshot, StagePre, inv)
			}
		})
		b.Run("op=Explain/patterns="+kind, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if xs := ix.Explain(testAccount, testApp, ActionSnapshot, StagePre, inv); len(xs) != 10 {
					b.Fatalf("%d explanations", len(xs))
				}
			}
		})
	}
}
