package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/hookshot-dev/hookshot/events"
)

// MaxFileBytes bounds a scenario file and every script file it names.
const MaxFileBytes = 1 << 20

// maxNodes bounds how many YAML nodes one file may expand to, aliases
// included: a few anchors must not make the parser walk billions of nodes.
const maxNodes = 100_000

// Load reads and parses the scenario file at path; see Parse.
func Load(path string) (*Scenario, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, &ValidationError{Problems: []Problem{{File: path, Reason: err.Error()}}}
	}
	return Parse(data, path)
}

// LoadDefinitions is Load for Replay: it reads a scenario's apps, sources,
// hooks and overrides, and ignores its steps, including their problems.
func LoadDefinitions(path string) (*Scenario, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, &ValidationError{Problems: []Problem{{File: path, Reason: err.Error()}}}
	}
	return parse(data, path, fileReader(path), false)
}

// Parse parses a scenario file's content and validates it. path names the
// file in problems, and script files are read relative to its directory.
// Every problem — unknown key, wrong type, reference to something missing,
// a hook or source Hookshot would refuse — is collected into one
// *ValidationError, each with its file, line and field.
func Parse(data []byte, path string) (*Scenario, error) {
	return parse(data, path, fileReader(path), true)
}

// fileReader reads script files relative to the scenario file at path.
func fileReader(path string) func(string) ([]byte, error) {
	dir := filepath.Dir(path)
	return func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return readBounded(name)
	}
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxFileBytes)
	}
	return data, nil
}

// parse decodes data and validates the result; steps says whether steps
// are checked (Run) or ignored (Replay's definitions).
func parse(data []byte, path string, read func(string) ([]byte, error), steps bool) (*Scenario, error) {
	d := &decoder{file: path, read: read, lines: map[string]int{}, bad: map[string]bool{}, budget: maxNodes}
	sc := d.document(data)
	sc.File, sc.lines = path, d.lines
	if !d.broken {
		for _, p := range sc.validate(steps) {
			if !d.reported(p.Field) {
				d.problems = append(d.problems, p)
			}
		}
	}
	if !steps {
		d.problems = slices.DeleteFunc(d.problems, func(p Problem) bool { return underPath(p.Field, "steps") })
		sc.Steps = nil
	}
	if len(d.problems) > 0 {
		slices.SortStableFunc(d.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &ValidationError{Problems: d.problems}
	}
	return sc, nil
}

// underPath reports whether field is path or lies below it.
func underPath(field, path string) bool {
	if path == "" {
		return true // the whole document
	}
	if !strings.HasPrefix(field, path) {
		return false
	}
	rest := field[len(path):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

// decoder walks a YAML node tree into a Scenario, recording each field's
// line and every syntax or type problem.
type decoder struct {
	file     string
	read     func(string) ([]byte, error)
	problems []Problem
	lines    map[string]int
	bad      map[string]bool // fields with a problem already reported
	budget   int
	// broken is set when the file is not one YAML document: there is
	// nothing to validate.
	broken bool
}

// reported reports whether a problem was already recorded at field or one
// of the fields it lies in, so validation does not pile a "required" onto a
// "wrong type".
func (d *decoder) reported(field string) bool {
	for f := range d.bad {
		if underPath(field, f) {
			return true
		}
	}
	return false
}

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Field: field, Reason: fmt.Sprintf(format, args...)})
	d.bad[field] = true
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func (d *decoder) document(data []byte) *Scenario {
	sc := &Scenario{}
	if len(data) > MaxFileBytes {
		d.fail(nil, "", "file is larger than %d bytes", MaxFileBytes)
		d.broken = true
		return sc
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(nil, "", "file is empty")
			d.broken = true
			return sc
		}
		d.yamlError(err)
		return sc
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		// Not d.fail: the first document is still worth validating.
		d.problems = append(d.problems, Problem{File: d.file, Line: extra.Line, Reason: "only one YAML document per file"})
	} else if !errors.Is(err, io.EOF) {
		d.yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			d.fail(root, "", "file is empty")
			d.broken = true
			return sc
		}
		root = root.Content[0]
	}
	f := d.fields(root, "", "name", "description", "apps", "sources", "hooks", "overrides", "steps")
	sc.Name = d.str(f, "", "name")
	sc.Description = d.str(f, "", "description")
	d.list(f, "", "apps", func(n *yaml.Node, p string) { sc.Apps = append(sc.Apps, d.app(n, p)) })
	d.list(f, "", "sources", func(n *yaml.Node, p string) { sc.Sources = append(sc.Sources, d.source(n, p)) })
	d.list(f, "", "hooks", func(n *yaml.Node, p string) { sc.Hooks = append(sc.Hooks, d.hook(n, p)) })
	d.list(f, "", "overrides", func(n *yaml.Node, p string) { sc.Overrides = append(sc.Overrides, d.override(n, p)) })
	d.list(f, "", "steps", func(n *yaml.Node, p string) { sc.Steps = append(sc.Steps, d.step(n, p)) })
	return sc
}

