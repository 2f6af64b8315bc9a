package executor

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// guardEnv makes the test binary act as a guard process (RunGuard), so the
// guard is tested as the runner really starts it.
const guardEnv = "HOOKSHOT_EXECUTOR_TEST_GUARD"

func TestMain(m *testing.M) {
	if os.Getenv(guardEnv) == "1" {
		os.Exit(RunGuard(os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}
