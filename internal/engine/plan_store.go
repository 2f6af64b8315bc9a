package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
)

// maxValueBytes bounds one value the engine writes to the runs bucket or
// publishes as a stage result: half of NATS's default max_payload (1 MiB),
// leaving room for headers, the envelope and a server configured a little
// tighter. A plan larger than this is stored in chunks; a stage result is
// cut down to it.
const maxValueBytes = 512 << 10

// planChunkKey is chunk n of the jobs of plan planID of a stage. The plan ID
// keeps the chunks of two engines that planned the same stage at once
// apart: only the chunks its header names belong to the stored plan.
func planChunkKey(stage, planID string, n int) string {
	return fmt.Sprintf("plan.%s.%s.%d", stage, planID, n)
}

// createPlan stores a stage's plan once (create-if-absent), as createAt
// does: created is false when another writer got there first, and then rec
// is overwritten with the stored plan, its lanes read back. A plan whose
// encoding is over maxValueBytes is stored in chunks of jobs written first
// and a header, written last, that counts them: a header that exists always
// names a complete plan.
func (r runs) createPlan(ctx context.Context, stage string, rec *StageRecord) (created bool, err error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return false, fmt.Errorf("encode plan of %s: %w", stage, err)
	}
	if len(raw) <= maxValueBytes {
		created, err = r.Create(ctx, stageKey(stage), rec)
		if err != nil || created {
			return created, err
		}
		return false, r.loadLanes(ctx, stage, rec)
	}

	header := *rec
	header.Lanes, header.PlanID, header.LaneSizes = nil, uuid.NewString(), make([]int, len(rec.Lanes))
	for i, l := range rec.Lanes {
		header.LaneSizes[i] = len(l)
	}
	chunks, err := chunkJobs(rec.Jobs(), maxValueBytes)
	if err != nil {
		return false, fmt.Errorf("plan of %s: %w", stage, err)
	}
	for n, c := range chunks {
		if _, err := r.Bucket.Create(ctx, planChunkKey(stage, header.PlanID, n), c); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return false, fmt.Errorf("create plan chunk %d of %s: %w", n, stage, err)
		}
	}
	header.LaneChunks = len(chunks)
	created, err = r.Create(ctx, stageKey(stage), &header)
	if err != nil {
		return false, err
	}
	if created {
		rec.PlanID, rec.LaneSizes, rec.LaneChunks = header.PlanID, header.LaneSizes, header.LaneChunks
		return true, nil
	}
	*rec = header // the stored plan, possibly of another engine
	return false, r.loadLanes(ctx, stage, rec)
}

// loadPlan reads a stage's plan with its lanes; nil when there is none.
func (r runs) loadPlan(ctx context.Context, stage string) (*StageRecord, error) {
	rec := new(StageRecord)
	found, err := r.Get(ctx, stageKey(stage), rec)
	if err != nil || !found {
		return nil, err
	}
	if err := r.loadLanes(ctx, stage, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// loadLanes fills the lanes of a plan header stored in chunks; a plan
// stored whole is left as it is.
func (r runs) loadLanes(ctx context.Context, stage string, rec *StageRecord) error {
	if rec.LaneChunks == 0 {
		return nil
	}
	want := 0
	for _, n := range rec.LaneSizes {
		want += n
	}
	jobs := make([]events.Job, 0, want)
	for n := range rec.LaneChunks {
		var c []events.Job
		found, err := r.Get(ctx, planChunkKey(stage, rec.PlanID, n), &c)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("plan of %s: chunk %d of %d is missing", stage, n, rec.LaneChunks)
		}
		jobs = append(jobs, c...)
	}
	if len(jobs) != want {
		return fmt.Errorf("plan of %s: %d jobs in its chunks, %d in its lanes", stage, len(jobs), want)
	}
	rec.Lanes = make([][]events.Job, len(rec.LaneSizes))
	for i, n := range rec.LaneSizes {
		rec.Lanes[i], jobs = jobs[:n:n], jobs[n:]
	}
	return nil
}

// chunkJobs encodes jobs as JSON arrays of at most limit bytes each, in
// order. A job that alone is over the limit is an error: it could not be
// published either.
func chunkJobs(jobs []events.Job, limit int) ([][]byte, error) {
	var out [][]byte
	var cur bytes.Buffer
	flush := func() {
		if cur.Len() > 0 {
			cur.WriteByte(']')
			out = append(out, bytes.Clone(cur.Bytes()))
			cur.Reset()
		}
	}
	for i := range jobs {
		raw, err := json.Marshal(&jobs[i])
		if err != nil {
			return nil, fmt.Errorf("encode job %s: %w", jobs[i].ExecutionID, err)
		}
		if len(raw)+2 > limit {
			return nil, permanent(fmt.Errorf("job %s is %d bytes encoded, over the limit of %d", jobs[i].ExecutionID, len(raw), limit))
		}
		if cur.Len() > 0 && cur.Len()+1+len(raw)+1 > limit {
			flush()
		}
		if cur.Len() == 0 {
			cur.WriteByte('[')
		} else {
			cur.WriteByte(',')
		}
		cur.Write(raw)
	}
	flush()
	return out, nil
}
