package scenario_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/hookshot-dev/hookshot/internal/scenario"
)

// Every problem of a file is reported before anything runs, each with its
// file, line and field.
func ExampleParse() {
	_, err := scenario.Parse([]byte(`name: broken
apps:
  - name: db
    containers: [{namespace: ns, pod: db-0, container: mysql, image: "mysql:8.4"}]
sources:
  - {name: freeze, script: "echo frozen\n"}
hooks:
  - {name: freeze, app: db, action: snapshot, stage: during, source: freez}
steps:
  - action: snapshot
    app: db
    expect: {state: done, retries: 3}
`), "broken.yaml")
	fmt.Println(err)
	// Output:
	// broken.yaml:8: hooks[0].source: no source named "freez" (defined: freeze)
	// broken.yaml:8: hooks[0].stage: must be one of ["pre" "post"]
	// broken.yaml:12: steps[0].expect.retries: unknown field (known: state, stateUnready, hookState, abortAction, details, executions, exactly, order)
	// broken.yaml:12: steps[0].expect.state: must be completed or failed, not "done"
}

// Run runs the steps against a fresh in-process Hookshot and names every
// expectation that is not met.
func ExampleRun() {
	sc, err := scenario.Parse([]byte(`name: thaw after freeze
apps:
  - name: db
    containers: [{namespace: ns, pod: db-0, container: mysql, image: "mysql:8.4"}]
sources:
  - {name: ok, script: "echo ok\n"}
  - {name: fail, script: "echo cannot lock >&2\nexit 3\n"}
hooks:
  - {name: freeze, app: db, action: snapshot, stage: pre, source: fail, failureMode: FAIL}
  - {name: thaw, app: db, action: snapshot, stage: post, source: ok}
steps:
  - name: snapshot
    action: snapshot
    app: db
    expect:
      state: completed
      executions:
        - {hook: freeze, container: db-0/mysql, status: succeeded}
        - {hook: thaw, container: db-0/mysql, status: succeeded}
      order: [freeze, thaw]
`), "example.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := scenario.Run(context.Background(), *sc, scenario.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("passed:", rep.Passed())
	fmt.Println(strings.Join(rep.Mismatches(), "\n"))
	// Output:
	// passed: false
	// step 1 'snapshot': state = failed, want completed (stateUnready: ["pre-snapshot hook failed with failureMode FAIL: Hook freeze failed"])
	// step 1 'snapshot': executions: freeze@db-0/mysql status = failed, want succeeded
}
