package cli_test

import "testing"

// sendSIGHUP: Windows has no SIGHUP; the certificate is reloaded by the
// reloader's file watch there.
func sendSIGHUP(t *testing.T) {
	t.Helper()
	t.Skip("no SIGHUP on Windows")
}
