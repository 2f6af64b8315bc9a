package query

import (
	"fmt"
	"strings"
)

// Filter operators.
const (
	OpEq  = "eq"
	OpLt  = "lt"
	OpGt  = "gt"
	OpLte = "lte"
	OpGte = "gte"
	// OpIn matches when the field equals any of the comma-separated
	// alternatives of the value ('a,b,c'). An alternative cannot contain a
	// comma.
	OpIn = "in"
)

// validOp reports whether op is one of the six filter operators.
func validOp(op string) bool {
	switch op {
	case OpEq, OpLt, OpGt, OpLte, OpGte, OpIn:
		return true
	}
	return false
}

// Segment is one step of a filter path: the field Name of a JSON object
// and, with Any ("name[*]"), any element of the array that field holds.
type Segment struct {
	Name string
	Any  bool
}

func (s Segment) String() string {
	if s.Any {
		return s.Name + "[*]"
	}
	return s.Name
}

// Filter is one "path op 'value'" expression of a filter parameter, such as
// metadata.creationTimestamp gt '2020-08-06T00:00:00Z' or
// matchingCriteria[*].type eq 'podLabel'.
type Filter struct {
	Path  []Segment
	Op    string
	Value string
}

// PathString returns the path as written in a query: a.b[*].c.
func (f Filter) PathString() string {
	var b strings.Builder
	for i, s := range f.Path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// String returns the filter in query syntax, a quote in the value doubled.
// Parse(String()) gives the filter back.
func (f Filter) String() string {
	return f.PathString() + " " + f.Op + " '" + strings.ReplaceAll(f.Value, "'", "''") + "'"
}

// syntaxError is a filter parameter that does not follow the grammar, at
// byte offset Pos of the (URL-decoded) parameter value.
type syntaxError struct {
	Pos int
	Msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("at offset %d: %s", e.Pos, e.Msg) }

// parseFilters parses one filter parameter: one or more filters separated
// by commas. The grammar (the query_filter schema, read for its intent):
//
//	param   = filter *( "," filter )
//	filter  = path sep op sep value
//	path    = segment *( "." segment )
//	segment = 1*( ALPHA / DIGIT ) [ "[*]" ]
//	sep     = " " / "%20"
//	op      = "eq" / "lt" / "gt" / "lte" / "gte" / "in"
//	value   = "'" 1*( any character but "'" / "''" ) "'"
//
// A doubled quote inside a value stands for one quote. "%20" is accepted
// as a separator because the schema says so: it reaches us when a client
// encodes the query twice.
func parseFilters(s string) ([]Filter, error) {
	sc := scanner{s: s}
	var fs []Filter
	for {
		f, err := sc.filter()
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
		if sc.pos == len(s) {
			return fs, nil
		}
		if s[sc.pos] != ',' {
			return nil, sc.errorf("expected ',' or the end after the quoted value, found %q", sc.rest(8))
		}
		sc.pos++
	}
}

// scanner is the tokenizer of parseFilters.
type scanner struct {
	s   string
	pos int
}

func (sc *scanner) errorf(format string, args ...any) error {
	return &syntaxError{Pos: sc.pos, Msg: fmt.Sprintf(format, args...)}
}

// rest returns up to n bytes from the current position, for messages.
func (sc *scanner) rest(n int) string {
	return sc.s[sc.pos:min(sc.pos+n, len(sc.s))]
}

func (sc *scanner) filter() (Filter, error) {
	var f Filter
	var err error
	if f.Path, err = sc.path(); err != nil {
		return f, err
	}
	if err = sc.sep("after the field path"); err != nil {
		return f, err
	}
	if f.Op, err = sc.op(); err != nil {
		return f, err
	}
	if err = sc.sep("after the operator"); err != nil {
		return f, err
	}
	if f.Value, err = sc.value(); err != nil {
		return f, err
	}
	return f, nil
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (sc *scanner) path() ([]Segment, error) {
	var path []Segment
	for {
		start := sc.pos
		for sc.pos < len(sc.s) && isAlnum(sc.s[sc.pos]) {
			sc.pos++
		}
		if sc.pos == start {
			if sc.pos == len(sc.s) {
				return nil, sc.errorf("expected a field name, found the end")
			}
			return nil, sc.errorf("expected a field name (letters and digits), found %q", sc.rest(1))
		}
		seg := Segment{Name: sc.s[start:sc.pos]}
		if strings.HasPrefix(sc.s[sc.pos:], "[*]") {
			seg.Any = true
			sc.pos += len("[*]")
		} else if strings.HasPrefix(sc.s[sc.pos:], "[") {
			return nil, sc.errorf("expected [*] after %q, found %q", seg.Name, sc.rest(3))
		}
		path = append(path, seg)
		if sc.pos < len(sc.s) && sc.s[sc.pos] == '.' {
			sc.pos++
			continue
		}
		return path, nil
	}
}

func (sc *scanner) sep(where string) error {
	switch {
	case strings.HasPrefix(sc.s[sc.pos:], " "):
		sc.pos++
	case strings.HasPrefix(sc.s[sc.pos:], "%20"):
		sc.pos += len("%20")
	case sc.pos == len(sc.s):
		return sc.errorf("expected a space %s, found the end", where)
	default:
		return sc.errorf("expected a space %s, found %q", where, sc.rest(1))
	}
	return nil
}

func (sc *scanner) op() (string, error) {
	start := sc.pos
	for sc.pos < len(sc.s) && isAlnum(sc.s[sc.pos]) {
		sc.pos++
	}
	op := sc.s[start:sc.pos]
	if !validOp(op) {
		sc.pos = start
		if op == "" {
			return "", sc.errorf("expected an operator (eq, lt, gt, lte, gte or in), found %q", sc.rest(1))
		}
		return "", sc.errorf("unknown operator %q (want eq, lt, gt, lte, gte or in)", op)
	}
	return op, nil
}

func (sc *scanner) value() (string, error) {
	if sc.pos == len(sc.s) || sc.s[sc.pos] != '\'' {
		if sc.pos == len(sc.s) {
			return "", sc.errorf("expected a value in single quotes, found the end")
		}
		return "", sc.errorf("expected a value in single quotes, found %q", sc.rest(1))
	}
	open := sc.pos
	sc.pos++
	var b strings.Builder
	for {
		i := strings.IndexByte(sc.s[sc.pos:], '\'')
		if i < 0 {
			sc.pos = open
			return "", sc.errorf("missing the closing quote of the value")
		}
		b.WriteString(sc.s[sc.pos : sc.pos+i])
		sc.pos += i + 1
		if sc.pos < len(sc.s) && sc.s[sc.pos] == '\'' { // '' is a quote
			b.WriteByte('\'')
			sc.pos++
			continue
		}
		break
	}
	if b.Len() == 0 {
		sc.pos = open
		return "", sc.errorf("empty value")
	}
	return b.String(), nil
}
