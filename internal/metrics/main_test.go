package metrics_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives its tests: scrapes,
// pulled callbacks and the NATS server of the JetStream test all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
