package driver_test

import (
	"fmt"

	"github.com/hookshot-dev/hookshot/internal/driver"
)

func ExampleAction_Plan() {
	for _, a := range []driver.Action{
		{Kind: driver.KindSnapshot},
		{Kind: driver.KindBackup},
		{Kind: driver.KindBackup, SnapshotID: "05c357ed-30ce-432f-bbb0-9d5ff1695428"},
		{Kind: driver.KindRestore},
	} {
		fmt.Println(a.Plan())
	}
	// Output:
	// [snapshot/pre perform snapshot/post]
	// [backup/pre snapshot/pre perform snapshot/post backup/post]
	// [backup/pre perform backup/post]
	// [perform restore/post]
}
