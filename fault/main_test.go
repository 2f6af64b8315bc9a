package fault_test

import (
	"os"
	"testing"

	"github.com/hookshot-dev/hookshot/deploy/dockertest"
)

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }
