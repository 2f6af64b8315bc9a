package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaperClient is this process's side of its reaper (see reaper_linux.go):
// the reaper process and a SOCK_SEQPACKET control socket, on which each run
// sends one message carrying three descriptors — its own stream socket and
// the hook's stdout and stderr. The control socket is close-on-exec here, so
// only this process holds its end: when this process dies, however it dies,
// the reaper reads end of file.
type reaperClient struct {
	proc *os.Process
	ctl  *net.UnixConn
	// broken is set when the reaper stopped answering; the next run starts
	// a new one.
	mu     sync.Mutex
	broken bool
}

var (
	reaperMu sync.Mutex
	current  *reaperClient
)

// theReaper returns this process's reaper, starting it the first time, or
// again if the last one broke.
func theReaper() (*reaperClient, error) {
	reaperMu.Lock()
	defer reaperMu.Unlock()
	if current != nil && !current.isBroken() {
		return current, nil
	}
	if current != nil {
		current.stop()
		current = nil
	}
	c, err := startReaper()
	if err != nil {
		return nil, err
	}
	current = c
	return c, nil
}

// startReaper re-executes this binary as a reaper.
func startReaper() (*reaperClient, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("executor: reaper socket: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "reaper-control"), os.NewFile(uintptr(fds[1]), "reaper-control")
	defer theirs.Close()
	defer mine.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("executor: start reaper: %w", err)
	}
	defer devnull.Close()
	// Its own process group: a terminal's ^C reaches the worker, which
	// then ends its hooks itself, not the reaper.
	proc, err := os.StartProcess("/proc/self/exe", []string{"hookshot-hook-reaper"}, &os.ProcAttr{
		Dir:   "/",
		Env:   []string{reaperEnv + "=" + reaperEnvValue},
		Files: []*os.File{devnull, devnull, os.Stderr, theirs},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return nil, fmt.Errorf("executor: start reaper: %w", err)
	}
	c, err := net.FileConn(mine)
	if err != nil {
		_ = proc.Kill()
		_, _ = proc.Wait()
		return nil, fmt.Errorf("executor: reaper socket: %w", err)
	}
	return &reaperClient{proc: proc, ctl: c.(*net.UnixConn)}, nil
}

func (c *reaperClient) isBroken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

func (c *reaperClient) setBroken() {
	c.mu.Lock()
	c.broken = true
	c.mu.Unlock()
}

// stop ends a broken reaper: closing the control socket makes it kill what
// it started and exit; SIGKILL if it does not.
func (c *reaperClient) stop() {
	c.ctl.Close()
	_ = c.proc.Signal(syscall.SIGTERM)
	_, _ = c.proc.Wait()
}

// hookHandle is one running hook, as the reaper started it.
type hookHandle struct {
	conn  net.Conn
	enc   *json.Encoder
	pid   int
	ended chan hookEnd // receives once
}

type hookEnd struct {
	reply runReply
	err   error
}

// execError is the errno of a hook's fork or exec, as the reaper saw it.
type execError struct{ errno syscall.Errno }

func (e *execError) Error() string { return e.errno.Error() }
func (e *execError) Unwrap() error { return e.errno }

// errReaperGone is a control socket the reaper no longer reads.
var errReaperGone = errors.New("executor: the hook reaper is gone")

// startHook has the reaper start req with the given stdout and stderr. An
// *execError is the hook's fork or exec failing.
func startHook(req startRequest, stdout, stderr *os.File) (*hookHandle, error) {
	for try := 0; ; try++ {
		rc, err := theReaper()
		if err != nil {
			return nil, err
		}
		h, err := rc.start(req, stdout, stderr)
		var ee *execError
		if err == nil || errors.As(err, &ee) {
			return h, err
		}
		rc.setBroken()
		// A reaper that died before it got the request: one more try,
		// with a new one.
		if !errors.Is(err, errReaperGone) || try > 0 {
			return nil, err
		}
	}
}

func (c *reaperClient) start(req startRequest, stdout, stderr *os.File) (*hookHandle, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("executor: run socket: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "run"), os.NewFile(uintptr(fds[1]), "run")
	rights := unix.UnixRights(int(theirs.Fd()), int(stdout.Fd()), int(stderr.Fd()))
	_, _, err = c.ctl.WriteMsgUnix([]byte{1}, rights, nil)
	theirs.Close()
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("%w: %w", errReaperGone, err)
	}
	conn, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return nil, fmt.Errorf("executor: run socket: %w", err)
	}
	h := &hookHandle{conn: conn, enc: json.NewEncoder(conn), ended: make(chan hookEnd, 1)}
	dec := json.NewDecoder(conn)
	var reply runReply
	if err := h.enc.Encode(req); err != nil {
		conn.Close()
		return nil, fmt.Errorf("executor: reaper: %w", err)
	}
	if err := dec.Decode(&reply); err != nil {
		conn.Close()
		return nil, fmt.Errorf("executor: reaper: %w", err)
	}
	switch {
	case reply.Errno != 0:
		conn.Close()
		return nil, &execError{syscall.Errno(reply.Errno)}
	case reply.Err != "" || reply.Pid <= 0:
		conn.Close()
		return nil, fmt.Errorf("executor: reaper: %s", reply.Err)
	}
	h.pid = reply.Pid
	go func() {
		var end runReply
		err := dec.Decode(&end)
		if err == nil && !end.Exited {
			err = fmt.Errorf("unexpected message %+v", end)
		}
		if err != nil {
			c.setBroken()
			err = fmt.Errorf("the reaper stopped answering: %w", err)
		}
		h.ended <- hookEnd{reply: end, err: err}
	}()
	return h, nil
}

// signal asks the reaper to signal the hook's process group. A failure
// shows as the run's end.
func (h *hookHandle) signal(sig syscall.Signal) {
	_ = h.enc.Encode(signalRequest{Signal: int(sig)})
}

func (h *hookHandle) close() { h.conn.Close() }
