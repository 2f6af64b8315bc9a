package kubetest

import (
	"errors"
	"syscall"
)

// newSession: Windows has no sessions of the POSIX kind; the fake cluster's
// execs run as plain child processes there.
func newSession() *syscall.SysProcAttr { return nil }

// killGroup cannot kill a process group on Windows.
func killGroup(int) error { return errors.New("kubetest: no process groups on Windows") }
