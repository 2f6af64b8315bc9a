package metrics_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hookshot-dev/hookshot/internal/metrics"
)

// scrape is one GET /metrics through the handler, parsed.
type scrape map[string]*dto.MetricFamily

func scrapeOf(t *testing.T, m *metrics.Metrics) scrape {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape: Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return fams
}

// labels is a label set written "k=v,k=v"; "" is no labels.
func labelsOf(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, l.GetName()+"="+l.GetValue())
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// metric is the series of family name with exactly labels, or nil.
func (s scrape) metric(name, labels string) *dto.Metric {
	want := strings.Split(labels, ",")
	slices.Sort(want)
	for _, m := range s[name].GetMetric() {
		if labelsOf(m) == strings.Join(want, ",") {
			return m
		}
	}
	return nil
}

// value is the counter or gauge value of a series; absent fails the test.
func (s scrape) value(t *testing.T, name, labels string) float64 {
	t.Helper()
	m := s.metric(name, labels)
	if m == nil {
		t.Fatalf("%s{%s} absent; series: %v", name, labels, s.series(name))
	}
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("%s{%s} is neither a counter nor a gauge", name, labels)
	return 0
}

// histogram is a histogram series; absent fails the test.
func (s scrape) histogram(t *testing.T, name, labels string) *dto.Histogram {
	t.Helper()
	m := s.metric(name, labels)
	if m == nil || m.Histogram == nil {
		t.Fatalf("histogram %s{%s} absent; series: %v", name, labels, s.series(name))
	}
	return m.GetHistogram()
}

// series lists the label sets of a family, for failure messages.
func (s scrape) series(name string) []string {
	var out []string
	for _, m := range s[name].GetMetric() {
		out = append(out, labelsOf(m))
	}
	return out
}

// names lists the families of the scrape.
func (s scrape) names() []string { return slices.Sorted(maps.Keys(s)) }
