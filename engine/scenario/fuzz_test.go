package scenario

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds the scenario parser arbitrary files. It must never panic
// and never run away (aliases are budgeted); what it refuses it refuses
// with a *ValidationError whose every problem names the file and a reason;
// what it accepts validates again as it is.
//
//	go test ./engine/scenario -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "scenarios", "*.yaml"))
	for _, e := range examples {
		if data, err := os.ReadFile(e); err == nil {
			f.Add(data)
		}
	}
	for _, seed := range []string{
		"",
		"name: x\n",
		"- a\n- b\n",
		"name: [unclosed\n",
		"name: a\n---\nname: b\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nname: *c\n",
		"name: x\nhooks:\n  - &h {name: a, app: b}\n  - <<: *h\n    name: c\n",
		"name: x\nsteps:\n  - event: {action: snapshot, stage: pre, app: x, runID: 'a b'}\n    expect: {executions: [{hook: h, attempt: 0, exitCode: 1.5}]}\n",
		"name: x\napps: [{name: a, containers: [{namespace: n, pod: p, container: c, image: i, labels: {k: [v]}}]}]\n",
		"name: x\nsources: [{name: s, file: ../../etc/passwd}]\n",
	} {
		f.Add([]byte(seed))
	}
	noFiles := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := parse(data, "fuzz.yaml", noFiles, true)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error %v (%T) is not a *ValidationError with problems", err, err)
			}
			for _, p := range ve.Problems {
				if p.File != "fuzz.yaml" || p.Reason == "" || p.Line < 0 {
					t.Fatalf("problem %+v", p)
				}
				if !strings.HasPrefix(p.String(), "fuzz.yaml") {
					t.Fatalf("problem string %q", p.String())
				}
			}
			return
		}
		if sc == nil {
			t.Fatal("no scenario and no error")
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("accepted, then invalid: %v", err)
		}
	})
}
