package engine_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any goroutine outlives its tests: every
// test stops its engines, workers and NATS servers, and Engine.Stop and
// Worker.Stop return only once their goroutines have ended.
//
// The one goroutine that is not ours is ignored:
//
//   - regexp2's runClock is the library's shared clock for match timeouts.
//     Matching criteria starts it, and it stops by itself about a second after
//     the last deadline it covers (the 100 ms match timeout plus its own
//     slack), so a matching test that ends shortly before the package does
//     leaves it still ticking. It is package-level state of regexp2, owned by
//     no Engine.
//
// nats-server and zaptest need no ignore: the server's goroutines have all
// ended once Shutdown and WaitForShutdown return (natstest waits for both),
// and a zaptest logger starts none.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/dlclark/regexp2.runClock"),
	)
}
