package cli

import (
	"slices"
	"testing"
	"time"
)

// TestTimeMergeOrdersStreams: lines of two streams come out in the order
// they were stored, whichever stream delivered first; a caught-up stream
// holds the other back only for the skew.
func TestTimeMergeOrdersStreams(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	m := newTimeMerge(2, 200*time.Millisecond)
	now := at(10_000)

	// A backlog: the lifecycle stream delivers all of its messages before
	// the results stream delivers any.
	m.add(0, at(0), "lifecycle pre", true, false)
	m.add(0, at(30), "lifecycle post", true, true)
	if got := m.ready(now); len(got) != 0 {
		t.Fatalf("printed %q before the other stream said anything", got)
	}
	m.add(1, at(10), "execution pre", true, false)
	m.add(1, at(20), "stage pre", true, false)
	if got := m.ready(now); !slices.Equal(got, []string{"lifecycle pre", "execution pre", "stage pre"}) {
		t.Fatalf("got %q", got)
	}
	m.add(1, at(40), "execution post", true, true)
	if got := m.ready(now); !slices.Equal(got, []string{"lifecycle post", "execution post"}) {
		t.Fatalf("got %q", got)
	}

	// Live: a message waits for the skew while the other stream is caught up.
	m.add(0, at(20_000), "lifecycle live", true, true)
	if got := m.ready(at(20_100)); len(got) != 0 {
		t.Fatalf("printed %q within the skew", got)
	}
	if got := m.ready(at(20_200)); !slices.Equal(got, []string{"lifecycle live"}) {
		t.Fatalf("got %q after the skew", got)
	}
}