// yamlError records a YAML syntax error at the line it names.
func (d *decoder) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Reason: "invalid YAML: " + msg})
	d.broken = true
}

func (d *decoder) app(n *yaml.Node, p string) App {
	f := d.fields(n, p, "name", "containers")
	a := App{Name: d.str(f, p, "name")}
	d.list(f, p, "containers", func(n *yaml.Node, p string) { a.Containers = append(a.Containers, d.container(n, p)) })
	return a
}

func (d *decoder) container(n *yaml.Node, p string) Container {
	f := d.fields(n, p, "namespace", "pod", "container", "image", "labels")
	c := Container{Namespace: d.str(f, p, "namespace"), Pod: d.str(f, p, "pod"), Container: d.str(f, p, "container"), Image: d.str(f, p, "image")}
	if e, ok := f["labels"]; ok {
		lp := join(p, "labels")
		if m := d.resolve(e.val); m != nil && !isNull(m) {
			if m.Kind != yaml.MappingNode {
				d.fail(m, lp, "must be a mapping of label names to values, not %s", describe(m))
			} else {
				c.Labels = map[string]string{}
				for _, kv := range d.pairs(m, lp) {
					k := d.resolve(kv.key)
					if k == nil {
						continue
					}
					if k.Kind != yaml.ScalarNode {
						d.fail(k, lp, "label names must be strings, not %s", describe(k))
						continue
					}
					kp := join(lp, k.Value)
					if _, dup := c.Labels[k.Value]; dup {
						d.fail(k, kp, "given twice")
						continue
					}
					d.lines[kp] = k.Line
					v, _ := d.scalarString(kv.val, kp)
					c.Labels[k.Value] = v
				}
			}
		}
	}
	return c
}

func (d *decoder) source(n *yaml.Node, p string) Source {
	f := d.fields(n, p, "name", "script", "file")
	s := Source{Name: d.str(f, p, "name"), Script: d.str(f, p, "script"), File: d.str(f, p, "file")}
	if s.File != "" {
		data, err := d.read(s.File)
		switch {
		case err != nil:
			d.fail(f["file"].val, join(p, "file"), "cannot read the script: %v", err)
		case !utf8.Valid(data):
			d.fail(f["file"].val, join(p, "file"), "the script is not UTF-8 text")
		default:
			if s.Script != "" {
				break // both given: validate says so
			}
			s.Script = string(data)
		}
	}
	return s
}

func (d *decoder) hook(n *yaml.Node, p string) Hook {
	f := d.fields(n, p, "name", "app", "action", "stage", "source", "arguments", "criteria",
		"failureMode", "timeoutSeconds", "enabled", "hookType", "description")
	h := Hook{
		Name: d.str(f, p, "name"), App: d.str(f, p, "app"), Action: events.Action(d.str(f, p, "action")), Stage: events.Stage(d.str(f, p, "stage")),
		Source: d.str(f, p, "source"), Arguments: d.strs(f, p, "arguments"), FailureMode: events.FailureMode(d.str(f, p, "failureMode")),
		TimeoutSeconds: d.integer(f, p, "timeoutSeconds"), HookType: d.str(f, p, "hookType"), Description: d.str(f, p, "description"),
	}
	d.list(f, p, "criteria", func(n *yaml.Node, p string) {
		cf := d.fields(n, p, "type", "value")
		h.Criteria = append(h.Criteria, Criterion{Type: d.str(cf, p, "type"), Value: d.str(cf, p, "value")})
	})
	if e, ok := f["enabled"]; ok {
		v := d.resolve(e.val)
		ep := join(p, "enabled")
		switch {
		case v == nil || isNull(v):
		case v.Kind == yaml.ScalarNode && v.Tag == "!!bool":
			b := v.Value == "true"
			_ = v.Decode(&b)
			h.Enabled = &b
		case v.Kind == yaml.ScalarNode && (v.Value == "true" || v.Value == "false"):
			b := v.Value == "true" // Astra spells it as a string
			h.Enabled = &b
		default:
			d.fail(v, ep, "must be true or false, not %s", describe(v))
		}
	}
	return h
}

