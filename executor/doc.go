// Package executor owns what a hook is and how it runs: the Astra hook source
// model (base64 script, MD5 checksum, limits and script rules), the Runner
// interface, LocalRunner, which runs a script as a local process group with
// a timeout and bounded output capture, and ContainerRunner, which runs it
// inside a container through a ContainerExecer (Docker's Engine API exec,
// DockerExecer; Kubernetes' pods/exec, KubeExecer) with the same semantics.
// It knows nothing of NATS or of any other Hookshot package.
//
// # Sources
//
// A HookSource is an Astra hookSource 1.0. Its source is standard, padded
// base64 of at most 131072 characters; the decoded script must be text: no
// carriage return, no NUL, no invalid UTF-8, no C0 control character other
// than tab, line feed, vertical tab, form feed and escape. Its
// sourceMD5Checksum is the MD5 of the base64 text (Checksum), computed by the
// server (Seal) and checked again before every run (Script):
//
//	src := executor.NewScriptSource("quiesce", []byte("#!/bin/sh\nfsfreeze -f \"$1\"\n"))
//	if err := src.Validate(); err != nil {
//		var verr *executor.ValidationError
//		errors.As(err, &verr) // verr.Fields names every bad field
//	}
//	script, err := src.Script() // ErrChecksumMismatch if the source changed
//
// # Running
//
// A Runner runs one script with its arguments ($1 … $n) and environment and
// returns an Outcome: exit code or signal, timeout or cancelation, the
// captured stdout and stderr, timings. What the hook did is data; Run's error
// is kept for failures of the runner itself.
//
//	runner, err := executor.NewLocalRunner(executor.LocalConfig{})
//	out, err := runner.Run(ctx, executor.Spec{
//		Script:  script,
//		Args:    []string{"/var/lib/mysql"},
//		Env:     map[string]string{"HOOKSHOT_RUN_ID": runID},
//		Timeout: 25 * time.Minute,
//	})
//	if err == nil && !out.Succeeded() {
//		log.Print(out.Reason(), out.Stderr.Text)
//	}
//
// LocalRunner (Linux only) writes the script to a private temporary file and
// runs it through its "#!" line, else with /bin/sh, in a process group of
// its own, started by the process's one reaper helper (a child subreaper).
// The hook sees only PATH, HOME, the variables of Spec.Env and its run tag,
// never the runner's own environment, which may hold credentials. On timeout
// or cancelation the group gets SIGTERM, then SIGKILL after a grace period;
// when the script exits, everything it started is killed, even in another
// session, and when the process running the LocalRunner dies, the reaper
// kills every hook process it started. Each of
// stdout and stderr keeps its first and last OutputLimit/2 bytes, with a
// marker line counting what was left out between them.
//
// ContainerRunner does the same inside spec.Target's container. One exec
// runs a POSIX sh bootstrap with the script on its stdin: it reports its PID,
// writes the script to a private directory (the first writable of $TMPDIR,
// /tmp, /dev/shm, /var/tmp), runs it through its "#!" interpreter or the
// shell with stdin from /dev/null and the Spec's environment, kills what the
// script left in its process group, and removes the directory. Container
// runtimes start an exec'd process as a session leader, so on timeout or
// cancelation a second exec sends SIGTERM, then SIGKILL, to that whole
// process group inside the container, not just to the client's stream. A
// container that has no shell, is not running, is gone, or stops mid-run
// gives an Outcome saying exactly that (StartError or Aborted).
//
// Choices the Astra API leaves open:
//   - The hook's HOME and default working directory are its private run
//     directory, removed with the script after the run.
//   - A hook cannot leave processes behind: when its main process exits,
//     every process it started is killed, including those that called
//     setsid or double-forked. A long-lived service must be handed to a
//     service manager.
//   - Spec.Timeout ending a run sets Outcome.TimedOut; ctx ending it, by
//     cancelation or by its own deadline, sets Outcome.Canceled.
//   - A hook that exits 0 after being signaled for a timeout or cancelation
//     did not succeed.
//   - sourceMD5Checksum is compared ignoring case (its pattern allows upper
//     case hex); Seal writes lower case.
//   - Any source matching Astra's base64 pattern is accepted, including
//     non-zero padding bits, as the schema allows.
package executor
