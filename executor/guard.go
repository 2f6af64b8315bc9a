package executor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// RunGuard is the body of a guard process: the small process a LocalRunner
// with LocalConfig.Guard puts between itself and each hook. It runs argv in
// its own process group (the one the runner made for it) and waits for it,
// exiting as argv did. The runner starts it with the parent-death signal
// SIGTERM: when the guard gets a signal and finds its parent gone (the worker
// was killed), it kills the whole group — the hook and anything the hook
// started — so no hook outlives a dead worker. A signal while the parent
// lives comes from the runner itself (a timeout, a shutdown), which signals
// the whole group: the hook got it too, and the guard keeps waiting.
//
// It returns the exit code; a hook killed by a signal is re-raised so the
// runner sees the signal.
func RunGuard(argv []string) int {
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "hookshot guard: no command")
		return 127
	}
	parent := os.Getppid()
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if os.Getppid() != parent || parent == 1 {
		// The worker died before we could listen.
		_ = syscall.Kill(0, syscall.SIGKILL)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "hookshot guard:", err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127
		}
		return 126
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case <-done:
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				signal.Reset(ws.Signal())
				_ = syscall.Kill(os.Getpid(), ws.Signal())
				select {} // the signal ends us
			}
			return ws.ExitStatus()
		case <-sigs:
			if os.Getppid() != parent {
				_ = syscall.Kill(0, syscall.SIGKILL) // the worker is gone: so is the hook
			}
		}
	}
}
