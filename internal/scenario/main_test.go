package scenario_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any goroutine outlives its tests: Run and
// Replay stop the in-process NATS server, engine, worker and driver they
// start before they return.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
