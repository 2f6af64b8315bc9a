package scenario_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any goroutine outlives its tests: Run and
// Replay stop the in-process NATS server, engine, worker and driver they
// start before they return.
//
// regexp2's runClock is ignored: it is the library's shared clock for match
// timeouts, started by matching criteria, and it stops by itself about a
// second after the last match. It belongs to no scenario.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/dlclark/regexp2.runClock"),
	)
}
