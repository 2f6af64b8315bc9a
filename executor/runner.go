package executor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults of a Spec.
const (
	// DefaultKillGrace is how long a hook has to exit after SIGTERM before it
	// gets SIGKILL.
	DefaultKillGrace = 5 * time.Second
	// DefaultOutputLimit is how many bytes of each of stdout and stderr are
	// kept.
	DefaultOutputLimit = 64 << 10
)

// Runner runs one hook script and reports what happened.
//
// Run returns an error only when it could not do its job (it could not create
// the temporary script, the host could not fork, the Spec is malformed). What
// the hook did — exit code, signal, timeout, cancelation, a script that could
// not even start — is data in the Outcome, with a nil error. Run returns only
// after the hook's processes are gone and its goroutines have ended.
type Runner interface {
	Run(ctx context.Context, spec Spec) (Outcome, error)
}

// Spec is one run of a hook script.
type Spec struct {
	// Script is the decoded hook source (HookSource.Script). A script that
	// starts with "#!" runs through its interpreter; any other runs with
	// /bin/sh.
	Script []byte
	// Args are the script's arguments, $1 … $n.
	Args []string
	// Env is added to the minimal base environment (PATH and HOME, see
	// LocalRunner) and overrides it. The runner's own environment is not
	// passed on: it may hold credentials the hook must not see.
	Env map[string]string
	// Timeout bounds the run; when it passes the hook's process group gets
	// SIGTERM, then SIGKILL after KillGrace. Zero means no limit beyond ctx.
	Timeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL. Defaults to
	// DefaultKillGrace (5s).
	KillGrace time.Duration
	// OutputLimit is how many bytes of each stream are kept: the first half
	// and the last half, the middle replaced by a marker line. Defaults to
	// DefaultOutputLimit (64 KiB).
	OutputLimit int
	// Dir is the working directory. Defaults to the run's private temporary
	// directory, removed after the run.
	Dir string
	// Target is the container the hook runs in, for runners that run hooks
	// in containers (ContainerRunner). LocalRunner ignores it.
	Target Target
}

// Target names the container a hook runs in.
type Target struct {
	// Cluster is the name of the cluster the container lives in; it only
	// appears in messages.
	Cluster string
	// Namespace is the Kubernetes namespace, or the compose project of a
	// Docker container.
	Namespace string
	// Pod is the Kubernetes pod, or the Docker container's name.
	Pod string
	// Container is the container of the pod (Kubernetes), or the compose
	// service of a Docker container (informational).
	Container string
}

// String names the target as messages do: cluster/namespace/pod/container.
func (t Target) String() string {
	return t.Cluster + "/" + t.Namespace + "/" + t.Pod + "/" + t.Container
}

func (s Spec) withDefaults() Spec {
	s.KillGrace = cmp.Or(s.KillGrace, DefaultKillGrace)
	s.OutputLimit = cmp.Or(s.OutputLimit, DefaultOutputLimit)
	return s
}

func (s Spec) validate() error {
	switch {
	case s.Timeout < 0:
		return fmt.Errorf("%w: negative Timeout %v", ErrInvalidSpec, s.Timeout)
	case s.KillGrace < 0:
		return fmt.Errorf("%w: negative KillGrace %v", ErrInvalidSpec, s.KillGrace)
	case s.OutputLimit < 0:
		return fmt.Errorf("%w: negative OutputLimit %d", ErrInvalidSpec, s.OutputLimit)
	}
	for k, v := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("%w: environment variable name %q", ErrInvalidSpec, k)
		}
		if strings.ContainsRune(v, 0) {
			return fmt.Errorf("%w: environment variable %s contains a NUL byte", ErrInvalidSpec, k)
		}
	}
	return nil
}

