package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/runstate"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// StageRecord is the plan of one stage of one run, written once when the
// lifecycle event is first processed. Lanes hold one container's jobs each,
// in the order they run; lanes run in parallel.
type StageRecord struct {
	// Event is the lifecycle event with the inventory the stage used: the
	// one it carried, the static app's, or the one discovered from the
	// app's cluster.
	Event events.LifecycleEvent `json:"event"`
	// Cluster is the name of the cluster the containers live in; empty for
	// the static cluster "local".
	Cluster string `json:"cluster,omitempty"`
	// Discovered is set when the inventory was discovered from Cluster.
	Discovered bool `json:"discovered,omitempty"`
	// Lanes are stored in the plan itself when it fits in one value; a
	// larger plan stores an empty Lanes, the jobs in LaneChunks chunks under
	// plan.<stage>.<PlanID>.<n>, and LaneSizes to cut them into lanes again.
	Lanes      [][]events.Job `json:"lanes"`
	PlanID     string         `json:"planID,omitempty"`
	LaneChunks int            `json:"laneChunks,omitempty"`
	LaneSizes  []int          `json:"laneSizes,omitempty"`
	// Details are failures found while planning (a criterion that could not
	// be evaluated, an app with hooks but no inventory); they fail the stage.
	Details []events.StateDetail `json:"details,omitempty"`
	// Abort is set when a planning failure concerns a FAIL-mode pre hook.
	Abort   bool      `json:"abort,omitempty"`
	Planned time.Time `json:"planned"`
	// EventSequence is the lifecycle stream's sequence of the event that
	// planned the stage (0 when unknown).
	EventSequence uint64 `json:"eventSequence,omitempty"`
}

// Jobs returns every job of the stage, lane by lane: job i of this list is
// bit i of the stage's progress.
func (r *StageRecord) Jobs() []events.Job {
	var out []events.Job
	for _, l := range r.Lanes {
		out = append(out, l...)
	}
	return out
}

// jobCount is len(r.Jobs()), without building the list.
func (r *StageRecord) jobCount() int {
	n := 0
	for _, l := range r.Lanes {
		n += len(l)
	}
	return n
}

// locate returns the lane of an execution and its index in Jobs.
func (r *StageRecord) locate(executionID string) (lane, index int, ok bool) {
	for li, l := range r.Lanes {
		for ji, j := range l {
			if j.ExecutionID == executionID {
				return li, index + ji, true
			}
		}
		index += len(l)
	}
	return 0, 0, false
}

// next returns the first job of lane li without a result in p, if any.
func (r *StageRecord) next(li int, p progress) (*events.Job, bool) {
	base := 0
	for _, l := range r.Lanes[:li] {
		base += len(l)
	}
	for ji := range r.Lanes[li] {
		if !p.has(base + ji) {
			return &r.Lanes[li][ji], true
		}
	}
	return nil, false
}

// pairing is the promise that a run whose pre stage dispatched hooks gets
// its post stage even if the controller never asks for it.
type pairing struct {
	Post     events.LifecycleEvent `json:"post"`
	Deadline time.Time             `json:"deadline"`
}

// runs is the run-state bucket (see runstate for its keys), with the
// engine's own reads and writes on top of runstate's.
type runs struct{ runstate.KV }

func stageKey(k string) string  { return "stage." + k }
func resultKey(k string) string { return "result." + k }
func pairKey(account, run string, action events.Action) string {
	return "pair." + account + "." + run + "." + string(action)
}

func doneKey(stage string) string { return "done." + stage }

// progress is a stage's bitmap of executions with a recorded result, bit i
// for the i-th job of StageRecord.Jobs. Setting a bit is idempotent, so a
// redelivered result never counts twice and a crash between recording a
// result and counting it is mended by the redelivery.
type progress []byte

func (p progress) has(i int) bool { return i/8 < len(p) && p[i/8]&(1<<(i%8)) != 0 }

func (p progress) all(n int) bool {
	for i := range n {
		if !p.has(i) {
			return false
		}
	}
	return true
}

// loadProgress reads the stage's bitmap (empty when nothing is done).
func (r runs) loadProgress(ctx context.Context, stage string) (progress, uint64, error) {
	e, err := r.Bucket.Get(ctx, doneKey(stage))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get progress of %s: %w", stage, err)
	}
	return progress(e.Value()), e.Revision(), nil
}

// markDone sets the bits done of the stage's bitmap, in one compare-and-set,
// and returns the bitmap after it.
func (r runs) markDone(ctx context.Context, stage string, done ...int) (progress, error) {
	for {
		p, rev, err := r.loadProgress(ctx, stage)
		if err != nil {
			return nil, err
		}
		size, missing := len(p), false
		for _, i := range done {
			size = max(size, i/8+1)
			missing = missing || !p.has(i)
		}
		if !missing {
			return p, nil
		}
		next := make(progress, size)
		copy(next, p)
		for _, i := range done {
			next[i/8] |= 1 << (i % 8)
		}
		if rev == 0 {
			_, err = r.Bucket.Create(ctx, doneKey(stage), next)
		} else {
			_, err = r.Bucket.Update(ctx, doneKey(stage), next, rev)
		}
		var apiErr *jetstream.APIError
		switch {
		case err == nil:
			return next, nil
		case errors.Is(err, jetstream.ErrKeyExists),
			errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence:
			continue // another engine moved it: read again
		case ctx.Err() != nil:
			return nil, ctx.Err()
		default:
			return nil, fmt.Errorf("mark %s done: %w", stage, err)
		}
	}
}

// openState binds the resource store and the run-state bucket, both
// provisioned by events.Provision.
func openState(ctx context.Context, js jetstream.JetStream) (*store.Store, runs, error) {
	st, err := store.Open(ctx, js)
	if err != nil {
		return nil, runs{}, err
	}
	kv, err := runstate.Open(ctx, js)
	if err != nil {
		return nil, runs{}, err
	}
	return st, runs{kv}, nil
}
