package api_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/cluster/clustertest"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
)

// bodyCase is one operation that takes a body: where to send it, and a
// valid body with every property the schema declares that the server can
// take in this setup (so each of their constraints gets violated).
type bodyCase struct {
	path, token string
	body        func() map[string]any
}

// TestDocumentAndServerAgree walks the requestBody schema of every
// operation in openapi.json and, for each constraint of each property
// present in the operation's valid body (type, enum, minLength, maxLength,
// pattern, anyOf, minItems, maxItems, uniqueItems, minimum, maximum,
// required, additionalProperties: false), sends that body violating
// exactly that constraint: the answer must be a 400 naming the property's
// path. The valid body itself must be accepted (2xx). So the document and
// the server cannot drift apart.
func TestDocumentAndServerAgree(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := natstest.Context(t, time.Minute)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	d, err := driver.New(ctx, driver.Config{JS: env.JS, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	reg := clustertest.Registry(t, map[string]*clustertest.Backend{"prod-eu": clustertest.New()})
	h := newHarnessWith(t, env, api.Config{Actions: d, Clusters: reg, MaxBodyBytes: 2 << 20})
	h.seedRefs()

	mustID := func(res response) string {
		t.Helper()
		if res.status != http.StatusCreated {
			t.Fatalf("setup: %d %s", res.status, res.raw)
		}
		return res.body["id"].(string)
	}
	hookID := mustID(h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, seedHook()))
	appHooks := acctPath("/k8s/v1/apps/" + seedAppID + "/executionHooks")
	appHookBody := seedHook()
	appHookBody["name"] = "App scoped"
	appHookID := mustID(h.do(http.MethodPost, appHooks, memberToken, appHookBody))
	netapp := func(name string) string {
		b := seedHook()
		b["name"], b["hookType"] = name, "netapp"
		return mustID(h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), adminToken, b))
	}
	netappID, otherNetappID := netapp("netapp-one"), netapp("netapp-two")
	overrides := acctPath("/k8s/v1/apps/" + seedAppID + "/executionHookOverrides")
	overrideID := mustID(h.do(http.MethodPost, overrides, memberToken, map[string]any{
		"type": "application/astra-executionHookOverride", "version": "1.0", "executionHookID": netappID, "enabled": "false"}))
	appV2 := map[string]any{"type": "application/astra-app", "version": "2.2", "name": "agree-v2", "clusterID": "prod-eu",
		"namespaceScopedResources": []any{map[string]any{"namespace": "payroll", "labelSelectors": []any{"app=db"}}},
		"clusterScopedResources":   []any{map[string]any{"GVK": map[string]any{"group": "rbac.authorization.k8s.io", "version": "v1", "kind": "ClusterRole"}}},
		"metadata":                 labels()}
	appV2ID := mustID(h.do(http.MethodPost, acctPath("/k8s/v2/apps"), memberToken, appV2))
	actions := acctPath("/k8s/v1/apps/" + seedAppID)
	snapID := mustID(h.do(http.MethodPost, actions+"/appSnaps", memberToken, map[string]any{"type": "application/astra-appSnap", "version": "1.3", "name": "setup-snap"}))
	private := h.do(http.MethodGet, "/v1/private-hooks/Payroll", viewerToken, nil)
	defaultVersion, _ := private.body["default_version"].(string)
	if private.status != http.StatusOK || defaultVersion == "" {
		t.Fatalf("private hook: %d %s", private.status, private.raw)
	}

	hook := func(name string, extra ...any) func() map[string]any {
		return func() map[string]any {
			b := seedHook()
			b["name"] = name
			b["matchingCriteria"] = []any{map[string]any{"type": "podName", "value": "^web-"}}
			b["timeoutSeconds"] = 600
			b["failureMode"] = "FAIL"
			b["metadata"] = labels()
			for i := 0; i+1 < len(extra); i += 2 {
				b[extra[i].(string)] = extra[i+1]
			}
			return b
		}
	}
	source := func(name string, extra ...any) func() map[string]any {
		return func() map[string]any {
			b := map[string]any{"type": "application/astra-hookSource", "version": "1.0", "name": name, "sourceType": "script",
				"source": seedSource, "description": "d", "metadata": labels()}
			for i := 0; i+1 < len(extra); i += 2 {
				b[extra[i].(string)] = extra[i+1]
			}
			return b
		}
	}
	staticApp := func(name string, extra ...any) func() map[string]any {
		return func() map[string]any {
			b := map[string]any{"type": "application/astra-app", "version": "1.0", "name": name, "metadata": labels(),
				"containers": []any{map[string]any{"namespaceName": "payroll", "podName": "web-0", "containerName": "web",
					"containerImage": "nginx:1.27", "podLabels": []any{map[string]any{"name": "app", "value": "web"}}}}}
			for i := 0; i+1 < len(extra); i += 2 {
				b[extra[i].(string)] = extra[i+1]
			}
			return b
		}
	}
	action := func(typ, version, name string, extra ...any) func() map[string]any {
		return func() map[string]any {
			b := map[string]any{"type": typ, "version": version, "name": name, "bucketID": "0afbe357-a717-4c7a-8b3d-d0368959c8de", "metadata": labels()}
			for i := 0; i+1 < len(extra); i += 2 {
				b[extra[i].(string)] = extra[i+1]
			}
			return b
		}
	}
	withV2 := func(extra ...any) func() map[string]any {
		return func() map[string]any {
			b := deepCopy(appV2).(map[string]any)
			for i := 0; i+1 < len(extra); i += 2 {
				b[extra[i].(string)] = extra[i+1]
			}
			return b
		}
	}
	const a = "/accounts/{account_id}"
	cases := map[string]bodyCase{
		"POST " + a + "/core/v1/executionHooks":                                   {acctPath("/core/v1/executionHooks"), memberToken, hook("Agree core")},
		"PUT " + a + "/core/v1/executionHooks/{hook_id}":                          {acctPath("/core/v1/executionHooks/" + hookID), memberToken, hook("Payroll", "id", hookID)},
		"POST " + a + "/k8s/v1/apps/{app_id}/executionHooks":                      {appHooks, memberToken, hook("Agree app")},
		"PUT " + a + "/k8s/v1/apps/{app_id}/executionHooks/{hook_id}":             {appHooks + "/" + appHookID, memberToken, hook("App scoped", "id", appHookID)},
		"POST " + a + "/core/v1/hookSources":                                      {acctPath("/core/v1/hookSources"), memberToken, source("agree source")},
		"PUT " + a + "/core/v1/hookSources/{source_id}":                           {acctPath("/core/v1/hookSources/" + seedSourceID), memberToken, source("seed script", "id", seedSourceID, "private", "false", "preloaded", "false", "sourceMD5Checksum", executor.Checksum(seedSource))},
		"POST " + a + "/hookshot/v1/apps":                                         {acctPath("/hookshot/v1/apps"), memberToken, staticApp("agree-static")},
		"PUT " + a + "/hookshot/v1/apps/{app_id}":                                 {acctPath("/hookshot/v1/apps/" + seedAppID), memberToken, staticApp("payroll", "id", seedAppID)},
		"POST " + a + "/k8s/v2/apps":                                              {acctPath("/k8s/v2/apps"), memberToken, withV2("name", "agree-v2-post")},
		"PUT " + a + "/k8s/v2/apps/{app_id}":                                      {acctPath("/k8s/v2/apps/" + appV2ID), memberToken, withV2("id", appV2ID)},
		"POST " + a + "/k8s/v1/apps/{app_id}/executionHookOverrides":              {overrides, memberToken, func() map[string]any { return override(otherNetappID) }},
		"PUT " + a + "/k8s/v1/apps/{app_id}/executionHookOverrides/{override_id}": {overrides + "/" + overrideID, memberToken, func() map[string]any { return override(netappID, "id", overrideID, "appID", seedAppID) }},
		"POST " + a + "/k8s/v1/apps/{app_id}/appSnaps":                            {actions + "/appSnaps", memberToken, action("application/astra-appSnap", "1.3", "agree-snap")},
		"POST " + a + "/k8s/v1/apps/{app_id}/appBackups":                          {actions + "/appBackups", memberToken, action("application/astra-appBackup", "1.2", "agree-backup", "snapshotID", snapID)},
		"POST " + a + "/k8s/v1/apps/{app_id}/appRestores":                         {actions + "/appRestores", memberToken, action("application/hookshot-appRestore", "1.0", "agree-restore")},
		"POST " + a + "/k8s/v1/apps/{app_id}/appFailovers":                        {actions + "/appFailovers", memberToken, action("application/hookshot-appFailover", "1.0", "agree-failover")},
		"PATCH /v1/private-hooks/{hook_name}/metadata": {"/v1/private-hooks/Payroll/metadata", memberToken, func() map[string]any {
			return map[string]any{"hook_description": "d", "hook_id": hookID, "default_version": defaultVersion,
				"configuration": map[string]any{"target_stacks": "ALL", "failure_mode": "WARN"}}
		}},
	}

	doc := openAPIDoc(t)
	checked := 0
	for _, key := range slices.Sorted(maps.Keys(operations(t, doc))) {
		op := operations(t, doc)[key]
		rb, ok := op["requestBody"].(map[string]any)
		if !ok {
			continue
		}
		c, ok := cases[key]
		if !ok {
			t.Errorf("%s: takes a body, but the test has no valid body for it", key)
			continue
		}
		delete(cases, key)
		content := object(t, rb["content"], key+" content")
		schema := object(t, content["application/json"], key+" application/json")["schema"]
		method, rfs := key[:strings.IndexByte(key, ' ')], strings.HasPrefix(key, "PATCH /v1/")
		send := func(body any) response {
			if rfs {
				return h.do(method, c.path, c.token, body, "Client-Request-Id", "9c1f7a5e-8d1b-4c2e-9a43-0f6b1d2c3e4f")
			}
			return h.do(method, c.path, c.token, body)
		}
		var vs []violation
		violations(doc, c.body(), schema, nil, &vs)
		if len(vs) == 0 {
			t.Errorf("%s: no constraint found: the walk is broken", key)
		}
		for _, v := range vs {
			res := send(v.apply(c.body()))
			checked++
			if res.status != http.StatusBadRequest {
				t.Errorf("%s, %s: %d, want 400: %s", key, v.what, res.status, res.raw)
				continue
			}
			if rfs {
				if msg, _ := res.body["error_msg"].(string); !strings.Contains(msg, v.name) {
					t.Errorf("%s, %s: error_msg does not name %s: %s", key, v.what, v.name, res.raw)
				}
				continue
			}
			if res.body["type"] != "https://astra.netapp.io/problems/8" || !namesField(res, v.name) {
				t.Errorf("%s, %s: want 400/8 naming %s: %s", key, v.what, v.name, res.raw)
			}
		}
		if res := send(c.body()); res.status/100 != 2 {
			t.Errorf("%s: the valid body is refused: %d %s", key, res.status, res.raw)
		}
	}
	for key := range cases {
		t.Errorf("%s: not an operation with a body in openapi.json", key)
	}
	t.Logf("%d violations checked", checked)
}

