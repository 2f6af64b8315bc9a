package scenario_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/internal/scenario"
)

// valid is a small valid scenario; the table below breaks it one way at a time.
const valid = `name: valid
apps:
  - name: db
    containers:
      - {namespace: ns, pod: db-0, container: mysql, image: "mysql:8.4"}
sources:
  - name: freeze
    script: |
      echo frozen
hooks:
  - name: freeze
    app: db
    action: snapshot
    stage: pre
    source: freeze
    timeoutSeconds: 5
steps:
  - action: snapshot
    app: db
    expect:
      executions:
        - {hook: freeze, container: db-0/mysql}
`

func writeScenario(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestScenarioParseErrorsNameFileLineAndField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given string
		want  []string // each a problem line, with the file's base name before it
	}{
		{
			name:  "valid",
			given: valid,
		},
		{
			name:  "unknown key",
			given: strings.Replace(valid, "    timeoutSeconds: 5\n", "    timeout: 5\n", 1),
			want:  []string{":16: hooks[0].timeout: unknown field (known: name, app, action, stage, source, arguments, criteria, failureMode, timeoutSeconds, enabled, hookType, description)"},
		},
		{
			name:  "wrong type",
			given: strings.Replace(valid, "timeoutSeconds: 5", "timeoutSeconds: soon", 1),
			want:  []string{`:16: hooks[0].timeoutSeconds: must be a whole number, not the string "soon"`},
		},
		{
			name:  "hook pointing at a missing source",
			given: strings.Replace(valid, "    source: freeze\n", "    source: freez\n", 1),
			want:  []string{`:15: hooks[0].source: no source named "freez" (defined: freeze)`},
		},
		{
			name:  "a list where a mapping belongs",
			given: strings.Replace(valid, "    expect:\n      executions:\n        - {hook: freeze, container: db-0/mysql}\n", "    expect: [state]\n", 1),
			want:  []string{":20: steps[0].expect: must be a mapping, not a list"},
		},
		{
			name: "every problem at once",
			given: strings.NewReplacer(
				"  - name: db\n", "  - name: db\n    replicas: 3\n",
				"timeoutSeconds: 5", "timeoutSeconds: 100000",
				"{hook: freeze, container: db-0/mysql}", "{hook: thaw, container: db-1/mysql, exitCode: zero}",
			).Replace(valid),
			want: []string{
				":4: apps[0].replicas: unknown field (known: name, containers)",
				":17: hooks[0].timeoutSeconds: must be between 1 and 86400 (0 or absent: 1500)",
				`:23: steps[0].expect.executions[0].exitCode: must be a whole number, not the string "zero"`,
				`:23: steps[0].expect.executions[0].hook: no hook named "thaw" (defined: freeze)`,
				`:23: steps[0].expect.executions[0].container: no container "db-1/mysql" in the step's inventory (defined: db-0/mysql)`,
			},
		},
		{
			name:  "invalid regex and an action without that stage",
			given: strings.Replace(valid, "    timeoutSeconds: 5\n", "    timeoutSeconds: 5\n    criteria: [{type: containerImage, value: 'mysql('}]\n", 1),
			want:  []string{":17: hooks[0].criteria[0].value: invalid RE2 regex"},
		},
		{
			name:  "a script with a carriage return",
			given: strings.Replace(valid, "    script: |\n      echo frozen\n", "    script: \"echo frozen\\r\\n\"\n", 1),
			want:  []string{":8: sources[0].script: the script contains a carriage return"},
		},
		{
			name:  "not YAML",
			given: "name: [unclosed\n",
			want:  []string{":1: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name:  "a state for an event step",
			given: strings.Replace(valid, "  - action: snapshot\n    app: db\n", "  - event: {action: snapshot, stage: pre, app: db}\n", 1) + "      state: completed\n",
			want:  []string{":22: steps[0].expect.state: only an action step has a state"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeScenario(t, "s.yaml", tt.given)
			sc, err := scenario.Load(path)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if sc.Name != "valid" || len(sc.Hooks) != 1 || sc.Sources[0].Script != "echo frozen\n" {
					t.Fatalf("parsed %+v", sc)
				}
				return
			}
			var ve *scenario.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, scenario.ErrInvalidScenario) {
				t.Fatalf("Load: %v, want a *ValidationError", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%s", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, path+w)
				}
				if !found {
					t.Errorf("no problem %q in:\n%s", path+w, err)
				}
			}
		})
	}
}

// Scripts are read relative to the scenario file.
func TestScenarioSourceFileIsRelativeToTheScenario(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scripts", "f.sh"), []byte("echo from a file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.yaml")
	content := strings.Replace(valid, "    script: |\n      echo frozen\n", "    file: scripts/f.sh\n", 1)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Sources[0].Script != "echo from a file\n" || sc.Sources[0].File != "scripts/f.sh" {
		t.Fatalf("source %+v", sc.Sources[0])
	}
	missing := writeScenario(t, "m.yaml", strings.Replace(content, "scripts/f.sh", "scripts/nope.sh", 1))
	if _, err := scenario.Load(missing); err == nil || !strings.Contains(err.Error(), missing+":8: sources[0].file: cannot read the script") {
		t.Fatalf("Load with a missing script file: %v", err)
	}
}

// Merge keys that multiply (each level merging the one below ten times) are
// cut off at a node budget with one problem, not walked for minutes.
func TestScenarioParseMergeBombIsRefused(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("name: bomb\nx0: &a0 {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1, k9: 1}\n")
	for l := 1; l < 10; l++ {
		b.WriteString("x" + strconv.Itoa(l) + ": &a" + strconv.Itoa(l) + " {<<: [")
		for j := 0; j < 10; j++ {
			b.WriteString("*a" + strconv.Itoa(l-1) + ", ")
		}
		b.WriteString("]}\n")
	}
	b.WriteString("apps:\n  - <<: *a9\n    labels: {<<: *a9}\n")
	_, err := scenario.Parse([]byte(b.String()), "bomb.yaml")
	if err == nil || !strings.Contains(err.Error(), ": the file expands to more than 100000 YAML nodes") {
		t.Fatalf("Parse: %v", err)
	}
}
