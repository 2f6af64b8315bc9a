// Package runstate is the layout of the run-state bucket (hookshot_runs),
// which the engine and the workers share, and the create-if-absent writes
// both use. Keys (<stage> is events.StageKey, <account>.<run>.<action>.<stage>:
// run IDs are unique only within an account):
//
//	stage.<stage>                  the stage's plan (its header when in chunks)
//	plan.<stage>.<planID>.<n>      chunk n of a large plan's jobs
//	exec.<stage>.<execID>          ExecutionResult (first final result wins)
//	held.exec.<stage>.<execID>     an outcome a worker could not record yet
//	result.<stage>                 StageResult (first wins)
//	done.<stage>                   progress bitmap
//	started.<stage>.<execID>       ExecutionStart (latest attempt)
//	pair.<account>.<run>.<action>  pairing
//
// The account leads, so <kind>.<account>.> is every key of one kind of an
// account and <kind>.<account>.<run>.> every key of one run.
package runstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
)

// KV is the run-state bucket.
type KV struct{ Bucket jetstream.KeyValue }

// Open opens the bucket (provisioned by events.Provision).
func Open(ctx context.Context, js jetstream.JetStream) (KV, error) {
	kv, err := js.KeyValue(ctx, events.BucketRuns)
	if err != nil {
		return KV{}, fmt.Errorf("open %s: %w", events.BucketRuns, err)
	}
	return KV{kv}, nil
}

// ExecKey is the key of an execution's result.
func ExecKey(stage, execID string) string { return "exec." + stage + "." + execID }

// StartedKey is the key of an execution's latest start.
func StartedKey(stage, execID string) string { return "started." + stage + "." + execID }

// HeldKey is where the outcome of an execution whose result could not be
// recorded is kept (execKey is its ExecKey).
func HeldKey(execKey string) string { return "held." + execKey }

// JobExecKey is ExecKey of a job's execution.
func JobExecKey(j *events.Job) string {
	return ExecKey(events.StageKey(j.AccountID, j.RunID, j.Action, j.Stage), j.ExecutionID)
}

// ResultExecKey is ExecKey of a result's execution.
func ResultExecKey(r *events.ExecutionResult) string {
	return ExecKey(events.StageKey(r.AccountID, r.RunID, r.Action, r.Stage), r.ExecutionID)
}

// JobStartedKey is StartedKey of a job's execution.
func JobStartedKey(j *events.Job) string {
	return StartedKey(events.StageKey(j.AccountID, j.RunID, j.Action, j.Stage), j.ExecutionID)
}

// ExecutionStart records that a worker started an attempt of an execution.
type ExecutionStart struct {
	Attempt int       `json:"attempt"`
	Worker  string    `json:"worker"`
	Started time.Time `json:"started"`
}

// Get decodes the value at key into v; found is false when there is none.
func (r KV) Get(ctx context.Context, key string, v any) (found bool, err error) {
	e, err := r.Bucket.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

// Has reports whether key holds a value.
func (r KV) Has(ctx context.Context, key string) (bool, error) {
	_, err := r.Bucket.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %s: %w", key, err)
	}
	return true, nil
}

// Create writes v at key if the key is absent. created is false when another
// writer got there first; then v is overwritten with the stored value.
func (r KV) Create(ctx context.Context, key string, v any) (created bool, err error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("encode %s: %w", key, err)
	}
	_, err = r.Bucket.Create(ctx, key, raw)
	if errors.Is(err, jetstream.ErrKeyExists) {
		found, gerr := r.Get(ctx, key, v)
		if gerr != nil {
			return false, gerr
		}
		if !found {
			return false, fmt.Errorf("create %s: exists but cannot be read", key)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create %s: %w", key, err)
	}
	return true, nil
}