func labels() map[string]any {
	return map[string]any{"labels": []any{map[string]any{"name": "team", "value": "payroll"}}}
}

func override(hookID string, extra ...any) map[string]any {
	b := map[string]any{"type": "application/astra-executionHookOverride", "version": "1.0", "executionHookID": hookID, "enabled": "true", "metadata": labels()}
	for i := 0; i+1 < len(extra); i += 2 {
		b[extra[i].(string)] = extra[i+1]
	}
	return b
}

func namesField(res response, name string) bool {
	list, _ := res.body["invalidFields"].([]any)
	for _, item := range list {
		if item.(map[string]any)["name"] == name {
			return true
		}
	}
	return false
}

// violation is a body that breaks one constraint at one path.
type violation struct {
	what, name string
	apply      func(body map[string]any) any
}

// violations lists, for the value at path of a valid body and its schema,
// a violation of each of the schema's constraints, then those of the
// value's members and first item.
func violations(doc map[string]any, value, schema any, path []any, out *[]violation) {
	s := effective(doc, schema)
	if s["readOnly"] == true {
		return // accepted and ignored, whatever the value
	}
	name := pathName(path)
	add := func(constraint string, v any) {
		p := slices.Clone(path)
		*out = append(*out, violation{what: name + " " + constraint, name: nameOrBody(name), apply: func(body map[string]any) any { return setAt(body, p, v) }})
	}
	if len(path) > 0 {
		if typ, ok := s["type"].(string); ok {
			add("type "+typ, wrongType(typ))
		}
	}
	if _, ok := s["enum"]; ok {
		add("enum", "not-one-of-the-enum")
	}
	_, isString := value.(string)
	if n, ok := s["maxLength"].(float64); ok && isString {
		add("maxLength", strings.Repeat("a", int(n)+1))
	}
	if n, ok := s["minLength"].(float64); ok && n > 0 && isString {
		add("minLength", strings.Repeat("a", int(n)-1))
	}
	if _, ok := s["pattern"]; ok && isString {
		add("pattern", "NOT valid!")
	}
	if _, ok := s["anyOf"]; ok && isString {
		add("anyOf", "NOT valid!")
	}

	if n, ok := s["minimum"].(float64); ok {
		add("minimum", n-1)
	}
	if n, ok := s["maximum"].(float64); ok {
		add("maximum", n+1)
	}
	if list, ok := value.([]any); ok {
		item := any("x")
		if len(list) > 0 {
			item = list[0]
		}
		if n, ok := s["maxItems"].(float64); ok {
			long := make([]any, int(n)+1)
			for i := range long {
				long[i] = deepCopy(item)
			}
			add("maxItems", long)
		}
		if n, ok := s["minItems"].(float64); ok && n > 0 {
			add("minItems", slices.Clone(list[:int(n)-1]))
		}
		if s["uniqueItems"] == true && len(list) > 0 {
			p := append(slices.Clone(path), 1)
			*out = append(*out, violation{what: name + " uniqueItems", name: pathName(p), apply: func(body map[string]any) any {
				return setAt(body, path, append(slices.Clone(list), deepCopy(list[0])))
			}})
		}
		if len(list) > 0 && s["items"] != nil {
			violations(doc, list[0], s["items"], append(slices.Clone(path), 0), out)
		}
	}
	if obj, ok := value.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for _, k := range requiredOf(s) {
			if _, present := obj[k]; present {
				p := append(slices.Clone(path), k)
				*out = append(*out, violation{what: pathName(p) + " required", name: pathName(p), apply: func(body map[string]any) any { return deleteAt(body, p) }})
			}
		}
		if s["additionalProperties"] == false {
			p := append(slices.Clone(path), "unexpectedMember")
			add("additionalProperties", nil)
			(*out)[len(*out)-1] = violation{what: name + " additionalProperties", name: pathName(p), apply: func(body map[string]any) any { return setAt(body, p, "x") }}
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if ps, ok := props[k]; ok {
				violations(doc, obj[k], ps, append(slices.Clone(path), k), out)
			}
		}
	}
}

