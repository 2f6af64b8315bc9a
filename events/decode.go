package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

func asTypeError(err error, te **json.UnmarshalTypeError) bool { return errors.As(err, te) }

// MaxContainers bounds the inventory of one lifecycle event.
const MaxContainers = 4095

// DecodeLifecycle decodes and validates a lifecycle event. On failure the
// error is a *DecodeError naming every bad field and, where the message
// carried them, the run's identity.
func DecodeLifecycle(data []byte) (*Envelope, *LifecycleEvent, error) {
	de := &DecodeError{}
	env := decodeEnvelope(data, TypeLifecycle, de)
	if env == nil {
		return nil, nil, de
	}
	var ev LifecycleEvent
	decoded := strictUnmarshal(env.Data, &ev, "data", de)
	if decoded {
		ev.validate(de)
	}
	if len(de.Fields) == 0 {
		return env, &ev, nil
	}
	// Salvage the identity, so a bad event still gets an answer: from the
	// event if it decoded, else leniently. Only the identity: decoding the
	// containers again would double the work a malformed megabyte costs.
	id := lifecycleIdentity{RunID: ev.RunID, AccountID: ev.AccountID, AppID: ev.AppID, Action: ev.Action, Stage: ev.Stage}
	if !decoded {
		id = lifecycleIdentity{}
		_ = json.Unmarshal(env.Data, &id)
	}
	if ValidToken(id.RunID) && ValidToken(id.AccountID) && ValidActionStage(id.Action, id.Stage) {
		de.RunID, de.AccountID, de.AppID, de.Action, de.Stage = id.RunID, id.AccountID, id.AppID, id.Action, id.Stage
	}
	return env, nil, de
}

// lifecycleIdentity is the part of a LifecycleEvent that names its stage.
type lifecycleIdentity struct {
	RunID     string `json:"runID"`
	AccountID string `json:"accountID"`
	AppID     string `json:"appID"`
	Action    Action `json:"action"`
	Stage     Stage  `json:"stage"`
}

// Validate checks a lifecycle event built in code, as DecodeLifecycle does.
func (e *LifecycleEvent) Validate() error {
	de := &DecodeError{}
	e.validate(de)
	if len(de.Fields) > 0 {
		return de
	}
	return nil
}

func (e *LifecycleEvent) validate(de *DecodeError) {
	for _, f := range []struct{ name, v string }{
		{"data.runID", e.RunID}, {"data.accountID", e.AccountID}, {"data.appID", e.AppID},
	} {
		if !ValidToken(f.v) {
			de.add(f.name, "must be 1–128 characters of A–Z a–z 0–9 _ -")
		}
	}
	switch e.Action {
	case ActionSnapshot, ActionBackup, ActionRestore, ActionFailover:
		if !ValidActionStage(e.Action, e.Stage) {
			de.add("data.stage", fmt.Sprintf("action %q has no stage %q", e.Action, e.Stage))
		}
	default:
		de.add("data.action", "must be one of snapshot, backup, restore, failover")
	}
	if len(e.Containers) > MaxContainers {
		de.add("data.containers", fmt.Sprintf("more than %d containers", MaxContainers))
		return
	}
	seen := make(map[string]int, len(e.Containers))
	for i, c := range e.Containers {
		p := fmt.Sprintf("data.containers[%d]", i)
		checkText(de, p+".namespaceName", c.NamespaceName, 253)
		checkText(de, p+".podName", c.PodName, 253)
		checkText(de, p+".containerName", c.ContainerName, 253)
		checkText(de, p+".containerImage", c.ContainerImage, 1024)
		for j, l := range c.PodLabels {
			checkText(de, fmt.Sprintf("%s.podLabels[%d].name", p, j), l.Name, 317)
		}
		if j, dup := seen[c.Key()]; dup {
			de.add(p, fmt.Sprintf("same namespace/pod/container as containers[%d]", j))
		}
		seen[c.Key()] = i
	}
}

// decodeData decodes an envelope of type typ into v, strictly.
func decodeData(data []byte, typ string, v any) (*Envelope, error) {
	de := &DecodeError{}
	env := decodeEnvelope(data, typ, de)
	if env != nil {
		strictUnmarshal(env.Data, v, "data", de)
	}
	if len(de.Fields) > 0 {
		return env, de
	}
	return env, nil
}

// DecodeJob decodes a job.
func DecodeJob(data []byte) (*Job, error) {
	var j Job
	if _, err := decodeData(data, TypeJob, &j); err != nil {
		return nil, err
	}
	de := &DecodeError{}
	for _, f := range []struct{ name, v string }{
		{"data.executionID", j.ExecutionID}, {"data.runID", j.RunID}, {"data.accountID", j.AccountID},
		{"data.appID", j.AppID}, {"data.hookID", j.HookID},
	} {
		if !ValidToken(f.v) {
			de.add(f.name, "must be 1–128 characters of A–Z a–z 0–9 _ -")
		}
	}
	if !ValidActionStage(j.Action, j.Stage) {
		de.add("data.stage", "not a stage of data.action")
	}
	if len(de.Fields) > 0 {
		return nil, de
	}
	return &j, nil
}

// DecodeExecutionResult decodes an execution result.
func DecodeExecutionResult(data []byte) (*ExecutionResult, error) {
	var r ExecutionResult
	if _, err := decodeData(data, TypeExecutionResult, &r); err != nil {
		return nil, err
	}
	if !ValidToken(r.ExecutionID) || !ValidToken(r.RunID) || !ValidToken(r.AccountID) {
		return nil, &DecodeError{Fields: []FieldError{{Field: "data", Reason: "executionID, runID and accountID are required tokens"}}}
	}
	return &r, nil
}

// DecodeStageResult decodes a stage result.
func DecodeStageResult(data []byte) (*StageResult, error) {
	var r StageResult
	if _, err := decodeData(data, TypeStageResult, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
