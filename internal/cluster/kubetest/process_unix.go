//go:build !windows

package kubetest

import "syscall"

// newSession starts an exec's process in a session (and process group) of
// its own, as runc does.
func newSession() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// killGroup kills the process group pgid.
func killGroup(pgid int) error { return syscall.Kill(-pgid, syscall.SIGKILL) }
