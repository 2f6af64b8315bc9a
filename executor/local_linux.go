package executor

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// localSupported tells whether LocalRunner works here: it needs Linux.
const localSupported = true

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

	script, release, err := r.scripts.acquire(spec.Script)
	if err != nil {
		return Outcome{}, err
	}
	defer release()
	dir, err := os.MkdirTemp(r.cfg.TempDir, "hookshot-run-")
	if err != nil {
		return Outcome{}, fmt.Errorf("executor: create run directory: %w", err)
	}
	defer os.RemoveAll(dir)

	argv := append([]string{"/bin/sh", script}, spec.Args...)
	if bytes.HasPrefix(spec.Script, []byte("#!")) {
		argv = append([]string{script}, spec.Args...)
	}
	req := startRequest{Argv: argv, Env: r.environ(dir, spec.Env), Dir: cmp.Or(spec.Dir, dir)}
	return r.run(runCtx, req, spec)
}

// run has the reaper start the hook and sees it through: signals, its end,
// output.
func (r *LocalRunner) run(ctx context.Context, req startRequest, spec Spec) (Outcome, error) {
	// Our own pipes, handed to the hook as files.
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

	started := time.Now()
	h, err := startHook(req, outW, errW)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		var ee *execError
		if errors.As(err, &ee) && !isResourceError(err) {
			return notStarted(started, describeStartError(ee.errno, spec.Script)), nil
		}
		return Outcome{}, fmt.Errorf("executor: start hook: %w", err)
	}
	defer h.close()

	stdout, stderr := newCapture(spec.OutputLimit), newCapture(spec.OutputLimit)
	var readers sync.WaitGroup
	readers.Go(func() { _, _ = io.Copy(stdout, outR) })
	readers.Go(func() { _, _ = io.Copy(stderr, errR) })

	var o Outcome
	var end hookEnd
	select {
	case end = <-h.ended:
	case <-ctx.Done():
		o.TimedOut, o.Canceled = endedBy(ctx)
		h.signal(syscall.SIGTERM)
		grace := time.NewTimer(spec.KillGrace)
		select {
		case end = <-h.ended:
		case <-grace.C:
			h.signal(syscall.SIGKILL)
			end = <-h.ended
		}
		grace.Stop()
	}
	// The reaper reports the end once the hook's main process has exited
	// and everything it started is gone.
	finished := time.Now()
	if end.err == nil && started.Add(end.reply.Ran).Before(finished) {
		finished = started.Add(end.reply.Ran)
	}

	r.drain(&readers, outR, errR)
	outR.Close()
	errR.Close()

	o.Stdout, o.Stderr = stdout.Output(), stderr.Output()
	o.Started, o.Finished, o.Duration = started, finished, finished.Sub(started)
	if end.err != nil {
		o.ExitCode = -1
		return o, fmt.Errorf("executor: wait for hook: %w", end.err)
	}
	ws := syscall.WaitStatus(end.reply.Status)
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

// writeScript writes a new script file of the given mode. It holds syscall.ForkLock
// for reading while the file is open for writing, so no process is forked
// (by any goroutine) while it is: a forked child would inherit the writable
// descriptor until it execs, and exec of the script would fail with
// ETXTBSY ("text file busy").
func writeScript(path string, script []byte, mode os.FileMode) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(script)
	merr := f.Chmod(mode) // whatever the umask
	return errors.Join(werr, merr, f.Close())
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
