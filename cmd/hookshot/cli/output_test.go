package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/matcher"
)

// TestOutputID: -o id prints the id of a resource, or of every item of a
// list, one a line, for scripts; where there is none it says so.
func TestOutputID(t *testing.T) {
	o := &outputFlag{format: "id"}
	for _, tt := range []struct {
		name  string
		given any
		want  string
	}{
		{"resource", map[string]any{"id": "a1", "name": "x"}, "a1\n"},
		{"api list", map[string]any{"items": []map[string]any{{"id": "a1"}, {"id": "b2"}}, "metadata": map[string]any{}}, "a1\nb2\n"},
		{"slice", []map[string]any{{"id": "a1"}, {"id": "b2"}}, "a1\nb2\n"},
		{"empty list", map[string]any{"items": []any{}}, ""},
		{"runs", []map[string]any{{"runID": "r-1", "appID": "a"}, {"runID": "r-2"}}, "r-1\nr-2\n"},
	} {
		var b bytes.Buffer
		if err := o.print(&b, tt.given, nil); err != nil || b.String() != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.name, b.String(), err, tt.want)
		}
	}
	if err := o.print(&bytes.Buffer{}, map[string]any{"hookState": "success"}, nil); err == nil {
		t.Error("-o id of something without an id: no error")
	}
}

// TestExplainOfADiscoveredAppWithNoContainer: explain says in which
// cluster nothing was found, and the server's message why.
func TestExplainOfADiscoveredAppWithNoContainer(t *testing.T) {
	var b bytes.Buffer
	err := printExplanation(&b, &explanation{AppID: "a1", Action: "snapshot", Stage: "pre", ClusterName: "prod-eu",
		Message: "no container of cluster prod-eu matches the app's namespaces and label selectors",
		Hooks:   []matcher.Explanation{{HookName: "freeze", Action: "snapshot", Stage: "pre", Reason: matcher.ReasonNoContainerMatched}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(no container of the app was found in cluster prod-eu)", "on the app's 0 containers in cluster prod-eu.",
		"no container of cluster prod-eu matches"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}