func (d *decoder) override(n *yaml.Node, p string) Override {
	f := d.fields(n, p, "app", "hook", "enabled")
	o := Override{App: d.str(f, p, "app"), Hook: d.str(f, p, "hook")}
	if b := d.boolean(f, p, "enabled"); b != nil {
		o.Enabled = *b
	} else if _, ok := f["enabled"]; !ok {
		d.fail(n, join(p, "enabled"), "required: true or false")
	}
	return o
}

func (d *decoder) step(n *yaml.Node, p string) Step {
	f := d.fields(n, p, "name", "action", "app", "event", "expect")
	s := Step{Name: d.str(f, p, "name"), Action: events.Action(d.str(f, p, "action")), App: d.str(f, p, "app")}
	if e, ok := f["event"]; ok && !isNull(d.resolve(e.val)) {
		ep := join(p, "event")
		ef := d.fields(e.val, ep, "action", "stage", "app", "runID", "containers")
		ev := &Event{Action: events.Action(d.str(ef, ep, "action")), Stage: events.Stage(d.str(ef, ep, "stage")), App: d.str(ef, ep, "app"), RunID: d.str(ef, ep, "runID")}
		d.list(ef, ep, "containers", func(n *yaml.Node, p string) { ev.Containers = append(ev.Containers, d.container(n, p)) })
		s.Event = ev
	}
	if e, ok := f["expect"]; ok && !isNull(d.resolve(e.val)) {
		s.Expect = d.expect(e.val, join(p, "expect"))
	}
	return s
}

func (d *decoder) expect(n *yaml.Node, p string) Expect {
	f := d.fields(n, p, "state", "stateUnready", "hookState", "abortAction", "details", "executions", "exactly", "order")
	x := Expect{
		State: d.str(f, p, "state"), StateUnready: d.strs(f, p, "stateUnready"), HookState: events.HookState(d.str(f, p, "hookState")),
		AbortAction: d.boolean(f, p, "abortAction"), Details: d.strs(f, p, "details"), Exactly: d.boolean(f, p, "exactly"),
		Order: d.strs(f, p, "order"),
	}
	if e, ok := f["executions"]; ok && !isNull(d.resolve(e.val)) {
		x.Executions = []ExpectedExecution{}
		d.list(f, p, "executions", func(n *yaml.Node, p string) {
			ef := d.fields(n, p, "hook", "container", "stage", "status", "exitCode", "output", "attempt", "timedOut")
			ex := ExpectedExecution{
				Hook: d.str(ef, p, "hook"), Container: d.str(ef, p, "container"), Stage: d.str(ef, p, "stage"),
				Status: events.Status(d.str(ef, p, "status")), Output: d.str(ef, p, "output"), Attempt: d.integer(ef, p, "attempt"),
				TimedOut: d.boolean(ef, p, "timedOut"),
			}
			if e, ok := ef["exitCode"]; ok && !isNull(d.resolve(e.val)) {
				if v, ok := d.scalarInt(e.val, join(p, "exitCode")); ok {
					ex.ExitCode = &v
				}
			}
			if e, ok := ef["attempt"]; ok && ex.Attempt < 1 && !d.bad[join(p, "attempt")] && !isNull(d.resolve(e.val)) {
				d.fail(e.val, join(p, "attempt"), "must be at least 1 (the first delivery)")
			}
			x.Executions = append(x.Executions, ex)
		})
	}
	return x
}

// entry is one key and its value in a mapping.
type entry struct{ key, val *yaml.Node }

// resolve follows aliases and charges the node budget. It returns nil once
// the budget is spent (one problem says so).
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	d.charge(1, n)
	if d.budget <= 0 || n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// charge takes k nodes off the budget; the first time it runs out, one
// problem says so and the walk stops descending.
func (d *decoder) charge(k int, at *yaml.Node) {
	before := d.budget
	d.budget -= k
	if before > 0 && d.budget <= 0 {
		d.fail(at, "", "the file expands to more than %d YAML nodes (too many aliases or merges?)", maxNodes)
	}
}

