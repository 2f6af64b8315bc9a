package matcher

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestExecutionHookJSON(t *testing.T) {
	t.Parallel()
	h := newHook(1, "Payroll")
	h.MatchingCriteria, h.Arguments = nil, nil
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{`"matchingCriteria":[]`, `"arguments":[]`, `"enabled":"true"`} {
		if !strings.Contains(got, want) {
			t.Errorf("Marshal = %s, want it to contain %s", got, want)
		}
	}
	for _, unwanted := range []string{"timeoutSeconds", "failureMode", "description", "metadata", "null"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("Marshal = %s, want no %s", got, unwanted)
		}
	}
	// A value marshals the same as a pointer.
	if bv, _ := json.Marshal(*h); string(bv) != got {
		t.Errorf("Marshal(value) = %s, want %s", bv, got)
	}

	h.TimeoutSeconds, h.FailureMode = 60, FailureModeFail
	b, _ = json.Marshal(h)
	var back ExecutionHook
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.TimeoutSeconds != 60 || back.FailureMode != FailureModeFail || back.Name != "Payroll" {
		t.Errorf("round trip = %+v", back)
	}
}

func TestExecutionHookHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		given       ExecutionHook
		wantEnabled bool
		wantTimeout time.Duration
		wantMode    FailureMode
	}{
		{name: "defaults", given: ExecutionHook{}, wantEnabled: true, wantTimeout: 25 * time.Minute, wantMode: FailureModeWarn},
		{name: "enabled", given: ExecutionHook{Enabled: "true", TimeoutSeconds: 1, FailureMode: "FAIL"},
			wantEnabled: true, wantTimeout: time.Second, wantMode: FailureModeFail},
		{name: "disabled", given: ExecutionHook{Enabled: "false", TimeoutSeconds: 86400, FailureMode: "WARN"},
			wantEnabled: false, wantTimeout: 24 * time.Hour, wantMode: FailureModeWarn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.given.IsEnabled(); got != tt.wantEnabled {
				t.Errorf("IsEnabled() = %v, want %v", got, tt.wantEnabled)
			}
			if got := tt.given.Timeout(); got != tt.wantTimeout {
				t.Errorf("Timeout() = %v, want %v", got, tt.wantTimeout)
			}
			if got := tt.given.EffectiveFailureMode(); got != tt.wantMode {
				t.Errorf("EffectiveFailureMode() = %v, want %v", got, tt.wantMode)
			}
		})
	}
}

func TestApplyDefaultsAndClone(t *testing.T) {
	t.Parallel()
	var h ExecutionHook
	h.ApplyDefaults()
	if h.Enabled != EnabledTrue || h.MatchingCriteria == nil || h.Arguments == nil {
		t.Errorf("ApplyDefaults() = %+v", h)
	}
	d := ExecutionHook{Enabled: EnabledFalse}
	d.ApplyDefaults()
	if d.Enabled != EnabledFalse {
		t.Errorf("ApplyDefaults changed enabled %q", d.Enabled)
	}

	orig := newHook(1, "a", Criterion{CriterionPodName, "x"})
	c := orig.Clone()
	c.MatchingCriteria[0].Value = "changed"
	c.Arguments[0] = "changed"
	if orig.MatchingCriteria[0].Value != "x" || orig.Arguments[0] != "freeze" {
		t.Errorf("Clone shares slices with the original: %+v", orig)
	}
}

func TestValidActionStage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		action Action
		stage  Stage
		want   bool
	}{
		{ActionSnapshot, StagePre, true}, {ActionSnapshot, StagePost, true},
		{ActionBackup, StagePre, true}, {ActionBackup, StagePost, true},
		{ActionRestore, StagePre, false}, {ActionRestore, StagePost, true},
		{ActionFailover, StagePre, false}, {ActionFailover, StagePost, true},
		{"clone", StagePost, false}, {ActionSnapshot, "during", false}, {"", "", false},
	}
	for _, tt := range tests {
		if got := ValidActionStage(tt.action, tt.stage); got != tt.want {
			t.Errorf("ValidActionStage(%q, %q) = %v, want %v", tt.action, tt.stage, got, tt.want)
		}
	}
}
