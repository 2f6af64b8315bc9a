package engine

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/errkind"
)

func TestBoundStageResult(t *testing.T) {
	t.Parallel()
	result := func(execs, details int) *events.StageResult {
		sr := &events.StageResult{RunID: "r", AccountID: "a", AppID: "app", Action: "snapshot", Stage: "pre",
			HookState: events.HookStateSuccess, HookStateDetails: []events.StateDetail{}, Executions: []events.ExecutionSummary{}}
		for i := range execs {
			sr.Executions = append(sr.Executions, events.ExecutionSummary{ExecutionID: fmt.Sprintf("exec-%04d", i), HookName: "freeze", Status: "succeeded"})
		}
		for i := range details {
			sr.HookStateDetails = append(sr.HookStateDetails, events.NewStateDetail(events.DetailHookFailed, "Hook failed", fmt.Sprintf("hook %d failed", i), nil))
		}
		if details > 0 {
			sr.HookState = events.HookStateFailed
		}
		return sr
	}
	for _, tt := range []struct {
		name           string
		given          *events.StageResult
		wantWhole      bool
		wantTruncated  bool
		wantMoreDetail bool
	}{
		{name: "small result is whole", given: result(10, 1), wantWhole: true},
		{name: "many executions are cut", given: result(4000, 0), wantTruncated: true},
		{name: "many failures are cut too", given: result(4000, 4000), wantTruncated: true, wantMoreDetail: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const limit = 16 << 10
			got, err := boundStageResult(tt.given, limit)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) > limit {
				t.Errorf("%d bytes, over the limit of %d", len(raw), limit)
			}
			if got.HookState != tt.given.HookState {
				t.Errorf("hookState %s, want %s", got.HookState, tt.given.HookState)
			}
			if tt.wantWhole && (len(got.Executions) != len(tt.given.Executions) || got.ExecutionsTruncated || got.DetailsTotal != 0) {
				t.Errorf("cut: %d executions, %+v", len(got.Executions), got)
			}
			if tt.wantTruncated != got.ExecutionsTruncated || got.total() != len(tt.given.Executions) {
				t.Errorf("truncated %t with %d listed, total %d; want %t, total %d",
					got.ExecutionsTruncated, len(got.Executions), got.total(), tt.wantTruncated, len(tt.given.Executions))
			}
			if tt.wantTruncated && len(got.Executions) == 0 {
				t.Error("no execution listed")
			}
			if tt.wantMoreDetail && (got.DetailsTotal != len(tt.given.HookStateDetails) || len(got.HookStateDetails) < 2) {
				t.Errorf("details: %d listed, total %d", len(got.HookStateDetails), got.DetailsTotal)
			}
		})
	}
}

func TestChunkJobs(t *testing.T) {
	t.Parallel()
	jobs := make([]events.Job, 500)
	for i := range jobs {
		jobs[i] = events.Job{ExecutionID: fmt.Sprintf("exec-%04d", i), HookName: "freeze"}
	}
	const limit = 4 << 10
	chunks, err := chunkJobs(jobs, limit)
	if err != nil {
		t.Fatal(err)
	}
	var back []events.Job
	for i, c := range chunks {
		if len(c) > limit {
			t.Errorf("chunk %d is %d bytes", i, len(c))
		}
		var part []events.Job
		if err := json.Unmarshal(c, &part); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		back = append(back, part...)
	}
	if len(chunks) < 2 || len(back) != len(jobs) || back[499].ExecutionID != "exec-0499" {
		t.Errorf("%d chunks, %d jobs back", len(chunks), len(back))
	}
	if _, err := chunkJobs(jobs[:1], 10); kindOf(err) != errkind.Permanent {
		t.Errorf("a job over the limit: %v, want a permanent error", err)
	}
}
