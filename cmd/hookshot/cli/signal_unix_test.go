//go:build unix

package cli_test

import (
	"os"
	"syscall"
	"testing"
)

// sendSIGHUP sends SIGHUP to this process, where the daemon under test
// runs in process.
func sendSIGHUP(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}
