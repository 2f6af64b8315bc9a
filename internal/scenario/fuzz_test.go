package scenario

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// fuzzSeeds are the seed corpus of FuzzParse: short inputs that between
// them reach every section and field of a scenario, a valid one, and the
// YAML tricks (anchors, merges, several documents) the parser must survive.
//
// They are deliberately small, and the example scenarios are not seeds
// (Run parses and runs each of them, see run_test.go). Every input that
// reaches new code is minimized by the fuzzer before it is kept, and Go's
// minimizer tries removing every substring of it: about n²/2 parses for n
// bytes. The examples are 1.5–2.5 KB, i.e. millions of parses of about a
// millisecond each in this package's large instrumented test binary, so
// with them as seeds the worker spent each -fuzzminimizetime (60 s by
// default) minimizing and fuzzed nothing: 21 executions in 40 s.
var fuzzSeeds = []string{
	"",
	"name: x\n",
	"- a\n- b\n",
	"name: [unclosed\n",
	"name: a\n---\nname: b\n",
	"name: x\nnme: y\n",
	// The smallest valid scenario.
	"name: v\napps: [{name: a}]\nsteps: [{action: backup, app: a}]\n",
	// A valid scenario with a hook that runs.
	"name: v\napps: [{name: a, containers: [{namespace: n, pod: p, container: c, image: i}]}]\n" +
		"sources: [{name: s, script: x}]\nhooks: [{name: h, app: a, action: backup, stage: pre, source: s}]\n" +
		"steps: [{action: backup, app: a, expect: {executions: [{hook: h}]}}]\n",
	"apps: [{name: a, containers: [{namespace: n, pod: p, container: c, image: i, labels: {k: v, j: [v]}}]}]\n",
	"sources: [{name: s, file: ../../etc/passwd}, {name: t, script: x, file: y}, {name: u, script: \"\\xff\"}]\n",
	"hooks: [{name: h, app: a, action: backup, stage: post, source: s, arguments: [x, 1], enabled: true}]\n",
	"hooks: [{failureMode: WARN, timeoutSeconds: 5, enabled: \"false\", hookType: netapp, description: d}]\n",
	"hooks: [{name: h, criteria: [{type: podLabel, value: '^k=v$'}, {type: namespaceName, value: '(a+)+$'}, {type: containerImage}]}]\n",
	"overrides: [{app: a, hook: h, enabled: false}, {app: a, hook: h}]\n",
	"steps: [{name: s, event: {action: restore, stage: post, app: a, runID: r-1, containers: [{namespace: n, pod: p, container: c, image: i}]}}]\n",
	"steps: [{action: failover, app: a, expect: {stateUnready: [x], hookState: failed, abortAction: true, details: [d], exactly: true, order: [h@n/p/c]}}]\n",
	"steps: [{expect: {executions: [{hook: h, container: c, stage: snapshot/pre, status: failed, exitCode: 1.5, output: o, attempt: 0, timedOut: yes}]}}]\n",
	"a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nname: *c\n",
	"name: x\nhooks:\n  - &h {name: a, app: b}\n  - <<: *h\n    name: c\n  - <<: [*h, {x: 1}]\n",
	"name: &n x\napps: [{name: *n, containers: [&c {namespace: n}, *c]}]\n",
}

// FuzzParse feeds the scenario parser arbitrary files. It must never panic
// and never run away (aliases are budgeted); what it refuses it refuses
// with a *ValidationError whose every problem names the file and a reason;
// what it accepts validates again as it is. Script files are never read:
// every file: is missing.
//
//	go test ./internal/scenario -run '^$' -fuzz '^FuzzParse$' -fuzztime 30s
func FuzzParse(f *testing.F) {
	for _, seed := range fuzzSeeds {
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

// TestFuzzSeedsReachAcceptance keeps FuzzParse's seeds honest: at least one
// of them is a valid scenario, so the fuzzer starts from the accepted path
// too, and every seed is short enough to minimize in seconds, not minutes.
func TestFuzzSeedsReachAcceptance(t *testing.T) {
	t.Parallel()
	noFiles := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	accepted := 0
	for _, seed := range fuzzSeeds {
		if len(seed) > 256 {
			t.Errorf("seed of %d bytes; keep seeds under 256 (see fuzzSeeds): %q", len(seed), seed)
		}
		if _, err := parse([]byte(seed), "fuzz.yaml", noFiles, true); err == nil {
			accepted++
		}
	}
	if accepted < 2 {
		t.Fatalf("%d seeds are valid scenarios, want at least 2", accepted)
	}
}
