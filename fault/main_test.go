package fault_test

import (
	"flag"
	"os"
	"testing"

	"github.com/hookshot-dev/hookshot/deploy/dockertest"
)

// scenariosAtOnce is how many scenarios run at the same time unless
// -test.parallel is given: they spend most of their time waiting (ack
// waits, restarts, rate-limited bursts), so more than the default of one
// per CPU keeps the suite well inside go test's 10-minute default timeout
// on a small CI machine.
const scenariosAtOnce = "4"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", scenariosAtOnce)
	}
	os.Exit(dockertest.Main(m))
}
