package api

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeBodies feeds arbitrary bytes to the strict decoder with every
// body type: it never panics, answers 7 only for text that is not JSON, and
// when it accepts a body, every field named in the body is one of the type's.
func FuzzDecodeBodies(f *testing.F) {
	f.Add([]byte(`{"type":"application/astra-executionHook","version":"1.3","name":"Payroll","hookType":"custom","action":"snapshot","stage":"pre","hookSourceID":"50e89023-ba84-435d-bb47-1833f4c250ff","arguments":["freeze"],"appID":"7be5ae7c-151d-4230-ac39-ac1d0b33c2a9","matchingCriteria":[{"type":"podLabel","value":"^app=db$"}],"metadata":{"labels":[{"name":"a","value":"b"}]}}`))
	f.Add([]byte(`{"type":"application/astra-hookSource","version":"1.0","name":"s","sourceType":"script","source":"ZWNobw=="}`))
	f.Add([]byte(`{"containers":[{"namespaceName":"n","podLabels":[{"name":1}]}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"metadata":null,"arguments":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []any{&hookBody{}, &sourceBody{}, &appBody{}, &overrideBody{}} {
			p := decodeStrict(data, v, nil)
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