// effective merges a schema with its $ref and allOf parts (what the
// document's request bodies use), keeping anyOf as a constraint.
func effective(doc map[string]any, schema any) map[string]any {
	out := map[string]any{}
	var merge func(s any)
	merge = func(s any) {
		m, _ := s.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			target, _ := resolve(doc, ref)
			merge(target)
			return
		}
		for k, v := range m {
			switch k {
			case "allOf":
				for _, part := range v.([]any) {
					merge(part)
				}
			case "required":
				out[k] = append(requiredOf(out), requiredOf(m)...)
			case "properties":
				props, _ := out[k].(map[string]any)
				if props == nil {
					props = map[string]any{}
				}
				maps.Copy(props, v.(map[string]any))
				out[k] = props
			default:
				out[k] = v
			}
		}
	}
	merge(schema)
	return out
}

func requiredOf(s map[string]any) []string {
	var out []string
	switch r := s["required"].(type) {
	case []any:
		for _, k := range r {
			out = append(out, k.(string))
		}
	case []string:
		out = r
	}
	return out
}

func wrongType(typ string) any {
	if typ == "string" {
		return 12345
	}
	return "not of the type"
}

// pathName is a path in the API's notation: matchingCriteria[0].value.
func pathName(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		}
	}
	return b.String()
}

