// Package scenario runs replayable scenarios: an app inventory, hook
// sources, execution hooks, lifecycle steps and the outcome each step must
// have, run against a real Hookshot — an embedded NATS JetStream server in a
// temp dir, the engine, one worker and the action driver, all in process and
// fresh for every scenario. It is what test authors write in CI, and what
// `hookshot scenario run` and `hookshot replay` run.
//
// # The file format
//
// A scenario is one YAML document. Unknown keys, values of the wrong type,
// references to apps, sources or hooks that are not defined, and hooks or
// sources Hookshot itself would refuse (the matcher's and the executor's
// validation) are all reported before anything runs, each as
// file:line: field: reason.
//
//	name: mysql freeze and thaw around a snapshot   # required
//	description: free text
//	apps:                       # registered as Hookshot apps (their inventory)
//	  - name: payroll
//	    containers:
//	      - {namespace: payroll, pod: db-0, container: mysql, image: "mysql:8.4",
//	         labels: {app: payroll, tier: db}}
//	sources:                    # hook sources: an inline script, or a file
//	  - name: mysql-freeze      # relative to the scenario file
//	    file: scripts/mysql-freeze.sh
//	  - name: mysql-thaw
//	    script: |
//	      #!/bin/sh
//	      echo "thawing $HOOKSHOT_CONTAINER_NAME ($1)"
//	hooks:                      # execution hooks, by names
//	  - name: freeze
//	    app: payroll
//	    action: snapshot        # snapshot, backup (pre, post); restore, failover (post)
//	    stage: pre
//	    source: mysql-freeze
//	    arguments: [hard]
//	    criteria: [{type: containerImage, value: '\bmysql\b'}]
//	    failureMode: FAIL       # WARN (default) or FAIL
//	    timeoutSeconds: 60      # default 25 minutes
//	    enabled: true           # default true
//	    hookType: custom        # custom (default) or netapp
//	overrides:                  # a netapp hook enabled or disabled for its app
//	  - {app: payroll, hook: netapp-freeze, enabled: false}
//	steps:
//	  - name: snapshot the payroll app
//	    action: snapshot        # an action, driven through all its stages
//	    app: payroll
//	    expect:
//	      state: completed      # completed | failed (action steps)
//	      stateUnready: []      # substrings, each in some reason (action steps)
//	      hookState: success    # success | failed
//	      abortAction: false
//	      details: []           # substrings, each in some hookStateDetail
//	      executions:
//	        - {hook: freeze, container: db-0/mysql, stage: snapshot/pre,
//	           status: succeeded, exitCode: 0, output: freezing, attempt: 1}
//	      exactly: true         # default: nothing else may have run
//	      order: [freeze@db-0/mysql, thaw]
//	  - name: a controller's own event
//	    event: {action: snapshot, stage: pre, app: payroll, runID: nightly-1}
//	    expect: {hookState: success}
//
// Fields:
//
//   - A container's namespace, pod, container and image are required; labels
//     are the pod's, matched by podLabel criteria as key=value.
//   - A source gives script or file, not both. Scripts run through their
//     shebang, else /bin/sh, on the machine that runs the scenario.
//   - A hook's criteria are {type, value}: containerImage, containerName,
//     podName, podLabel, namespaceName with an RE2 regex, searched for (not
//     fully matched); several are ANDed; none matches every container.
//     enabled also takes the strings "true" and "false", as Astra spells it.
//   - An override names a hook of hookType netapp and the app it belongs to.
//   - A step is either action (snapshot|backup|restore|failover) on an app —
//     the whole action runs through its stages as POST …/appSnaps would run
//     it: snapshot/pre → snapshot/post; backup/pre → snapshot/pre →
//     snapshot/post → backup/post; restore/post; failover/post, with the
//     driver's rules (a FAIL hook aborts, post stages still run) — or event,
//     one raw lifecycle event {action, stage, app, runID, containers}. runID
//     defaults to step-<n>; event steps that share one are stages of one run.
//     containers defaults to the app's (the event then carries none and the
//     engine uses the registered app's inventory).
//   - expect checks only what it names. For an action, hookState is failed
//     when any stage's was, abortAction is set when any stage's was, and
//     details gather every stage's.
//   - executions lists executions that must have run: hook (required),
//     container ("pod/container", or "namespace/pod/container" where the
//     short form is ambiguous), stage ("action/stage" or "stage"), status
//     (succeeded|failed), exitCode, output (a substring of stdout or stderr),
//     attempt (1 for the first delivery), timedOut. With exactly (the
//     default) no other execution may have run; executions: [] says none may
//     run at all. Without executions nothing about them is checked.
//   - order lists "hook@container" or "hook" entries: every execution an
//     entry names must have started no later than every execution the next
//     entry names (by the execution results' started times).
//
// YAML anchors, aliases and merge keys (<<: *defaults) work as usual.
//
// # Running
//
// Run validates the scenario, starts the in-process Hookshot (worker
// concurrency 4, AckWait 2s, a 500 ms kill grace), stores the definitions in
// account "scenario" (IDs derive from names: UUIDv5), runs the steps in order
// and checks each outcome: the action's record or the stage result, and the
// execution results read from the results stream. Every unmet expectation
// is named in the report:
//
//	step 2 'freeze fails under FAIL': executions: freeze@db-0/mysql exitCode = 3, want 0
//	step 2 'freeze fails under FAIL': executions: missing execution thaw@db-0/mysql
//	step 2 'freeze fails under FAIL': executions: unexpected execution audit@db-0/mysql (snapshot/pre, succeeded, exit code 0)
//	step 2 'freeze fails under FAIL': order: thaw started before freeze
//
// Options.Record receives the run's event log as JSON lines (Entry):
// every lifecycle event, execution result and stage result, read back from
// the HOOKSHOT_LIFECYCLE and HOOKSHOT_RESULTS streams once the steps are
// done. Replay re-drives the recorded lifecycle events through a fresh
// Hookshot loaded with the definitions of a scenario — the same, or changed —
// and compares each stage's hookState, abortAction and executions (hook@
// container → status, exit code) with the recording.
//
// Example:
//
//	sc, err := scenario.Load("examples/scenarios/freeze-thaw.yaml")
//	if err != nil { … } // a *ValidationError: one file:line: field: reason per problem
//	var log bytes.Buffer
//	rep, err := scenario.Run(ctx, *sc, scenario.Options{Record: &log})
//	if err != nil { … }
//	if !rep.Passed() { fmt.Println(strings.Join(rep.Mismatches(), "\n")) }
//	rr, err := scenario.Replay(ctx, &log, *sc, scenario.Options{})
//	if rr.Differs() { _ = rr.WriteText(os.Stdout) }
package scenario
