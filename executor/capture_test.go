package executor

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// wantCapture is the capture of data with limit for ASCII data: all of it,
// or head + marker + tail.
func wantCapture(data string, limit int) Output {
	total := int64(len(data))
	if len(data) <= limit {
		return Output{Text: data, TotalBytes: total}
	}
	h, tl := limit/2, limit-limit/2
	return Output{
		Text:       data[:h] + truncationMarker(total, total-int64(limit)) + data[len(data)-tl:],
		Truncated:  true,
		TotalBytes: total,
	}
}

func TestCapture(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limit  int
		writes []string
	}{
		{name: "nothing", limit: 10},
		{name: "empty writes", limit: 10, writes: []string{"", "", ""}},
		{name: "under the limit", limit: 10, writes: []string{"abc"}},
		{name: "exactly the head", limit: 10, writes: []string{"01234"}},
		{name: "exactly the limit", limit: 10, writes: []string{"0123456789"}},
		{name: "exactly the limit in pieces", limit: 10, writes: []string{"012", "3456", "789"}},
		{name: "one over", limit: 10, writes: []string{"0123456789A"}},
		{name: "write straddles head and tail", limit: 10, writes: []string{"012", "3456789", "ABCDEFGH"}},
		{name: "write straddles head and wraps tail", limit: 10, writes: []string{"0123", "456789ABCDEFGHIJ"}},
		{name: "one write far bigger than the limit", limit: 10, writes: []string{strings.Repeat("x", 1000) + "END!!"}},
		{name: "tail wraps exactly", limit: 10, writes: []string{"01234", "abcde", "fghij"}},
		{name: "tail wraps mid-write", limit: 10, writes: []string{"01234", "abc", "defg", "hi"}},
		{name: "byte by byte", limit: 10, writes: strings.Split("the quick brown fox jumps over the lazy dog", "")},
		{name: "odd limit", limit: 7, writes: []string{"0123456789", "abcdefghij"}},
		{name: "limit one", limit: 1, writes: []string{"abc", "d"}},
		{name: "limit two", limit: 2, writes: []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCapture(tt.limit)
			var all strings.Builder
			for _, w := range tt.writes {
				n, err := c.Write([]byte(w))
				if n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
				all.WriteString(w)
			}
			got, want := c.Output(), wantCapture(all.String(), tt.limit)
			if got != want {
				t.Fatalf("Output() = %+v\nwant       %+v", got, want)
			}
		})
	}
}

func TestCaptureMarker(t *testing.T) {
	t.Parallel()
	c := newCapture(DefaultOutputLimit)
	chunk := bytes.Repeat([]byte("y"), 4096)
	for range 10 << 20 / len(chunk) {
		c.Write(chunk)
	}
	got := c.Output()
	if got.TotalBytes != 10<<20 || !got.Truncated {
		t.Fatalf("TotalBytes = %d, Truncated = %v", got.TotalBytes, got.Truncated)
	}
	const marker = "\n…[hookshot: 10485760 bytes, 10420224 omitted]…\n"
	if !strings.Contains(got.Text, marker) {
		t.Fatalf("text does not contain %q", marker)
	}
	if len(got.Text) != DefaultOutputLimit+len(marker) {
		t.Fatalf("len(Text) = %d, want %d", len(got.Text), DefaultOutputLimit+len(marker))
	}
}

func TestCaptureKeepsRunesWhole(t *testing.T) {
	t.Parallel()
	// "€" is 3 bytes. With limit 8 the head is 4 bytes and the tail 4.
	tests := []struct {
		name, data, wantHead, wantTail string
	}{
		{name: "head cuts a rune", data: "ab€" + "zzzzzzzz" + "wxyz", wantHead: "ab", wantTail: "wxyz"},
		{name: "tail starts inside a rune", data: "abcd" + "zzzzzzzz" + "€zz", wantHead: "abcd", wantTail: "zz"},
		{name: "both", data: "abc€" + "zz" + "€€", wantHead: "abc", wantTail: "€"},
		{name: "binary is kept as is", data: "\xff\xff\xff\xff" + "zzzz" + "\xfe\xfe\xfe\xfe", wantHead: "\xff\xff\xff\xff", wantTail: "\xfe\xfe\xfe\xfe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCapture(8)
			c.Write([]byte(tt.data))
			got := c.Output()
			total := int64(len(tt.data))
			omitted := total - int64(len(tt.wantHead)) - int64(len(tt.wantTail))
			want := tt.wantHead + truncationMarker(total, omitted) + tt.wantTail
			if got.Text != want || !got.Truncated || got.TotalBytes != total {
				t.Fatalf("Output() = %+v, want text %q", got, want)
			}
		})
	}
}

// TestCaptureRandomChunks cuts the same data into random writes and checks
// the result never depends on how it was cut.
func TestCaptureRandomChunks(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		limit := 1 + rng.IntN(64)
		data := make([]byte, rng.IntN(300))
		for i := range data {
			data[i] = 'a' + byte(rng.IntN(26))
		}
		c := newCapture(limit)
		for rest := data; len(rest) > 0; {
			n := min(len(rest), rng.IntN(2*limit+1))
			c.Write(rest[:n])
			rest = rest[n:]
		}
		if got, want := c.Output(), wantCapture(string(data), limit); got != want {
			t.Fatalf("limit %d, %d bytes: Output() = %+v, want %+v", limit, len(data), got, want)
		}
	}
}
