package query

import (
	"cmp"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// operand is one side of a comparison: its text, and its value as a number
// and as an instant when the text is one.
type operand struct {
	s      string
	num    float64
	isNum  bool
	t      time.Time
	isTime bool
}

// newOperand reads s. Numbers are looked for only when wantNum, instants
// only when wantTime: a field is parsed only in the way the filter value
// could be compared with it.
func newOperand(s string, wantNum, wantTime bool) operand {
	o := operand{s: s}
	if wantNum {
		o.num, o.isNum = parseNumber(s)
	}
	if wantTime && !o.isNum {
		o.t, o.isTime = parseTime(s)
	}
	return o
}

// parseNumber reads a number in JSON syntax
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?). Anything else — leading
// zeros ("007" is a code, not 7), NaN, infinities, hexadecimal, a number out
// of float64's range — is not a number here and compares as text.
func parseNumber(s string) (float64, bool) {
	i := 0
	digits := func() bool {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if start := i; !digits() || s[start] == '0' && i-start > 1 {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// parseTime reads an RFC 3339 timestamp such as 2020-08-06T12:24:52.256624Z.
func parseTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' || s[10] != 'T' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// compare orders a before, equal to or after b: as numbers when both are
// numbers, as instants when both are timestamps, else as text (bytewise).
func compare(a, b operand) int {
	switch {
	case a.isNum && b.isNum:
		return cmp.Compare(a.num, b.num)
	case a.isTime && b.isTime:
		return a.t.Compare(b.t)
	}
	return strings.Compare(a.s, b.s)
}

// formatNumber writes f as encoding/json does.
func formatNumber(f float64) string {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, f, format, -1, 64)
	if format == 'e' { // e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b)
}

// matcher is a Filter prepared for evaluation.
type matcher struct {
	path     []Segment
	op       string
	want     []operand // one, or the alternatives of OpIn
	wantNum  bool      // some wanted value is a number
	wantTime bool      // some wanted value is a timestamp
	allNum   bool      // every wanted value is a number
}

func newMatcher(f Filter) matcher {
	m := matcher{path: f.Path, op: f.Op, allNum: true}
	vals := []string{f.Value}
	if f.Op == OpIn {
		vals = strings.Split(f.Value, ",")
	}
	for _, v := range vals {
		o := newOperand(v, true, true)
		m.want = append(m.want, o)
		m.wantNum = m.wantNum || o.isNum
		m.wantTime = m.wantTime || o.isTime
		m.allNum = m.allNum && o.isNum
	}
	return m
}

// match reports whether item satisfies the filter.
func (m *matcher) match(item map[string]any) bool { return m.walk(item, m.path) }

// walk follows path from v. Through a [*] segment it matches when any
// element of the array does.
func (m *matcher) walk(v any, path []Segment) bool {
	if len(path) == 0 {
		return m.test(v)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	child, ok := obj[path[0].Name]
	if !ok {
		return false
	}
	if !path[0].Any {
		return m.walk(child, path[1:])
	}
	arr, ok := child.([]any)
	if !ok {
		return false
	}
	for _, el := range arr {
		if m.walk(el, path[1:]) {
			return true
		}
	}
	return false
}

// test compares a field value with the filter value. Only scalars match:
// null, objects and arrays never do.
func (m *matcher) test(v any) bool {
	var got operand
	switch x := v.(type) {
	case string:
		got = newOperand(x, m.wantNum, m.wantTime)
	case bool:
		got = operand{s: strconv.FormatBool(x)}
	case float64:
		got = operand{num: x, isNum: true}
		if !m.allNum { // compared as text with some value
			got.s = formatNumber(x)
		}
	case json.Number:
		got = newOperand(string(x), true, false)
	default:
		return false
	}
	if m.op == OpIn {
		for _, w := range m.want {
			if compare(got, w) == 0 {
				return true
			}
		}
		return false
	}
	c := compare(got, m.want[0])
	switch m.op {
	case OpEq:
		return c == 0
	case OpLt:
		return c < 0
	case OpGt:
		return c > 0
	case OpLte:
		return c <= 0
	case OpGte:
		return c >= 0
	}
	return false
}
