package engine

import (
	"encoding/json"
	"fmt"

	"github.com/hookshot-dev/hookshot/events"
)

// stageResultRecord is a stage result as the engine records and publishes
// it: an events.StageResult whose lists were cut, when needed, to fit in
// one message under NATS's default max payload (1,000 containers × 4 hooks
// of summaries do not). Consumers that decode an events.StageResult read
// the first executions and details; the run view has every execution.
type stageResultRecord struct {
	events.StageResult
	// ExecutionsTotal is how many executions the stage had when
	// Executions lists only the first of them.
	ExecutionsTotal int `json:"executionsTotal,omitempty"`
	// ExecutionsTruncated is set when Executions lists only the first
	// ExecutionsTotal.
	ExecutionsTruncated bool `json:"executionsTruncated,omitempty"`
	// DetailsTotal is how many hookStateDetails the stage had when the
	// last of HookStateDetails stands for the ones left out.
	DetailsTotal int `json:"hookStateDetailsTotal,omitempty"`
}

// total is how many executions the stage had.
func (r *stageResultRecord) total() int {
	if r.ExecutionsTruncated {
		return r.ExecutionsTotal
	}
	return len(r.Executions)
}

// boundStageResult returns sr as recorded and published: whole when its
// encoding fits in limit bytes, else with its details cut to at most a
// quarter of limit (the last one saying how many were left out) and its
// executions to what is left. HookState and AbortAction are sr's: they
// were decided on every execution.
func boundStageResult(sr *events.StageResult, limit int) (*stageResultRecord, error) {
	out := &stageResultRecord{StageResult: *sr}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode stage result: %w", err)
	}
	if len(raw) <= limit {
		return out, nil
	}
	bare := *out
	bare.Executions, bare.HookStateDetails = []events.ExecutionSummary{}, []events.StateDetail{}
	bare.ExecutionsTotal, bare.ExecutionsTruncated, bare.DetailsTotal = len(sr.Executions), true, len(sr.HookStateDetails)
	raw, err = json.Marshal(&bare)
	if err != nil {
		return nil, fmt.Errorf("encode stage result: %w", err)
	}
	budget := limit - len(raw) - 64 // the counts' digits, and a margin

	details, used, err := fitting(sr.HookStateDetails, budget/4)
	if err != nil {
		return nil, err
	}
	if len(details) < len(sr.HookStateDetails) {
		more := events.NewStateDetail(events.DetailHookFailed, "More failures",
			fmt.Sprintf("%d more of %d failures are not listed here; the run view has every execution",
				len(sr.HookStateDetails)-len(details), len(sr.HookStateDetails)), nil)
		if raw, err := json.Marshal(&more); err == nil {
			used += len(raw) + 1
		}
		bare.HookStateDetails = append(details, more)
	} else {
		bare.HookStateDetails, bare.DetailsTotal = details, 0
	}
	execs, _, err := fitting(sr.Executions, budget-used)
	if err != nil {
		return nil, err
	}
	bare.Executions = execs
	if len(execs) == len(sr.Executions) {
		bare.ExecutionsTotal, bare.ExecutionsTruncated = 0, false
	}
	return &bare, nil
}

// fitting returns the longest prefix of vs whose JSON elements (with their
// commas) fit in budget bytes, and the bytes they take.
func fitting[T any](vs []T, budget int) ([]T, int, error) {
	used := 0
	for i := range vs {
		raw, err := json.Marshal(&vs[i])
		if err != nil {
			return nil, 0, fmt.Errorf("encode stage result: %w", err)
		}
		if used+len(raw)+1 > budget {
			return vs[:i:i], used, nil
		}
		used += len(raw) + 1
	}
	return vs, used, nil
}