// pairs returns the entries of a mapping, with merge keys (<<: *base)
// expanded: an entry given explicitly wins over a merged one, an earlier
// merged one over a later. Every merged entry is charged to the node budget,
// so nested merges cannot blow up.
func (d *decoder) pairs(n *yaml.Node, p string) []entry {
	var out, merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!merge" {
			out = append(out, entry{k, v})
			continue
		}
		m := d.resolve(v)
		var sources []*yaml.Node
		switch {
		case m == nil:
		case m.Kind == yaml.MappingNode:
			sources = []*yaml.Node{m}
		case m.Kind == yaml.SequenceNode:
			for _, s := range m.Content {
				sources = append(sources, d.resolve(s))
			}
		default:
			sources = []*yaml.Node{m}
		}
		for _, s := range sources {
			if d.budget <= 0 {
				break
			}
			if s == nil || s.Kind != yaml.MappingNode {
				d.fail(v, p, "<< must merge a mapping or a list of mappings")
				continue
			}
			more := d.pairs(s, p)
			d.charge(len(more), s)
			merged = append(merged, more...)
		}
	}
	seen := make(map[string]bool, len(out))
	for _, e := range out {
		seen[e.key.Value] = true
	}
	for _, m := range merged {
		if !seen[m.key.Value] {
			seen[m.key.Value] = true
			out = append(out, m)
		}
	}
	return out
}

// fields checks that n is a mapping whose keys are among known, records the
// line of each, and returns them by name. Unknown and repeated keys are
// problems; so is n not being a mapping (nil is returned).
func (d *decoder) fields(n *yaml.Node, p string, known ...string) map[string]entry {
	n = d.resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, "must be a mapping, not %s", describe(n))
		return nil
	}
	out := map[string]entry{}
	for _, e := range d.pairs(n, p) {
		k := d.resolve(e.key)
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, p, "keys must be strings, not %s", describe(k))
			continue
		}
		fp := join(p, k.Value)
		if !slices.Contains(known, k.Value) {
			d.fail(k, fp, "unknown field (known: %s)", strings.Join(known, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.fail(k, fp, "given twice")
			continue
		}
		out[k.Value] = entry{k, e.val}
		d.lines[fp] = k.Line
	}
	return out
}

// list calls item for each element of the list at f[name].
func (d *decoder) list(f map[string]entry, p, name string, item func(*yaml.Node, string)) {
	e, ok := f[name]
	if !ok {
		return
	}
	lp := join(p, name)
	n := d.resolve(e.val)
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, lp, "must be a list, not %s", describe(n))
		return
	}
	for i, c := range n.Content {
		ip := lp + "[" + strconv.Itoa(i) + "]"
		if r := d.resolve(c); r != nil {
			d.lines[ip] = r.Line
			item(r, ip)
		}
	}
}

func (d *decoder) str(f map[string]entry, p, name string) string {
	e, ok := f[name]
	if !ok {
		return ""
	}
	s, _ := d.scalarString(e.val, join(p, name))
	return s
}

// scalarString accepts any scalar but a boolean: YAML reads `8.4` as a
// number, but its text is what the author wrote.
func (d *decoder) scalarString(n *yaml.Node, p string) (string, bool) {
	n = d.resolve(n)
	switch {
	case n == nil || isNull(n):
		return "", false
	case n.Kind != yaml.ScalarNode:
		d.fail(n, p, "must be a string, not %s", describe(n))
	case n.Tag == "!!bool":
		d.fail(n, p, "must be a string, not a boolean (quote it: \"%s\")", n.Value)
	default:
		return n.Value, true
	}
	return "", false
}

func (d *decoder) strs(f map[string]entry, p, name string) []string {
	var out []string
	d.list(f, p, name, func(n *yaml.Node, ip string) {
		if s, ok := d.scalarString(n, ip); ok {
			out = append(out, s)
		} else if !d.bad[ip] {
			d.fail(n, ip, "must be a string")
		}
	})
	if e, ok := f[name]; ok && out == nil && !isNull(d.resolve(e.val)) {
		out = []string{}
	}
	return out
}

func (d *decoder) integer(f map[string]entry, p, name string) int {
	e, ok := f[name]
	if !ok {
		return 0
	}
	v, _ := d.scalarInt(e.val, join(p, name))
	return v
}

func (d *decoder) scalarInt(n *yaml.Node, p string) (int, bool) {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return 0, false
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		d.fail(n, p, "must be a whole number, not %s", describe(n))
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(f map[string]entry, p, name string) *bool {
	e, ok := f[name]
	if !ok {
		return nil
	}
	n := d.resolve(e.val)
	if n == nil || isNull(n) {
		return nil
	}
	var v bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		d.fail(n, join(p, name), "must be true or false, not %s", describe(n))
		return nil
	}
	return &v
}

func isNull(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what a node is, for "must be X, not Y".
func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if utf8.RuneCountInString(v) > 40 {
			v = string([]rune(v)[:39]) + "…"
		}
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return "the boolean " + v
		case "!!int", "!!float":
			return "the number " + v
		default:
			return fmt.Sprintf("the string %q", v)
		}
	}
	return "an unsupported YAML node"
}

func join(p, name string) string {
	if p == "" {
		return name
	}
	return p + "." + name
}