// Outcome is what a hook run did.
type Outcome struct {
	// ExitCode is the script's exit status, or -1 when it was killed by a
	// signal or never started.
	ExitCode int
	// Signal names the signal that ended the script ("killed",
	// "terminated"), or is empty.
	Signal string
	// TimedOut is set when Spec.Timeout passed before the hook ended, so
	// the hook was signaled.
	TimedOut bool
	// Canceled is set when ctx ended (canceled, or its own deadline passed)
	// before the hook ended, so the hook was signaled, or before it started,
	// so it never ran. It is not set for Spec.Timeout.
	Canceled bool
	// Stdout and Stderr are the captured streams.
	Stdout, Stderr Output
	// Started and Finished bracket the run: from just before the process
	// started to when it exited.
	Started, Finished time.Time
	// Duration is Finished - Started, from the monotonic clock.
	Duration time.Duration
	// StartError says why the script could not start (its interpreter does
	// not exist or cannot run, the working directory is missing, an argument
	// holds a NUL byte). A hook that could not start failed.
	StartError string
	// Aborted says why a hook that started was cut off by something other
	// than its runner ("container db-0/mysql stopped while the hook ran"):
	// its exit status is unknown (ExitCode -1). A hook that was aborted
	// failed. Only runners that run hooks in containers set it.
	Aborted string
}

// Output is one captured stream.
type Output struct {
	// Text is the captured text: all of it, or its head and tail with a
	// marker line between them.
	Text string
	// Truncated is set when bytes were left out of Text.
	Truncated bool
	// TotalBytes is how many bytes the hook wrote to the stream.
	TotalBytes int64
}

// Succeeded reports whether the hook started, was neither timed out nor
// canceled, and exited with status 0. A hook that traps SIGTERM and exits 0
// after its timeout did not succeed.
func (o Outcome) Succeeded() bool {
	return o.StartError == "" && o.Aborted == "" && !o.TimedOut && !o.Canceled && o.Signal == "" && o.ExitCode == 0
}

// Reason is a one-line account of why the hook failed ("timed out after 2s,
// killed by signal killed", "exit code 3"), or "" if it succeeded.
func (o Outcome) Reason() string {
	if o.Succeeded() {
		return ""
	}
	if o.StartError != "" {
		return "could not start: " + o.StartError
	}
	if o.Aborted != "" {
		return o.Aborted + " (after " + o.Duration.Round(time.Millisecond).String() + ")"
	}
	var parts []string
	switch {
	case o.TimedOut:
		parts = append(parts, "timed out after "+o.Duration.Round(time.Millisecond).String())
	case o.Canceled && o.Signal == "" && o.ExitCode == -1:
		return "canceled before it started"
	case o.Canceled:
		parts = append(parts, "canceled after "+o.Duration.Round(time.Millisecond).String())
	}
	if o.Signal != "" {
		parts = append(parts, "killed by signal "+o.Signal)
	} else {
		parts = append(parts, fmt.Sprintf("exit code %d", o.ExitCode))
	}
	return strings.Join(parts, ", ")
}

// begin is how every runner starts a run: it checks and completes spec and
// bounds ctx by spec.Timeout. When the run must not start — spec is
// malformed (err), or the time is already up (ended: not started, timed out
// or canceled) — the caller returns *ended and err; otherwise it runs the
// hook under runCtx and calls cancel when done.
func begin(ctx context.Context, spec Spec) (_ Spec, runCtx context.Context, cancel context.CancelFunc, ended *Outcome, err error) {
	if err := spec.validate(); err != nil {
		return spec, nil, nil, &Outcome{}, err
	}
	spec = spec.withDefaults()
	runCtx, cancel = ctx, func() {}
	if spec.Timeout > 0 {
		runCtx, cancel = context.WithTimeoutCause(ctx, spec.Timeout, errTimeout)
	}
	if runCtx.Err() != nil {
		cancel()
		o := notStarted(time.Now(), "")
		o.TimedOut, o.Canceled = endedBy(runCtx)
		return spec, nil, nil, &o, nil
	}
	return spec, runCtx, cancel, nil, nil
}

// endedBy tells whether a done run context ended by Spec.Timeout or by its
// parent context.
func endedBy(ctx context.Context) (timedOut, canceled bool) {
	if errors.Is(context.Cause(ctx), errTimeout) {
		return true, false
	}
	return false, true
}

func notStarted(at time.Time, reason string) Outcome {
	return Outcome{ExitCode: -1, StartError: reason, Started: at, Finished: at}
}
