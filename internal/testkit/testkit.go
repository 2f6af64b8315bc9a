// Package testkit holds what Hookshot's tests share beyond a NATS server
// (internal/embedded/natstest) and a whole Hookshot (internal/node): waiting
// for a condition with a deadline.
package testkit

import (
	"testing"
	"time"
)

// WaitFor polls cond until it is true, failing the test with what when d
// passes first. It polls every 5 ms at first, backing off to 50 ms, so a
// quick condition is seen at once and a slow one does not spin.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	wait := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}
