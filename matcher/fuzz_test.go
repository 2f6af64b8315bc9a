package matcher

import (
	"encoding/json"
	"testing"

	"github.com/hookshot-dev/hookshot/events"
)

// FuzzHookJSON decodes arbitrary bytes as an execution hook: Validate must
// not panic, and a hook that validates must be stored and matched.
func FuzzHookJSON(f *testing.F) {
	f.Add([]byte(astraExample))
	f.Add(seedExample(f))
	f.Add([]byte(`{"type":"application/astra-executionHook","version":"1.0","name":"n","hookType":"netapp",` +
		`"matchingCriteria":[{"type":"podLabel","value":"^app=(a+)+$"},{"type":"containerImage","value":"\\bmariadb\\b"}],` +
		`"action":"restore","stage":"post","hookSourceID":"00000000-0000-0000-0000-000000000000",` +
		`"appID":"5f7e2e31-280d-5984-a28b-2d19ab5b77c0","enabled":"false","timeoutSeconds":5,"failureMode":"FAIL"}`))
	f.Add([]byte(`{"name":"","matchingCriteria":[{"type":"x","value":"("}],"arguments":["a","a"]}`))
	f.Add([]byte(`null`))

	inv := []events.Container{cWeb, cMySQL, cExporter, cMariaDB,
		{NamespaceName: "é", PodName: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", PodLabels: labels("app", "\xff"), ContainerName: "", ContainerImage: ""}}
	ix := NewIndex(Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var h ExecutionHook
		if json.Unmarshal(data, &h) != nil {
			return
		}
		if err := h.Validate(); err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("Validate() = %T %v, want a *ValidationError", err, err)
			}
			return
		}
		if h.ID == "" {
			h.ID = testID(4, 1)
		}
		if err := ix.Put(testAccount, &h); err != nil {
			t.Fatalf("Validate passed but Put() = %v", err)
		}
		res := ix.Match(testAccount, h.AppID, h.Action, h.Stage, inv)
		for _, m := range res.Matches {
			if m.Hook.ID != h.ID || len(m.Containers) == 0 {
				t.Fatalf("bad match %+v", m)
			}
		}
		ix.Explain(testAccount, h.AppID, h.Action, h.Stage, inv)
		if _, err := json.Marshal(&h); err != nil {
			t.Fatal(err)
		}
		ix.Delete(testAccount, h.ID)
	})
}
