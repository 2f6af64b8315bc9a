package fault

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Splice rewrites what lies between the markers and nothing else, and
// refuses a document without exactly one pair.
func TestSpliceTouchesOnlyBetweenMarkers(t *testing.T) {
	doc := "# head\nhand-written\n" + BeginMarker + "\nold table\n" + EndMarker + "\n## Fuzzing\nlater\n"
	out, err := Splice(doc, "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# head\nhand-written\n" + BeginMarker + "\nnew table\n" + EndMarker + "\n## Fuzzing\nlater\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	again, err := Splice(out, "new table\n")
	if err != nil || again != out {
		t.Fatalf("not idempotent: %v\n%s", err, again)
	}
	for _, bad := range []string{"no markers", EndMarker + BeginMarker, BeginMarker + EndMarker + BeginMarker + EndMarker} {
		if _, err := Splice(bad, "x"); err == nil {
			t.Errorf("Splice(%q) accepted", bad)
		}
	}
}

// Record appends JSON lines; Load keeps the last figures of a scenario.
func TestRecordAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "figures.jsonl")
	t.Setenv(EnvReport, path)
	for _, f := range []Figures{{Scenario: "a", Profile: "short", Runs: 1}, {Scenario: "b", Profile: "short"}, {Scenario: "a", Profile: "short", Runs: 2}} {
		f.Stamp()
		if err := Record(f); err != nil {
			t.Fatal(err)
		}
	}
	figs, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 || figs[0].Scenario != "a" || figs[0].Runs != 2 || figs[1].Scenario != "b" { // unknown scenarios keep their order
		t.Fatalf("loaded %+v", figs)
	}
	if table := Table(figs); strings.Count(table, "\n") != 4 {
		t.Fatalf("table:\n%s", table)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
