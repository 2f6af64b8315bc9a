package scenario_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/scenario"
)

// record runs an example with Options.Record and returns its definitions
// and the recording.
func record(t *testing.T, example string) (*scenario.Scenario, []byte) {
	t.Helper()
	path := filepath.Join(examplesDir(t), example)
	var log bytes.Buffer
	rep := run(t, path, scenario.Options{Record: &log})
	if !rep.Passed() {
		t.Fatalf("%s does not pass: %q", example, rep.Mismatches())
	}
	sc, err := scenario.LoadDefinitions(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc, log.Bytes()
}

// The recording holds every lifecycle event, execution result and stage
// result, each stream's in its order, as CloudEvents envelopes.
func TestScenarioRecordingIsTheEventLog(t *testing.T) {
	t.Parallel()
	_, log := record(t, "failure-modes.yaml")
	entries, err := scenario.ReadRecording(bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	lastSeq := map[string]uint64{}
	for _, e := range entries {
		count[e.Kind]++
		stream := events.StreamResults
		if e.Kind == scenario.KindLifecycle {
			stream = events.StreamLifecycle
		}
		if e.Seq <= lastSeq[stream] {
			t.Errorf("%s seq %d after %d", stream, e.Seq, lastSeq[stream])
		}
		lastSeq[stream] = e.Seq
		var env events.Envelope
		if err := json.Unmarshal(e.Data, &env); err != nil || env.SpecVersion != "1.0" {
			t.Errorf("entry %+v is not a CloudEvents envelope: %v", e, err)
		}
	}
	// Two snapshots: pre and post each; a hook per stage.
	if count[scenario.KindLifecycle] != 4 || count[scenario.KindStage] != 4 || count[scenario.KindExecution] != 4 {
		t.Fatalf("entries by kind %v, want 4 of each", count)
	}
	if !strings.HasPrefix(string(log), `{"kind":"lifecycle","seq":1,"data":{"specversion":"1.0","id":"lifecycle.scenario.step-1.snapshot.pre"`) {
		t.Fatalf("recording starts %.200s", log)
	}
}

// Replaying a recording with the definitions that made it changes nothing.
func TestScenarioReplaySameDefinitionsNoDifference(t *testing.T) {
	t.Parallel()
	for _, example := range []string{"failure-modes.yaml", "matching.yaml", "backup-stage-order.yaml"} {
		t.Run(example, func(t *testing.T) {
			t.Parallel()
			defs, log := record(t, example)
			rr, err := scenario.Replay(testContext(t), bytes.NewReader(log), *defs, scenario.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			_ = rr.WriteText(&text)
			if rr.Differs() || len(rr.Stages) == 0 {
				t.Fatalf("replay differs:\n%s", text.String())
			}
			if !strings.Contains(text.String(), "no difference: ") {
				t.Fatalf("text:\n%s", text.String())
			}
		})
	}
}

// After a hook changes, the replay shows how each stage came out differently.
func TestScenarioReplayAfterAHookChangeShowsTheDifference(t *testing.T) {
	t.Parallel()
	defs, log := record(t, "failure-modes.yaml")
	// The failing script now succeeds, and the lenient app's thaw is disabled.
	for i := range defs.Sources {
		if defs.Sources[i].Name == "cannot-lock" {
			defs.Sources[i].Script = "#!/bin/sh\necho locked\n"
		}
	}
	off := false
	for i := range defs.Hooks {
		if defs.Hooks[i].Name == "warn-thaw" {
			defs.Hooks[i].Enabled = &off
		}
	}
	rr, err := scenario.Replay(testContext(t), bytes.NewReader(log), *defs, scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := rr.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !rr.Differs() {
		t.Fatalf("no difference reported:\n%s", text.String())
	}
	byStage := map[string]scenario.StageComparison{}
	for _, s := range rr.Stages {
		byStage[s.RunID+" "+string(s.Action)+"/"+string(s.Stage)] = s
	}
	pre := byStage["step-1 snapshot/pre"]
	if strings.Join(pre.Changes, "; ") != "hookState: failed → success" || len(pre.Executions) != 1 ||
		pre.Executions[0].Execution != "warn-freeze@db-0/mysql" || pre.Executions[0].Change != "changed" ||
		pre.Executions[0].Recorded.ExitCode != 3 || pre.Executions[0].Replayed.ExitCode != 0 {
		t.Errorf("lenient pre: %+v", pre)
	}
	post := byStage["step-1 snapshot/post"]
	if len(post.Changes) != 0 || len(post.Executions) != 1 || post.Executions[0].Change != "missing" || post.Executions[0].Replayed != nil {
		t.Errorf("lenient post: %+v", post)
	}
	strict := byStage["step-2 snapshot/pre"]
	if strings.Join(strict.Changes, "; ") != "hookState: failed → success; abortAction: true → false" {
		t.Errorf("strict pre: %+v", strict)
	}
	if same := byStage["step-2 snapshot/post"]; same.Differs() {
		t.Errorf("strict post: %+v", same)
	}
	squeezed := strings.Join(strings.Fields(text.String()), " ")
	for _, want := range []string{
		"step-1 snapshot/pre (app lenient): DIFFERS RECORDED REPLAYED hookState failed success changed",
		"warn-freeze@db-0/mysql failed (exit 3) succeeded (exit 0) changed",
		"warn-thaw@db-0/mysql succeeded (exit 0) - missing",
		"step-2 snapshot/post (app strict): same",
		"DIFFERS: 3 of 4 stages replayed differently",
	} {
		if !strings.Contains(squeezed, want) {
			t.Errorf("text has no %q:\n%s", want, text.String())
		}
	}
}
