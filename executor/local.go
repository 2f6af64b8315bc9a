package executor

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultPath is the PATH given to hooks when the runner's own PATH is empty.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultDrainTimeout is how long a LocalRunner waits for a hook's output
// pipes to close once its process group is gone.
const DefaultDrainTimeout = 500 * time.Millisecond

// scriptName is the file name of the script inside a run's directory; it is
// the script's $0.
const scriptName = "hook"

// errTimeout is the cause of a run context that ended by Spec.Timeout.
var errTimeout = errors.New("executor: hook timeout")

// LocalConfig configures a LocalRunner.
type LocalConfig struct {
	// TempDir is where each run gets its private directory (mode 0700), which
	// holds the script and is the hook's HOME and default working directory;
	// the directory is removed after the run. Scripts with a "#!" line are
	// executed from it, so it must not be on a noexec mount. A relative path
	// is made absolute. Defaults to os.TempDir().
	TempDir string
	// DrainTimeout is how long Run waits, after the hook's process group is
	// gone, for its stdout and stderr to reach end of file. Only a process
	// that left the group (setsid) and kept the pipes open makes Run wait
	// that long; its later output is lost. Defaults to DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Guard, when set, is the command line of a guard process (see
	// RunGuard) that the runner starts in front of each hook, e.g.
	// ["/usr/bin/hookshot", "__hook-guard"]: with it, a hook and everything
	// it started die with the process that ran it, even when that process
	// is SIGKILLed. Without it only the hook's main process does (Linux
	// parent-death signal).
	Guard []string
}

func (c LocalConfig) withDefaults() LocalConfig {
	c.TempDir = cmp.Or(c.TempDir, os.TempDir())
	c.DrainTimeout = cmp.Or(c.DrainTimeout, DefaultDrainTimeout)
	return c
}

