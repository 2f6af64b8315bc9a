package matcher

import (
	"fmt"
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
	pairs := [][2]string{{ActionSnapshot, StagePost}, {ActionBackup, StagePre}, {ActionBackup, StagePost}, {ActionSnapshot, StagePre}}
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
				h.Action, h.Stage = pairs[i%len(pairs)][0], pairs[i%len(pairs)][1]
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
