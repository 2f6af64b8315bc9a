package api

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeBodies feeds arbitrary bytes to the strict decoder with every
// body type and the schema of its operation in openapi.json: it never
// panics, answers 7 only for text that is not JSON, and when it accepts a
// body, every field named in the body is one of the type's.
func FuzzDecodeBodies(f *testing.F) {
	f.Add([]byte(`{"type":"application/astra-executionHook","version":"1.3","name":"Payroll","hookType":"custom","action":"snapshot","stage":"pre","hookSourceID":"50e89023-ba84-435d-bb47-1833f4c250ff","arguments":["freeze"],"appID":"7be5ae7c-151d-4230-ac39-ac1d0b33c2a9","matchingCriteria":[{"type":"podLabel","value":"^app=db$"}],"metadata":{"labels":[{"name":"a","value":"b"}]}}`))
	f.Add([]byte(`{"type":"application/astra-hookSource","version":"1.0","name":"s","sourceType":"script","source":"ZWNobw=="}`))
	f.Add([]byte(`{"containers":[{"namespaceName":"n","podLabels":[{"name":1}]}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"metadata":null,"arguments":null}`))
	f.Add([]byte(`{"type":"application/astra-appBackup","version":"1.2","name":"b-1","snapshotID":"","metadata":{"createdBy":"x","labels":[{"name":"a","value":"b"},{"name":"a","value":"b"}]}}`))
	f.Add([]byte(`{"hook_description":"d","configuration":{"target_stacks":"SOME","failure_mode":null}}`))
	bodies := []struct {
		op string
		v  func() any
	}{
		{"POST /accounts/{account_id}/core/v1/executionHooks", func() any { return &hookBody{} }},
		{"PUT /accounts/{account_id}/core/v1/executionHooks/{hook_id}", func() any { return &hookBody{} }},
		{"POST /accounts/{account_id}/core/v1/hookSources", func() any { return &sourceBody{} }},
		{"PUT /accounts/{account_id}/core/v1/hookSources/{source_id}", func() any { return &sourceBody{} }},
		{"POST /accounts/{account_id}/hookshot/v1/apps", func() any { return &appBody{} }},
		{"POST /accounts/{account_id}/k8s/v1/apps/{app_id}/executionHookOverrides", func() any { return &overrideBody{} }},
		{"POST /accounts/{account_id}/k8s/v1/apps/{app_id}/appBackups", func() any { return &actionBody{} }},
		{"PATCH /v1/private-hooks/{hook_name}/metadata", func() any { return &rfsPatch{} }},
	}
	validators := make([]func(any) []Invalid, len(bodies))
	for i, b := range bodies {
		validators[i] = validatorOf(f, b.op)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for i, b := range bodies {
			v := b.v()
			p := decodeStrict(data, v, validators[i], nil)
			if p == nil {
				if !json.Valid(data) {
					t.Fatalf("accepted invalid JSON %q", data)
				}
				// Whatever was accepted re-encodes.
				if _, err := json.Marshal(v); err != nil {
					t.Fatalf("accepted body does not encode: %v", err)
				}
				continue
			}
			if p.number == 7 && json.Valid(data) {
				t.Fatalf("valid JSON answered as invalid JSON: %q", data)
			}
			if p.number == 8 && len(p.InvalidFields) == 0 {
				t.Fatalf("problem 8 names no field for %q", data)
			}
		}
	})
}
