package executor

import (
	"fmt"
	"unicode/utf8"
)

// capture is an io.Writer that keeps at most limit bytes of what is written
// to it: the first half verbatim and the last half in a ring buffer. It
// counts every byte and never fails, so the process writing into the pipe
// behind it is never blocked by a full capture. It is not safe for concurrent
// use; a Runner gives each stream its own.
type capture struct {
	limit int
	head  []byte // first headCap bytes; grows up to headCap
	tail  []byte // ring of tailCap bytes, allocated on first use
	pos   int    // next write position in tail
	full  bool   // tail has wrapped at least once
	total int64
}

func newCapture(limit int) *capture {
	if limit < 1 {
		limit = 1
	}
	return &capture{limit: limit}
}

func (c *capture) headCap() int { return c.limit / 2 }
func (c *capture) tailCap() int { return c.limit - c.limit/2 }

// Write keeps what fits and discards the rest. It always returns len(p), nil.
func (c *capture) Write(p []byte) (int, error) {
	n := len(p)
	c.total += int64(n)
	if room := c.headCap() - len(c.head); room > 0 {
		k := min(room, len(p))
		if c.head == nil {
			c.head = make([]byte, 0, c.headCap())
		}
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	tc := c.tailCap()
	if c.tail == nil {
		c.tail = make([]byte, tc)
	}
	if len(p) >= tc {
		copy(c.tail, p[len(p)-tc:])
		c.pos, c.full = 0, true
		return n, nil
	}
	k := copy(c.tail[c.pos:], p)
	if k < len(p) {
		copy(c.tail, p[k:])
		c.full = true
	}
	c.pos = (c.pos + len(p)) % tc
	if c.pos == 0 && len(p) > 0 {
		c.full = true
	}
	return n, nil
}

// tailBytes returns the ring's content in write order.
func (c *capture) tailBytes() []byte {
	if !c.full {
		return c.tail[:c.pos]
	}
	out := make([]byte, 0, len(c.tail))
	out = append(out, c.tail[c.pos:]...)
	return append(out, c.tail[:c.pos]...)
}

// Output returns what was kept. When more than limit bytes were written the
// text is head, a marker line, and tail; head and tail are cut back to UTF-8
// rune boundaries (at most 3 bytes each) so a cut never splits a character,
// and the marker counts exactly the bytes left out.
func (c *capture) Output() Output {
	tail := c.tailBytes()
	if c.total <= int64(c.limit) {
		text := make([]byte, 0, len(c.head)+len(tail))
		text = append(append(text, c.head...), tail...)
		return Output{Text: string(text), TotalBytes: c.total}
	}
	head := trimPartialRuneEnd(c.head)
	tail = trimPartialRuneStart(tail)
	omitted := c.total - int64(len(head)) - int64(len(tail))
	return Output{
		Text:       string(head) + truncationMarker(c.total, omitted) + string(tail),
		Truncated:  true,
		TotalBytes: c.total,
	}
}

// truncationMarker is the line that replaces the omitted middle of an output.
func truncationMarker(total, omitted int64) string {
	return fmt.Sprintf("\n…[hookshot: %d bytes, %d omitted]…\n", total, omitted)
}

// maxMarkerLen bounds len(truncationMarker(...)) for any int64 counts.
var maxMarkerLen = len(truncationMarker(-1<<63, -1<<63))

// trimPartialRuneEnd drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRuneEnd(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if !utf8.RuneStart(b[i]) {
			continue
		}
		if b[i] >= utf8.RuneSelf && !utf8.FullRune(b[i:]) {
			return b[:i]
		}
		break
	}
	return b
}

// trimPartialRuneStart drops continuation bytes (at most 3) at the start of b:
// the end of a character whose start was omitted.
func trimPartialRuneStart(b []byte) []byte {
	i := 0
	for i < len(b) && i < utf8.UTFMax-1 && !utf8.RuneStart(b[i]) {
		i++
	}
	return b[i:]
}
