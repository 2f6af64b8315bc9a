package matcher

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// seedExample reads the "Example request" of the Astra create-hook page.
func seedExample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("/work/shared/reference/seeds/astra-core-create-execution-hook.txt")
	if err != nil {
		t.Skipf("seed not available: %v", err)
	}
	m := regexp.MustCompile(`(?s)Example request\n(\{.*?\n\})`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no example request in the seed")
	}
	return m[1]
}

// astraExample is the same request, for tests that must not depend on files.
const astraExample = `{
  "type": "application/astra-executionHook",
  "version": "1.3",
  "name": "Payroll",
  "hookType": "custom",
  "action": "snapshot",
  "stage": "pre",
  "hookSourceID": "50e89023-ba84-435d-bb47-1833f4c250ff",
  "arguments": ["freeze"],
  "appID": "7be5ae7c-151d-4230-ac39-ac1d0b33c2a9",
  "enabled": "true",
  "description": "Payroll production hook"
}`

func TestValidateSeedExample(t *testing.T) {
	t.Parallel()
	for name, body := range map[string][]byte{"seed": seedExample(t), "const": []byte(astraExample)} {
		var h ExecutionHook
		if err := json.Unmarshal(body, &h); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := h.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v, want nil", name, err)
		}
		if h.Name != "Payroll" || h.Arguments[0] != "freeze" {
			t.Errorf("%s: decoded %+v", name, h)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	crit := func(n int) []Criterion {
		cs := make([]Criterion, n)
		for i := range cs {
			cs[i] = Criterion{CriterionPodName, strings.Repeat("p", i+1)}
		}
		return cs
	}
	args := func(n int) []string {
		as := make([]string, n)
		for i := range as {
			as[i] = strings.Repeat("a", i)
		}
		return as
	}
	tests := []struct {
		name       string
		given      func(h *ExecutionHook)
		wantFields []string
		wantReason string // a substring of the first field's reason
	}{
		{name: "valid", given: func(h *ExecutionHook) {}},
		{name: "valid with every criterion type", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionContainerImage, `\bmariadb\b`}, {CriterionContainerName, "^db$"},
				{CriterionPodName, "mysql-[0-9]+"}, {CriterionPodLabel, "^app=mysql$"}, {CriterionNamespaceName, "(?i)prod"}}
		}},
		{name: "valid extremes", given: func(h *ExecutionHook) {
			h.Name = strings.Repeat("é", 63) // 126 bytes, 63 characters
			h.MatchingCriteria = crit(10)
			h.Arguments = args(16)
			h.Arguments[15] = strings.Repeat("ü", 127)
			h.Description = strings.Repeat("d", 511)
			h.TimeoutSeconds = 86400
			h.FailureMode = FailureModeFail
			h.Version = Version10
			h.HookType = HookTypeNetApp
		}},
		{name: "valid optional fields empty", given: func(h *ExecutionHook) {
			h.ID, h.Enabled, h.FailureMode, h.TimeoutSeconds = "", "", "", 0
			h.MatchingCriteria, h.Arguments = nil, nil
		}},
		{name: "valid v5 id", given: func(h *ExecutionHook) { h.ID = "5f7e2e31-280d-5984-a28b-2d19ab5b77c0" }},
		{name: "valid nil uuid", given: func(h *ExecutionHook) { h.AppID = "00000000-0000-0000-0000-000000000000" }},
		{name: "valid backup post", given: func(h *ExecutionHook) { h.Action, h.Stage = ActionBackup, StagePost }},
		{name: "valid failover post", given: func(h *ExecutionHook) { h.Action, h.Stage = ActionFailover, StagePost }},

		{name: "type missing", given: func(h *ExecutionHook) { h.Type = "" }, wantFields: []string{"type"}, wantReason: "required"},
		{name: "type wrong", given: func(h *ExecutionHook) { h.Type = "application/astra-hookSource" },
			wantFields: []string{"type"}, wantReason: "must be one of"},
		{name: "version", given: func(h *ExecutionHook) { h.Version = "1.4" }, wantFields: []string{"version"}},
		{name: "id not a uuid", given: func(h *ExecutionHook) { h.ID = "hook-1" }, wantFields: []string{"id"}},
		{name: "id uppercase", given: func(h *ExecutionHook) { h.ID = strings.ToUpper("7be5ae7c-151d-4230-ac39-ac1d0b33c2a9") },
			wantFields: []string{"id"}},
		{name: "id uuid v1", given: func(h *ExecutionHook) { h.ID = "7be5ae7c-151d-1230-ac39-ac1d0b33c2a9" }, wantFields: []string{"id"}},
		{name: "name missing", given: func(h *ExecutionHook) { h.Name = "" }, wantFields: []string{"name"}, wantReason: "required"},
		{name: "name too long", given: func(h *ExecutionHook) { h.Name = strings.Repeat("é", 64) },
			wantFields: []string{"name"}, wantReason: "at most 63 characters, got 64"},
		{name: "hookType", given: func(h *ExecutionHook) { h.HookType = "Custom" }, wantFields: []string{"hookType"}},
		{name: "too many criteria", given: func(h *ExecutionHook) { h.MatchingCriteria = crit(11) },
			wantFields: []string{"matchingCriteria"}, wantReason: "at most 10 items, got 11"},
		{name: "duplicate criteria", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionPodName, "a"}, {CriterionPodLabel, "a"}, {CriterionPodName, "a"}}
		}, wantFields: []string{"matchingCriteria[2]"}, wantReason: "duplicate of matchingCriteria[0]"},
		{name: "criterion type missing", given: func(h *ExecutionHook) { h.MatchingCriteria = []Criterion{{"", "a"}} },
			wantFields: []string{"matchingCriteria[0].type"}, wantReason: "required"},
		{name: "criterion type wrong", given: func(h *ExecutionHook) { h.MatchingCriteria = []Criterion{{"podLabels", "a"}} },
			wantFields: []string{"matchingCriteria[0].type"}},
		{name: "criterion value missing", given: func(h *ExecutionHook) { h.MatchingCriteria = []Criterion{{CriterionPodName, ""}} },
			wantFields: []string{"matchingCriteria[0].value"}, wantReason: "required"},
		{name: "criterion value bad regex", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionPodName, "ok"}, {CriterionPodName, "ok2"}, {CriterionContainerImage, "mysql("}}
		}, wantFields: []string{"matchingCriteria[2].value"}, wantReason: "invalid RE2 regex: "},
		{name: "criterion value lookahead is not RE2", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionContainerImage, `mysql(?!:5)`}}
		}, wantFields: []string{"matchingCriteria[0].value"}, wantReason: "RE2 has no lookahead"},
		{name: "criterion value backreference is not RE2", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionPodName, `(db)-\1`}}
		}, wantFields: []string{"matchingCriteria[0].value"}, wantReason: "invalid RE2 regex: "},
		{name: "criterion value lookbehind, atomic group, named backreference are not RE2", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionPodName, `(?<=db)-0`}, {CriterionPodName, `(?>db)`}, {CriterionPodName, `(?P<n>db)\k<n>`}}
		}, wantFields: []string{"matchingCriteria[0].value", "matchingCriteria[1].value", "matchingCriteria[2].value"},
			wantReason: "RE2 has no lookahead, lookbehind, backreferences or atomic groups"},
		{name: "criterion value RE2 that regexp2 refused", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionPodName, `\p{^L}`}, {CriterionPodName, `\p{Any}`}, {CriterionPodName, `\QA.B\E`}}
		}},
		{name: "criterion value not RE2, no hint", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionPodName, `\Z`}}
		}, wantFields: []string{"matchingCriteria[0].value"}, wantReason: "invalid RE2 regex: error parsing regexp: invalid escape sequence: `\\Z`"},
		{name: "criterion value at the size limit", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionPodName, `^[a-z0-9-]{1,253}$`}, {CriterionContainerImage, `a{999}a{999}`}, {CriterionNamespaceName, `^[a-z0-9-]{1,253}\.[a-z0-9-]{1,253}$`}}
		}},
		{name: "criterion value over the size limit", given: func(h *ExecutionHook) {
			h.MatchingCriteria = []Criterion{{CriterionPodName, `a{999}a{999}a`}, {CriterionContainerImage, `(?i)\pL{0,1000}c`}}
		}, wantFields: []string{"matchingCriteria[0].value", "matchingCriteria[1].value"},
			wantReason: "invalid RE2 regex: too large: it compiles to 2001 instructions, at most 2000"},
		{name: "action", given: func(h *ExecutionHook) { h.Action = "clone" }, wantFields: []string{"action"}},
		{name: "stage", given: func(h *ExecutionHook) { h.Stage = "during" }, wantFields: []string{"stage"}},
		{name: "restore has no pre stage", given: func(h *ExecutionHook) { h.Action, h.Stage = ActionRestore, StagePre },
			wantFields: []string{"stage"}, wantReason: `"pre" is not a stage of action "restore" (allowed: post)`},
		{name: "failover has no pre stage", given: func(h *ExecutionHook) { h.Action = ActionFailover },
			wantFields: []string{"stage"}},
		{name: "hookSourceID missing", given: func(h *ExecutionHook) { h.HookSourceID = "" },
			wantFields: []string{"hookSourceID"}, wantReason: "required"},
		{name: "hookSourceID wrong", given: func(h *ExecutionHook) { h.HookSourceID = "my-script" },
			wantFields: []string{"hookSourceID"}, wantReason: "Astra Identifier Schema"},
		{name: "too many arguments", given: func(h *ExecutionHook) { h.Arguments = args(17) },
			wantFields: []string{"arguments"}, wantReason: "at most 16 items, got 17"},
		{name: "argument too long", given: func(h *ExecutionHook) { h.Arguments = []string{"x", strings.Repeat("a", 128)} },
			wantFields: []string{"arguments[1]"}, wantReason: "at most 127 characters, got 128"},
		{name: "duplicate argument", given: func(h *ExecutionHook) { h.Arguments = []string{"-v", "x", "-v"} },
			wantFields: []string{"arguments[2]"}, wantReason: "duplicate of arguments[0]"},
		{name: "appID missing", given: func(h *ExecutionHook) { h.AppID = "" }, wantFields: []string{"appID"}},
		{name: "appID wrong", given: func(h *ExecutionHook) { h.AppID = "payroll" }, wantFields: []string{"appID"}},
		{name: "enabled", given: func(h *ExecutionHook) { h.Enabled = "True" }, wantFields: []string{"enabled"}},
		{name: "description too long", given: func(h *ExecutionHook) { h.Description = strings.Repeat("d", 512) },
			wantFields: []string{"description"}},
		{name: "timeout negative", given: func(h *ExecutionHook) { h.TimeoutSeconds = -1 }, wantFields: []string{"timeoutSeconds"}},
		{name: "timeout too long", given: func(h *ExecutionHook) { h.TimeoutSeconds = 86401 }, wantFields: []string{"timeoutSeconds"}},
		{name: "failureMode", given: func(h *ExecutionHook) { h.FailureMode = "warn" }, wantFields: []string{"failureMode"}},

		{name: "empty hook names every required field", given: func(h *ExecutionHook) { *h = ExecutionHook{} },
			wantFields: []string{"type", "version", "name", "hookType", "action", "stage", "hookSourceID", "appID"}},
		{name: "many bad fields are all named", given: func(h *ExecutionHook) {
			h.Version = "9"
			h.ID = "x"
			h.Name = strings.Repeat("n", 64)
			h.MatchingCriteria = []Criterion{{"nope", "("}, {CriterionPodName, ""}, {CriterionPodName, "["}}
			h.Action, h.Stage = ActionRestore, StagePre
			h.Arguments = []string{"a", "a", strings.Repeat("b", 200)}
			h.AppID = "y"
			h.Enabled = "no"
			h.Description = strings.Repeat("d", 600)
			h.TimeoutSeconds = -5
			h.FailureMode = "PANIC"
		}, wantFields: []string{"version", "id", "name", "matchingCriteria[0].type", "matchingCriteria[0].value",
			"matchingCriteria[1].value", "matchingCriteria[2].value", "stage", "arguments[1]", "arguments[2]",
			"appID", "enabled", "description", "timeoutSeconds", "failureMode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHook(1, "Payroll")
			tt.given(h)
			err := h.Validate()
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidHook) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
				if !strings.Contains(err.Error(), f.Field+": "+f.Reason) {
					t.Errorf("Error() = %q does not list %v", err, f)
				}
			}
			if !slices.Equal(got, tt.wantFields) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.wantFields, err)
			}
			if tt.wantReason != "" && !strings.Contains(ve.Fields[0].Reason, tt.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", ve.Fields[0].Reason, tt.wantReason)
			}
		})
	}
}

func TestValidIdentifier(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"50e89023-ba84-435d-bb47-1833f4c250ff":  true,
		"5f7e2e31-280d-5984-a28b-2d19ab5b77c0":  true,
		"00000000-0000-0000-0000-000000000000":  true,
		"50e89023-ba84-435d-cb47-1833f4c250ff":  false, // v4 variant must be 8, 9, a or b
		"50E89023-BA84-435D-BB47-1833F4C250FF":  false,
		"50e89023ba84435dbb471833f4c250ff":      false,
		"50e89023-ba84-435d-bb47-1833f4c250ff ": false,
		"":                                      false,
	} {
		if got := ValidIdentifier(id); got != want {
			t.Errorf("ValidIdentifier(%q) = %v, want %v", id, got, want)
		}
	}
}