func nameOrBody(name string) string {
	if name == "" {
		return "body"
	}
	return name
}

func deepCopy(v any) any {
	raw, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}

// setAt returns a copy of body with the value at path set to v.
func setAt(body map[string]any, path []any, v any) any {
	root := deepCopy(body)
	if len(path) == 0 {
		return v
	}
	parent := walkTo(root, path[:len(path)-1])
	switch last := path[len(path)-1].(type) {
	case int:
		parent.([]any)[last] = v
	case string:
		parent.(map[string]any)[last] = v
	}
	return root
}

func deleteAt(body map[string]any, path []any) any {
	root := deepCopy(body)
	delete(walkTo(root, path[:len(path)-1]).(map[string]any), path[len(path)-1].(string))
	return root
}

func walkTo(v any, path []any) any {
	for _, p := range path {
		switch p := p.(type) {
		case int:
			v = v.([]any)[p]
		case string:
			v = v.(map[string]any)[p]
		}
	}
	return v
}

// A body read with GET can be sent back: the readOnly members of metadata
// are ignored whatever their value (the seeds' createdBy is "test", not an
// identifier), and a member that is null is taken as absent.
func TestGetBodiesGoBackAndNullIsAbsent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedRefs()
	item := acctPath("/core/v1/hookSources/" + seedSourceID)
	got := h.do(http.MethodGet, item, viewerToken, nil)
	if md, _ := got.body["metadata"].(map[string]any); got.status != http.StatusOK || md["createdBy"] != "test" {
		t.Fatalf("GET: %d %s", got.status, got.raw)
	}
	if res := h.do(http.MethodPut, item, memberToken, got.body); res.status != http.StatusNoContent {
		t.Fatalf("PUT of the GET body: %d %s", res.status, res.raw)
	}
	hook := seedHook()
	hook["description"], hook["matchingCriteria"], hook["arguments"], hook["metadata"], hook["failureMode"] = nil, nil, nil, nil, nil
	if res := h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, hook); res.status != http.StatusCreated {
		t.Fatalf("nulls: %d %s", res.status, res.raw)
	}
	// null for a required member is its absence: named as required.
	hook["name"] = nil
	h.do(http.MethodPost, acctPath("/core/v1/executionHooks"), memberToken, hook).wantProblem(t, 400, 8, "name")
}
