package kubetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	streamserver "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// processExecutor is the container runtime behind the kubelet's streaming
// server: an exec is a local process in a session of its own.
type processExecutor struct {
	ctx    context.Context // ends at close: every process is killed
	cancel context.CancelFunc
	lookup func(uid, container string) (*corev1.Pod, *corev1.Container, bool)

	mu     sync.Mutex
	closed bool
	groups map[int]execIn // every session started: killed when its container stops, and at close
	wg     sync.WaitGroup
}

var _ streamserver.Executor = (*processExecutor)(nil)

func newProcessExecutor() *processExecutor {
	ctx, cancel := context.WithCancel(context.Background())
	return &processExecutor{ctx: ctx, cancel: cancel, groups: map[int]execIn{}}
}

// execIn is the container an exec runs in.
type execIn struct{ uid, container string }

func (e *processExecutor) begin() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.wg.Add(1)
	return true
}

// close kills every process group an exec started, including those whose
// leader has exited, and waits for the execs to return.
func (e *processExecutor) close() {
	e.mu.Lock()
	e.closed = true
	groups := make([]int, 0, len(e.groups))
	for pgid := range e.groups {
		groups = append(groups, pgid)
	}
	e.mu.Unlock()
	e.cancel()
	for _, pgid := range groups {
		_ = killGroup(pgid)
	}
	e.wg.Wait()
}

// ExecInContainer runs cmd as a local process in a new session, the way
// runc runs an exec in a container: stdin copied in until it ends or the
// process exits, stdout and stderr copied out until every holder of them
// has exited, then closed. The exit code is the process's, or 128+signal
// when a signal ended it (containerd reports it so). ctx ending (the
// kubelet's request, the cluster's close) or timeout passing kills the
// session's process group.
func (e *processExecutor) ExecInContainer(ctx context.Context, name string, uid string, container string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan streamserver.TerminalSize, timeout time.Duration) error {
	if out != nil {
		defer out.Close()
	}
	if errw != nil {
		defer errw.Close()
	}
	if !e.begin() {
		return errors.New("kubetest: the cluster is closed")
	}
	defer e.wg.Done()
	switch {
	case tty:
		return errors.New("kubetest: tty execs are not supported")
	case len(cmd) == 0:
		return errors.New("kubetest: no command")
	}
	pod, ct, ok := e.lookup(uid, container)
	if !ok {
		return fmt.Errorf("container not found (%q)", container)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(e.ctx, cancel)()
	if timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, timeout)
		defer cancelTimeout()
	}
	if resize != nil {
		e.wg.Go(func() { drain(ctx, resize) })
	}

	proc := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	proc.Env = containerEnv(pod, ct)
	proc.Dir = ct.WorkingDir
	if proc.Dir == "" {
		proc.Dir = "/"
	}
	proc.SysProcAttr = newSession()
	proc.Cancel = func() error { return killGroup(proc.Process.Pid) }
	if out != nil {
		proc.Stdout = out
	}
	if errw != nil {
		proc.Stderr = errw
	}
	var stdin io.WriteCloser
	if in != nil {
		var err error
		if stdin, err = proc.StdinPipe(); err != nil {
			return err
		}
	}
	if err := proc.Start(); err != nil {
		// containerd's words for runc's failure.
		cause := err
		if inner := errors.Unwrap(err); inner != nil {
			cause = inner
		}
		return fmt.Errorf("failed to exec in container: failed to start exec %q: OCI runtime exec failed: exec failed: unable to start container process: exec: %q: %w: unknown", name, cmd[0], cause)
	}
	e.mu.Lock()
	e.groups[proc.Process.Pid] = execIn{uid, container}
	e.mu.Unlock()
	if stdin != nil {
		// The copy ends at the end of stdin, when the process stops
		// reading, or when the stream closes after this exec returns.
		e.wg.Go(func() {
			_, _ = io.Copy(stdin, in)
			_ = stdin.Close()
		})
	}
	err := proc.Wait()
	if stdin != nil {
		_ = stdin.Close()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code := exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return utilexec.CodeExitError{Err: err, Code: code}
	}
	return err
}

// reap kills the processes of containers that no longer run, as a
// container runtime does when a container stops.
func (e *processExecutor) reap() {
	e.mu.Lock()
	var gone []int
	for pgid, in := range e.groups {
		if _, _, ok := e.lookup(in.uid, in.container); !ok {
			gone = append(gone, pgid)
			delete(e.groups, pgid)
		}
	}
	e.mu.Unlock()
	for _, pgid := range gone {
		_ = killGroup(pgid)
	}
}

func drain(ctx context.Context, resize <-chan streamserver.TerminalSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-resize:
			if !ok {
				return
			}
		}
	}
}
