package matcher

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"

	"github.com/hookshot-dev/hookshot/events"
)

// CriterionRef is a criterion with its position in the hook's
// matchingCriteria.
type CriterionRef struct {
	Index int `json:"index"`
	Criterion
}

// MaxCriterionInstructions bounds the compiled size of a criterion's regex.
// Matching takes time linear in the value and in this size, which a short
// pattern can make large: a counted repetition copies its body, so
// `(?i)\pL{0,1000}` repeated 50 times (555 characters) compiles to 100,000
// instructions and takes seconds per 1024-character value. At 2000
// instructions one evaluation of a value of the longest kind (an image, 1024
// characters) stays under a tenth of a second; an ordinary criterion is 10
// to 100 instructions, `^[a-z0-9-]{1,253}$` 509, a two-label DNS name
// `^[a-z0-9-]{1,253}\.[a-z0-9-]{1,253}$` 1015. The limit is checked when a
// hook is written (Validate); a hook stored before it existed still
// indexes and runs.
const MaxCriterionInstructions = 2000

// compile compiles pattern with Go's regexp, whose syntax is RE2's and
// whose matching takes time linear in the pattern and the value (no
// backtracking): a criterion needs no timeout. A construct RE2 lacks
// (lookaround, backreferences, atomic groups) is refused with a hint, and
// a pattern larger than MaxCriterionInstructions is refused.
func compile(pattern string) (*regexp.Regexp, error) {
	return compileWithin(pattern, MaxCriterionInstructions)
}

// compileStored compiles a stored hook's pattern without the size limit:
// a hook written before the limit existed is still matched, never dropped.
func compileStored(pattern string) (*regexp.Regexp, error) { return compileWithin(pattern, 0) }

// compileWithin compiles pattern, refusing one over limit instructions
// (0: no limit).
func compileWithin(pattern string, limit int) (*regexp.Regexp, error) {
	ast, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) && notRE2(se) {
			return nil, fmt.Errorf("%w (RE2 has no lookahead, lookbehind, backreferences or atomic groups)", err)
		}
		return nil, err
	}
	prog, err := syntax.Compile(ast.Simplify())
	if err != nil {
		return nil, err
	}
	if n := len(prog.Inst); limit > 0 && n > limit {
		return nil, fmt.Errorf("too large: it compiles to %d instructions, at most %d "+
			"(a counted repetition such as x{0,500} copies x that many times)", n, limit)
	}
	return regexp.Compile(pattern)
}

// notRE2 reports whether a parse error is a construct of other regex
// dialects (Perl, PCRE, .NET) that RE2 leaves out on purpose.
func notRE2(se *syntax.Error) bool {
	switch se.Code {
	case syntax.ErrInvalidPerlOp, syntax.ErrInvalidNamedCapture: // (?<=…) reads as a named group
		for _, p := range []string{"(?=", "(?!", "(?<=", "(?<!", "(?>"} {
			if strings.HasPrefix(se.Expr, p) {
				return true
			}
		}
	case syntax.ErrInvalidEscape:
		// \1 to \9 and \k<name> are backreferences.
		return len(se.Expr) >= 2 && (se.Expr[1] >= '1' && se.Expr[1] <= '9' || se.Expr[1] == 'k')
	}
	return false
}

// regexCache holds compiled patterns by source text, up to size entries; when
// full it evicts an arbitrary entry. Regexes are safe for concurrent use.
type regexCache struct {
	size int

	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

func newRegexCache(size int) *regexCache {
	return &regexCache{size: size, m: make(map[string]*regexp.Regexp)}
}

// compile returns the compiled pattern, compiling it on a miss. Compilation
// runs outside the lock; two racing misses compile twice and keep one.
func (c *regexCache) compile(pattern string) (*regexp.Regexp, error) {
	c.mu.Lock()
	re, ok := c.m[pattern]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := compileStored(pattern)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[pattern]; ok {
		return prev, nil
	}
	if len(c.m) >= c.size {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[pattern] = re
	return re, nil
}

func (c *regexCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Container attributes a criterion can test, as indexes of target.fields.
const (
	fieldImage = iota
	fieldContainer
	fieldPod
	fieldNamespace
	fieldLabels // not in target.fields: tested against target.labels
)

var fieldOf = map[string]int{
	CriterionContainerImage: fieldImage,
	CriterionContainerName:  fieldContainer,
	CriterionPodName:        fieldPod,
	CriterionNamespaceName:  fieldNamespace,
	CriterionPodLabel:       fieldLabels,
}

// criterion is a compiled criterion.
type criterion struct {
	ref   CriterionRef
	field int
	re    *regexp.Regexp
}

// compileCriteria pairs validated criteria with their compiled regexes.
func compileCriteria(cs []Criterion, res []*regexp.Regexp) []criterion {
	out := make([]criterion, len(cs))
	for i, c := range cs {
		out[i] = criterion{ref: CriterionRef{Index: i, Criterion: c}, field: fieldOf[c.Type], re: res[i]}
	}
	return out
}

// target is a container prepared for matching: its attributes and its
// "key=value" labels, built once per Match call and shared by every
// candidate hook.
type target struct {
	c      *events.Container
	fields [fieldLabels]string
	labels []string
}

// newTargets prepares cs.
func newTargets(cs []events.Container) []target {
	nl := 0
	for i := range cs {
		nl += len(cs[i].PodLabels)
	}
	labels := make([]string, 0, nl)
	ts := make([]target, len(cs))
	for i := range cs {
		c := &cs[i]
		t := &ts[i]
		t.c = c
		t.fields = [fieldLabels]string{
			fieldImage:     c.ContainerImage,
			fieldContainer: c.ContainerName,
			fieldPod:       c.PodName,
			fieldNamespace: c.NamespaceName,
		}
		start := len(labels)
		for _, l := range c.PodLabels {
			labels = append(labels, l.Name+"="+l.Value)
		}
		t.labels = labels[start:len(labels):len(labels)]
	}
	return ts
}

// test reports whether c's regex is found in t's attribute; a podLabel
// criterion matches when it is found in any "key=value" label.
func (c *criterion) test(t *target) bool {
	if c.field != fieldLabels {
		return c.re.MatchString(t.fields[c.field])
	}
	for _, l := range t.labels {
		if c.re.MatchString(l) {
			return true
		}
	}
	return false
}

// firstFailure returns the index in cs of the first criterion that does not
// match t, or -1 when all match (AND, on the same container).
func firstFailure(cs []criterion, t *target) int {
	for i := range cs {
		if !cs[i].test(t) {
			return i
		}
	}
	return -1
}

// describeFailure says why criterion c did not match container t.
func describeFailure(c *criterion, t *target) string {
	ref := c.ref
	if c.field != fieldLabels {
		return fmt.Sprintf("%s `%s` did not match %q", ref.Type, ref.Value, attribute(t.c, c.field))
	}
	if len(t.c.PodLabels) == 0 {
		return fmt.Sprintf("%s `%s` matched no label: the pod has no labels", ref.Type, ref.Value)
	}
	labels := make([]string, len(t.c.PodLabels))
	for i, l := range t.c.PodLabels {
		labels[i] = l.Name + "=" + l.Value
	}
	return fmt.Sprintf("%s `%s` matched none of the labels [%s]", ref.Type, ref.Value, strings.Join(labels, " "))
}

// attribute returns the container attribute a field index names.
func attribute(c *events.Container, field int) string {
	switch field {
	case fieldImage:
		return c.ContainerImage
	case fieldContainer:
		return c.ContainerName
	case fieldPod:
		return c.PodName
	default:
		return c.NamespaceName
	}
}
