package scenario_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/internal/scenario"
)

// examplesDir is examples/scenarios, found from this package's directory.
func examplesDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// run loads and runs the scenario file at path.
func run(t *testing.T, path string, opts scenario.Options) *scenario.Report {
	t.Helper()
	sc, err := scenario.Load(path)
	if err != nil {
		t.Fatalf("load %s:\n%v", path, err)
	}
	rep, err := scenario.Run(testContext(t), *sc, opts)
	if err != nil {
		t.Fatalf("run %s: %v", path, err)
	}
	return rep
}

// Every shipped example passes.
func TestScenarioExamplesPass(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir(t), "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("%d examples in %s, want at least 6", len(files), examplesDir(t))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			t.Parallel()
			rep := run(t, f, scenario.Options{})
			if !rep.Passed() {
				var b strings.Builder
				_ = rep.WriteText(&b)
				t.Fatalf("example does not pass:\n%s", b.String())
			}
			head, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(head), "# ") {
				t.Errorf("%s has no comment header saying what it shows", f)
			}
		})
	}
}

// wrongOnPurpose expects what does not happen, in every way at once.
const wrongOnPurpose = `name: wrong on purpose
apps:
  - name: db
    containers:
      - {namespace: ns, pod: db-0, container: mysql, image: "mysql:8.4"}
sources:
  - {name: fail, script: "echo cannot lock >&2; exit 3\n"}
  - {name: ok, script: "echo ok\n"}
hooks:
  - {name: freeze, app: db, action: snapshot, stage: pre, source: fail, failureMode: FAIL}
  - {name: audit, app: db, action: snapshot, stage: pre, source: ok}
  - {name: thaw, app: db, action: snapshot, stage: post, source: ok}
  - {name: never, app: db, action: snapshot, stage: post, source: ok, criteria: [{type: containerImage, value: postgres}]}
steps:
  - name: freeze fails under FAIL
    action: snapshot
    app: db
    expect:
      state: completed
      stateUnready: [audit]
      hookState: success
      abortAction: false
      details: [timed out]
      executions:
        - {hook: freeze, container: db-0/mysql, status: succeeded, exitCode: 0}
        - {hook: thaw, container: db-0/mysql, output: nope}
        - {hook: never, container: db-0/mysql}
      order: [thaw, freeze]
`

// A wrong expectation fails the scenario with a message naming the step and
// what differs, in words.
func TestScenarioWrongExpectationNamesEveryMismatch(t *testing.T) {
	t.Parallel()
	rep := run(t, writeScenario(t, "wrong.yaml", wrongOnPurpose), scenario.Options{})
	if rep.Passed() {
		t.Fatal("a scenario with wrong expectations passed")
	}
	const step = "step 1 'freeze fails under FAIL': "
	want := []string{
		step + `state = failed, want completed (stateUnready: ["pre-snapshot hook failed with failureMode FAIL: Hook freeze failed"])`,
		step + `stateUnready: no reason contains "audit" (reasons: ["pre-snapshot hook failed with failureMode FAIL: Hook freeze failed"])`,
		step + "hookState = failed, want success",
		step + "abortAction = true, want false",
		step + `details: no hookStateDetail contains "timed out" (details: ["hook \"freeze\" failed in container ns/db-0/mysql (image mysql:8.4): exit code 3; stderr: cannot lock"])`,
		step + "executions: freeze@db-0/mysql status = failed, want succeeded",
		step + "executions: freeze@db-0/mysql exitCode = 3, want 0",
		step + `executions: thaw@db-0/mysql output does not contain "nope" (stdout "ok\n", stderr "")`,
		step + "executions: missing execution never@db-0/mysql",
		step + "executions: unexpected execution audit@db-0/mysql (snapshot/pre, succeeded, exit code 0)",
		step + "order: freeze started before thaw",
	}
	got := rep.Mismatches()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mismatches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text.String(), "FAIL  ") || !strings.Contains(text.String(), "  FAIL  step 1 'freeze fails under FAIL': failed, hookState failed, abortAction, 3 executions") ||
		!strings.Contains(text.String(), want[6]) {
		t.Fatalf("text report:\n%s", text.String())
	}
}

// TestScenarioUnreachableServerIsAnError: a scenario against a NATS that
// does not answer ends in an error naming it, not a panic.
func TestScenarioUnreachableServerIsAnError(t *testing.T) {
	sc, err := scenario.Load(filepath.Join(examplesDir(t), "freeze-thaw.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = scenario.Run(testContext(t), *sc, scenario.Options{NATSURL: "nats://127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "cannot reach NATS at nats://127.0.0.1:1") {
		t.Fatalf("err %v", err)
	}
}
