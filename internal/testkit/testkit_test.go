package testkit_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/internal/testkit"
)

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	testkit.WaitFor(t, 5*time.Second, "three polls", func() bool { return n.Add(1) >= 3 })
	if got := n.Load(); got != 3 {
		t.Fatalf("polled %d times, want 3", got)
	}
}

// fatalRecorder records a Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = format
	panic(f)
}

func TestWaitForFailsAtTheDeadline(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != rec {
				t.Fatalf("recovered %v, want the recorder's Fatalf", r)
			}
		}()
		testkit.WaitFor(rec, 50*time.Millisecond, "never", func() bool { return false })
	}()
	if rec.msg == "" || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("Fatalf %q after %s", rec.msg, time.Since(start))
	}
}
