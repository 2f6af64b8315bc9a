package engine

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// Each key's items are handled in submission order, what queued up while a
// batch was handled comes as the next batch, and other keys go on meanwhile.
func TestKeyedSerialBatchesPerKeyInOrder(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]int{}
	batches := map[string][][]int{}
	release, entered := make(chan struct{}), make(chan struct{})
	k := newKeyedSerial(100, func(items []int) {
		key := "a"
		if items[0] >= 1000 {
			key = "b"
		}
		if key == "a" && items[0] == 0 {
			close(entered)
			<-release // hold key a's first batch while more queue up
		}
		mu.Lock()
		got[key] = append(got[key], items...)
		batches[key] = append(batches[key], slices.Clone(items))
		mu.Unlock()
	})
	k.submit("a", 0)
	<-entered
	for i := 1; i <= 5; i++ {
		k.submit("a", i)
	}
	k.submit("b", 1000)
	// Key b is handled although key a is held.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got["b"])
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("key b waited for key a")
		}
		time.Sleep(time.Millisecond)
	}
	if free := k.want(context.Background()); free != 100-6 {
		t.Errorf("want = %d while 6 items of key a are in flight, want %d", free, 100-6)
	}
	close(release)
	k.wait()
	if want := []int{0, 1, 2, 3, 4, 5}; !slices.Equal(got["a"], want) {
		t.Errorf("key a handled %v, want %v", got["a"], want)
	}
	// 0 was taken alone; 1–5 queued behind it and came as one batch.
	if len(batches["a"]) != 2 || !slices.Equal(batches["a"][1], []int{1, 2, 3, 4, 5}) {
		t.Errorf("key a's batches: %v, want [[0] [1 2 3 4 5]]", batches["a"])
	}
	if free := k.want(context.Background()); free != 100 {
		t.Errorf("want = %d after everything was handled, want 100", free)
	}
}

// want blocks while the limit is reached and returns when room is made.
func TestKeyedSerialWantWaitsForRoom(t *testing.T) {
	release := make(chan struct{})
	k := newKeyedSerial(2, func([]int) { <-release })
	k.submit("a", 1)
	k.submit("b", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if n := k.want(ctx); n != 0 {
		t.Fatalf("want = %d at the limit, want 0 once its context ends", n)
	}
	close(release)
	if n := k.want(context.Background()); n < 1 {
		t.Fatalf("want = %d after room was made", n)
	}
	k.wait()
}

func TestResultRunKey(t *testing.T) {
	if got := resultRunKey("hookshot.results.execution.acme.run-1"); got != "acme.run-1" {
		t.Errorf("resultRunKey = %q", got)
	}
}