func (c LocalConfig) validate() error {
	if c.DrainTimeout < 0 {
		return fmt.Errorf("executor: negative DrainTimeout %v", c.DrainTimeout)
	}
	fi, err := os.Stat(c.TempDir)
	if err != nil {
		return fmt.Errorf("executor: TempDir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("executor: TempDir %s is not a directory", c.TempDir)
	}
	return nil
}

// LocalRunner runs hook scripts as child processes of the current process.
//
// Each run writes the script to a private temporary file and runs it in a
// process group of its own, with stdin from /dev/null. The environment is
// only PATH (this process's PATH when the runner was made, else DefaultPath),
// HOME (the run's private directory) and Spec.Env: nothing else of this
// process's environment reaches a hook. When the hook times out or ctx ends,
// the whole group gets SIGTERM, then SIGKILL after Spec.KillGrace. When the
// script's main process exits, for whatever reason, the rest of its group is
// killed with SIGKILL: a hook cannot leave processes behind (to start a
// long-lived service, a hook must hand it to a service manager). The main
// process also gets SIGKILL if this process dies (Linux parent-death signal).
//
// A LocalRunner is safe for concurrent use.
type LocalRunner struct {
	cfg  LocalConfig
	path string
}

var _ Runner = (*LocalRunner)(nil)

// NewLocalRunner returns a LocalRunner, or an error if cfg is invalid (for
// example TempDir does not exist).
func NewLocalRunner(cfg LocalConfig) (*LocalRunner, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Absolute, so the script's path does not depend on its working
	// directory.
	dir, err := filepath.Abs(cfg.TempDir)
	if err != nil {
		return nil, fmt.Errorf("executor: TempDir: %w", err)
	}
	cfg.TempDir = dir
	return &LocalRunner{cfg: cfg, path: cmp.Or(os.Getenv("PATH"), DefaultPath)}, nil
}

// Run runs spec.Script and returns its Outcome. See Runner.
func (r *LocalRunner) Run(ctx context.Context, spec Spec) (Outcome, error) {
	spec, runCtx, cancel, ended, err := begin(ctx, spec)
	if err != nil || ended != nil {
		return *ended, err
	}
	defer cancel()
	if reason := r.checkStartable(spec); reason != "" {
		return notStarted(time.Now(), reason), nil
	}

	dir, err := os.MkdirTemp(r.cfg.TempDir, "hookshot-run-")
	if err != nil {
		return Outcome{}, fmt.Errorf("executor: create run directory: %w", err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, scriptName)
	if err := writeScript(script, spec.Script); err != nil {
		return Outcome{}, fmt.Errorf("executor: write script: %w", err)
	}

	argv := append([]string{"/bin/sh", script}, spec.Args...)
	if bytes.HasPrefix(spec.Script, []byte("#!")) {
		argv = append([]string{script}, spec.Args...)
	}
	deathSignal := syscall.SIGKILL
	if len(r.cfg.Guard) > 0 {
		argv = append(slices.Clone(r.cfg.Guard), argv...)
		deathSignal = syscall.SIGTERM // the guard catches it and kills the group
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = r.environ(dir, spec.Env)
	cmd.Dir = cmp.Or(spec.Dir, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSignal}

	return r.run(runCtx, cmd, spec)
}

// run starts cmd and sees it through: signals, reaping, output.
func (r *LocalRunner) run(ctx context.Context, cmd *exec.Cmd, spec Spec) (Outcome, error) {
	// Our own pipes, handed to the child as files: cmd.Wait does not wait
	// for them, so a grandchild holding them open cannot block it.
	outR, outW, err := os.Pipe()
	if err != nil {
		return Outcome{}, fmt.Errorf("executor: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return Outcome{}, fmt.Errorf("executor: stderr pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW

	started := time.Now()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		if isResourceError(err) {
			return Outcome{}, fmt.Errorf("executor: start hook: %w", err)
		}
		return notStarted(started, describeStartError(err, spec.Script)), nil
	}
	pid := cmd.Process.Pid

	stdout, stderr := newCapture(spec.OutputLimit), newCapture(spec.OutputLimit)
	var readers sync.WaitGroup
	readers.Go(func() { _, _ = io.Copy(stdout, outR) })
	readers.Go(func() { _, _ = io.Copy(stderr, errR) })

	exited := make(chan error, 1)
	go func() { exited <- waitExited(pid) }()

	var o Outcome
	var waitErr error
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		o.TimedOut, o.Canceled = endedBy(ctx)
		killGroup(pid, syscall.SIGTERM)
		grace := time.NewTimer(spec.KillGrace)
		select {
		case waitErr = <-exited:
		case <-grace.C:
			killGroup(pid, syscall.SIGKILL)
			waitErr = <-exited
		}
		grace.Stop()
	}
	finished := time.Now()
	// The main process has exited but is not reaped yet, so its pid, which
	// is the group's id, cannot be reused: this kills only what the hook
	// left behind.
	killGroup(pid, syscall.SIGKILL)
	reapErr := cmd.Wait()

	r.drain(&readers, outR, errR)
	outR.Close()
	errR.Close()

	o.Stdout, o.Stderr = stdout.Output(), stderr.Output()
	o.Started, o.Finished, o.Duration = started, finished, finished.Sub(started)
	if waitErr != nil {
		o.ExitCode = -1
		return o, fmt.Errorf("executor: wait for hook: %w", waitErr)
	}
	var ws syscall.WaitStatus
	ok := cmd.ProcessState != nil
	if ok {
		ws, ok = cmd.ProcessState.Sys().(syscall.WaitStatus)
	}
	if !ok {
		o.ExitCode = -1
		return o, fmt.Errorf("executor: reap hook: %w", reapErr)
	}
	if ws.Signaled() {
		o.ExitCode, o.Signal = -1, ws.Signal().String()
	} else {
		o.ExitCode = ws.ExitStatus()
	}
	return o, nil
}

// drain waits for the output readers to reach end of file, at most
// DrainTimeout; then it makes their reads fail and waits for them to return.
func (r *LocalRunner) drain(readers *sync.WaitGroup, files ...*os.File) {
	done := make(chan struct{})
	go func() {
		readers.Wait()
		close(done)
	}()
	t := time.NewTimer(r.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	for _, f := range files {
		if f.SetReadDeadline(time.Now()) != nil {
			f.Close() // not pollable: closing is the only way to stop the read
		}
	}
	<-done
}

// checkStartable returns why spec cannot start, or "".
func (r *LocalRunner) checkStartable(spec Spec) string {
	for i, a := range spec.Args {
		if strings.ContainsRune(a, 0) {
			return fmt.Sprintf("argument %d contains a NUL byte", i+1)
		}
	}
	if spec.Dir != "" {
		fi, err := os.Stat(spec.Dir)
		if err != nil {
			return "working directory: " + err.Error()
		}
		if !fi.IsDir() {
			return fmt.Sprintf("working directory %s is not a directory", spec.Dir)
		}
	}
	return ""
}

// environ builds the hook's environment: PATH, HOME, then extra on top,
// sorted by name.
func (r *LocalRunner) environ(home string, extra map[string]string) []string {
	env := map[string]string{"PATH": r.path, "HOME": home}
	maps.Copy(env, extra)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// writeScript writes the script file, mode 0700. It holds syscall.ForkLock
// for reading while the file is open for writing, so no process is forked
// (by any goroutine) while it is: a forked child would inherit the writable
// descriptor until it execs, and exec of the script would fail with
// ETXTBSY ("text file busy").
func writeScript(path string, script []byte) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err != nil {
		return err
	}
	_, werr := f.Write(script)
	merr := f.Chmod(0o700) // whatever the umask
	return errors.Join(werr, merr, f.Close())
}

// waitExited blocks until process pid has exited, without reaping it.
func waitExited(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

// killGroup sends sig to the process group pgid. ESRCH (no process left) is
// the expected end and is not an error worth reporting.
func killGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
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

// isResourceError reports whether a start failure is the host's (out of
// processes, memory or descriptors) rather than the hook's.
func isResourceError(err error) bool {
	for _, e := range []syscall.Errno{syscall.EAGAIN, syscall.ENOMEM, syscall.EMFILE, syscall.ENFILE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// describeStartError turns an exec failure into words about the hook, not
// about the temporary file it was written to.
func describeStartError(err error, script []byte) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	interp, ok := shebangInterpreter(script)
	if !ok {
		return "run /bin/sh: " + errno.Error()
	}
	switch errno {
	case syscall.ENOENT:
		return fmt.Sprintf("interpreter %q not found", interp)
	case syscall.EACCES:
		return fmt.Sprintf("interpreter %q: permission denied (or the runner's TempDir is mounted noexec)", interp)
	case syscall.ENOEXEC:
		return fmt.Sprintf("interpreter %q is not an executable", interp)
	}
	return fmt.Sprintf("interpreter %q: %v", interp, errno)
}

// shebangInterpreter returns the interpreter path of a "#!" line.
func shebangInterpreter(script []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(script, []byte("#!"))
	if !ok {
		return "", false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return "", true
	}
	return fields[0], true
}
