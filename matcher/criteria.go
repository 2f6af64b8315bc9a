package matcher

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"

	"github.com/hookshot-dev/hookshot/events"
)

// CriterionRef is a criterion with its position in the hook's
// matchingCriteria.
type CriterionRef struct {
	Index int `json:"index"`
	Criterion
}

// compile compiles pattern with regexp2 in RE2 mode. A positive timeout
// becomes the regex's MatchTimeout. A panic inside regexp2 is an error:
// patterns are outside input.
func compile(pattern string, timeout time.Duration) (re *regexp2.Regexp, err error) {
	defer func() {
		if r := recover(); r != nil {
			re, err = nil, fmt.Errorf("regexp2 panicked: %v", r)
		}
	}()
	// Astra documents criteria as RE2 regular expressions. regexp2 in RE2
	// mode still accepts what RE2 does not (lookaround, backreferences,
	// atomic groups), so the pattern must first be valid RE2: Go's regexp
	// syntax is RE2's.
	_, rerr := syntax.Parse(pattern, syntax.Perl)
	re, err = regexp2.Compile(pattern, regexp2.RE2)
	switch {
	case rerr != nil && err == nil:
		return nil, fmt.Errorf("%w (RE2 has no lookahead, lookbehind, backreferences or atomic groups)", rerr)
	case rerr != nil:
		return nil, rerr
	case err != nil:
		return nil, err
	}
	if timeout > 0 {
		re.MatchTimeout = timeout
	}
	return re, nil
}

// regexCache holds compiled patterns by source text, up to size entries; when
// full it evicts an arbitrary entry. Regexes are safe for concurrent use, and
// all of one cache share the same MatchTimeout.
type regexCache struct {
	timeout time.Duration
	size    int

	mu sync.Mutex
	m  map[string]*regexp2.Regexp
}

func newRegexCache(size int, timeout time.Duration) *regexCache {
	return &regexCache{timeout: timeout, size: size, m: make(map[string]*regexp2.Regexp)}
}

// compile returns the compiled pattern, compiling it on a miss. Compilation
// runs outside the lock; two racing misses compile twice and keep one.
func (c *regexCache) compile(pattern string) (*regexp2.Regexp, error) {
	c.mu.Lock()
	re, ok := c.m[pattern]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := compile(pattern, c.timeout)
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
	re    *regexp2.Regexp
}

// compileCriteria pairs validated criteria with their compiled regexes.
func compileCriteria(cs []Criterion, res []*regexp2.Regexp) []criterion {
	out := make([]criterion, len(cs))
	for i, c := range cs {
		out[i] = criterion{ref: CriterionRef{Index: i, Criterion: c}, field: fieldOf[c.Type], re: res[i]}
	}
	return out
}

// target is a container prepared for matching: its attributes and its
// "key=value" labels as runes, converted once per Match call and shared by
// every candidate hook (regexp2 matches runes).
type target struct {
	c      *events.Container
	fields [fieldLabels][]rune
	labels [][]rune
}

// newTargets prepares cs with one rune buffer for all of them.
func newTargets(cs []events.Container) []target {
	n, nl := 0, 0
	for i := range cs {
		c := &cs[i]
		n += utf8.RuneCountInString(c.ContainerImage) + utf8.RuneCountInString(c.ContainerName) +
			utf8.RuneCountInString(c.PodName) + utf8.RuneCountInString(c.NamespaceName)
		for _, l := range c.PodLabels {
			n += utf8.RuneCountInString(l.Name) + 1 + utf8.RuneCountInString(l.Value)
		}
		nl += len(c.PodLabels)
	}
	buf := make([]rune, 0, n)
	labels := make([][]rune, 0, nl)
	runes := func(ss ...string) []rune {
		start := len(buf)
		for _, s := range ss {
			for _, r := range s {
				buf = append(buf, r)
			}
		}
		return buf[start:len(buf):len(buf)]
	}
	ts := make([]target, len(cs))
	for i := range cs {
		c := &cs[i]
		t := &ts[i]
		t.c = c
		t.fields[fieldImage] = runes(c.ContainerImage)
		t.fields[fieldContainer] = runes(c.ContainerName)
		t.fields[fieldPod] = runes(c.PodName)
		t.fields[fieldNamespace] = runes(c.NamespaceName)
		start := len(labels)
		for _, l := range c.PodLabels {
			labels = append(labels, runes(l.Name, "=", l.Value))
		}
		t.labels = labels[start:len(labels):len(labels)]
	}
	return ts
}

// test reports whether c's regex is found in t's attribute; a podLabel
// criterion matches when it is found in any "key=value" label.
func (c *criterion) test(t *target) (bool, error) {
	if c.field != fieldLabels {
		return c.re.MatchRunes(t.fields[c.field])
	}
	for _, l := range t.labels {
		if ok, err := c.re.MatchRunes(l); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// firstFailure returns the index in cs of the first criterion that does not
// match t, or -1 when all match (AND, on the same container). An evaluation
// error is a *CriterionError for that criterion and never a match.
func firstFailure(cs []criterion, t *target) (failed int, err error) {
	i := 0
	defer func() {
		if r := recover(); r != nil {
			failed, err = i, &CriterionError{Criterion: cs[i].ref, Err: fmt.Errorf("regexp2 panicked: %v", r)}
		}
	}()
	for ; i < len(cs); i++ {
		ok, err := cs[i].test(t)
		if err != nil {
			return i, &CriterionError{Criterion: cs[i].ref, Err: fmt.Errorf("%w: %w", ErrMatchTimeout, err)}
		}
		if !ok {
			return i, nil
		}
	}
	return -1, nil
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
