package engine_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any goroutine outlives its tests: every
// test stops its engines, workers and NATS servers, and Engine.Stop and
// Worker.Stop return only once their goroutines have ended.
//
// Nothing is ignored. nats-server and zaptest need no ignore: the server's
// goroutines have all ended once Shutdown and WaitForShutdown return
// (natstest waits for both), and a zaptest logger starts none. Criteria
// matching (Go's regexp) starts none either; regexp2's match-timeout clock
// was the one goroutine ignored here until criteria stopped using it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
