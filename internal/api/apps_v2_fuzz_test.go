package api

import (
	"encoding/json"
	"testing"

	"github.com/hookshot-dev/hookshot/internal/store"
)

// FuzzDecodeAppV2Body feeds arbitrary bytes to the strict decoder and the
// checks of an app 2.x body: nothing panics, 7 is only for text that is not
// JSON, 8 always names a field, and a body that passes every check has
// namespaces and selectors the store accepts.
func FuzzDecodeAppV2Body(f *testing.F) {
	f.Add([]byte(`{"type":"application/astra-app","version":"2.1","name":"payroll","clusterID":"prod-eu","namespaceScopedResources":[{"namespace":"payroll"},{"namespace":"shared","labelSelectors":["app.kubernetes.io/instance=payroll,tier notin (frontend)"]}],"clusterScopedResources":[{"GVK":{"group":"rbac.authorization.k8s.io","version":"v1","kind":"ClusterRole"},"labelSelectors":["app=payroll"]}]}`))
	f.Add([]byte(`{"namespaceScopedResources":[{"namespace":"x","labelSelectors":["a in (b",""]}]}`))
	f.Add([]byte(`{"namespaceScopedResources":"x","clusterScopedResources":[1,null]}`))
	f.Add([]byte(`{"metadata":{"labels":[{"name":1}]},"state":"ready"}`))
	f.Add([]byte(`null`))
	validate := validatorOf(f, "POST /accounts/{account_id}/k8s/v2/apps")
	f.Fuzz(func(t *testing.T, data []byte) {
		var body appV2Body
		p := decodeStrict(data, &body, validate, body.faults)
		if p != nil {
			if p.number == 7 && json.Valid(data) {
				t.Fatalf("valid JSON answered as invalid JSON: %q", data)
			}
			if p.number == 8 && len(p.InvalidFields) == 0 {
				t.Fatalf("problem 8 names no field for %q", data)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if _, err := json.Marshal(body); err != nil {
			t.Fatalf("accepted body does not encode: %v", err)
		}
		bad := body.invalid()
		app := body.app()
		err := store.CheckAppV2(&app)
		if len(bad) == 0 && err != nil && validationProblem(err).number == 8 {
			t.Fatalf("schema check passed, store refuses at schema level: %v", err)
		}
		if err == nil && len(app.NamespaceScopedResources) == 0 {
			t.Fatalf("accepted an app with no namespace: %q", data)
		}
	})
}
