package query

import (
	"fmt"
	"testing"
)

// BenchmarkApply filters 10,000 items with two filters (a number and a
// timestamp comparison) and returns a page of 100: ns/op is the cost of
// one list request after the collection is loaded.
func BenchmarkApply(b *testing.B) {
	items := make([]map[string]any, 10000)
	for i := range items {
		items[i] = map[string]any{
			"id":       fmt.Sprintf("%08d", i),
			"n":        float64(i),
			"metadata": map[string]any{"creationTimestamp": fmt.Sprintf("2020-08-06T12:%02d:%02d.256624Z", i/60%60, i%60)},
		}
	}
	p := mustParse(b, "limit=100&filter=n%20gte%20'5000',metadata.creationTimestamp%20gt%20'2020-08-06T12:30:00Z'")
	b.ReportAllocs()
	var matched int
	for b.Loop() {
		page, err := Apply(items, p)
		if err != nil {
			b.Fatal(err)
		}
		matched = page.Count
	}
	b.ReportMetric(float64(matched), "matches")
}
