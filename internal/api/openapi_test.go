package api_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/internal/api"
)

// openAPIMethods are the operation keys of an OpenAPI 3.0 path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIDoc parses the embedded document.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

// object is v as a JSON object, failing the test when it is not one.
func object(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: want an object, got %T", what, v)
	}
	return m
}

// resolve follows a local reference ("#/components/…") in doc.
func resolve(doc map[string]any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/components/")
	if !ok {
		return nil, false
	}
	var node any = doc["components"]
	for _, tok := range strings.Split(rest, "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		node, ok = m[strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)]
		if !ok {
			return nil, false
		}
	}
	return node, true
}

// openAPIPath is the OpenAPI form of a ServeMux pattern: {name...} becomes
// {name}, a trailing {$} goes.
func openAPIPath(pattern string) string {
	p := strings.TrimSuffix(pattern, "{$}")
	return regexp.MustCompile(`\{([^}.]+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
}

// operations lists "METHOD path" of every operation in the document.
func operations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for path, item := range object(t, doc["paths"], "paths") {
		for key, op := range object(t, item, path) {
			if slices.Contains(openAPIMethods, key) {
				out[strings.ToUpper(key)+" "+path] = object(t, op, key+" "+path)
			}
		}
	}
	return out
}

func TestOpenAPIIsOpenAPI303(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	if doc["openapi"] != "3.0.3" {
		t.Errorf("openapi = %v, want 3.0.3", doc["openapi"])
	}
	info := object(t, doc["info"], "info")
	if info["title"] != "Hookshot" || info["version"] == "" || info["version"] == nil {
		t.Errorf("info = %v, want title Hookshot and a version", info)
	}
	bearer := object(t, object(t, object(t, doc["components"], "components")["securitySchemes"], "securitySchemes")["bearer"], "bearer")
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("securitySchemes.bearer = %v, want HTTP bearer", bearer)
	}
	ids := map[string]string{}
	for key, op := range operations(t, doc) {
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", key)
		} else if other, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q is also %s's", key, id, other)
		}
		ids[id] = key
		has2xx := false
		for status := range object(t, op["responses"], key+" responses") {
			has2xx = has2xx || strings.HasPrefix(status, "2")
		}
		if !has2xx {
			t.Errorf("%s: no 2xx response", key)
		}
	}
}

// TestOpenAPIMatchesRoutes checks that the document lists exactly the routes
// and methods the server answers, and that exactly the public ones need no
// token.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doc := openAPIDoc(t)
	ops := operations(t, doc)

	want := map[string]api.Route{}
	for _, r := range h.api.Routes() {
		if strings.Contains(r.Pattern, " ") {
			t.Fatalf("route %q: patterns with a method or host are not handled here", r.Pattern)
		}
		for _, m := range r.Methods {
			want[m+" "+openAPIPath(r.Pattern)] = r
		}
	}
	for _, key := range slices.Sorted(maps.Keys(want)) {
		if _, ok := ops[key]; !ok {
			t.Errorf("%s: route of the server, missing from openapi.json", key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(ops)) {
		r, ok := want[key]
		if !ok {
			t.Errorf("%s: in openapi.json, not a route of the server", key)
			continue
		}
		sec, declared := ops[key]["security"].([]any)
		if !declared {
			t.Errorf("%s: declares no security", key)
			continue
		}
		if r.Scope == "public" {
			if len(sec) != 0 {
				t.Errorf("%s: public route, but security = %v", key, sec)
			}
			continue
		}
		bearer := false
		for _, req := range sec {
			_, isBearer := object(t, req, key+" security")["bearer"]
			bearer = bearer || isBearer
		}
		if !bearer {
			t.Errorf("%s: %s route, but security = %v, want bearer", key, r.Scope, sec)
		}
	}
}

func TestOpenAPIServedWithoutToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	res := h.do(http.MethodGet, "/openapi.json", "", nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET /openapi.json: status %d: %s", res.status, res.raw)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(res.raw, api.OpenAPI()) {
		t.Errorf("GET /openapi.json serves %d bytes that are not api.OpenAPI()'s %d", len(res.raw), len(api.OpenAPI()))
	}
	if res := h.do(http.MethodPost, "/openapi.json", "", nil); res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != "GET" {
		t.Errorf("POST /openapi.json: status %d, Allow %q; want 405, GET", res.status, res.header.Get("Allow"))
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	n := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"]; ok {
				n++
				s, _ := ref.(string)
				if _, ok := resolve(doc, s); !ok {
					t.Errorf("%s: $ref %v does not resolve to a component", at, ref)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(at+"/"+k, v[k])
			}
		case []any:
			for i, x := range v {
				walk(at+"/"+itoa(i), x)
			}
		}
	}
	walk("#", doc)
	if n == 0 {
		t.Error("no $ref at all: the walk is broken")
	}
}

func TestOpenAPIPathParameters(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	braces := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range object(t, doc["paths"], "paths") {
		var inPath []string
		for _, m := range braces.FindAllStringSubmatch(path, -1) {
			inPath = append(inPath, m[1])
		}
		slices.Sort(inPath)
		pathItem := object(t, item, path)
		for _, method := range openAPIMethods {
			op, ok := pathItem[method]
			if !ok {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			// Parameters of the path item apply to every operation unless
			// the operation redeclares them.
			declared := map[string]bool{}
			for _, list := range []any{pathItem["parameters"], object(t, op, key)["parameters"]} {
				params, _ := list.([]any)
				for _, p := range params {
					param := object(t, p, key+" parameter")
					if ref, ok := param["$ref"].(string); ok {
						target, ok := resolve(doc, ref)
						if !ok {
							t.Errorf("%s: parameter %s does not resolve", key, ref)
							continue
						}
						param = object(t, target, ref)
					}
					if param["in"] != "path" {
						continue
					}
					name, _ := param["name"].(string)
					if param["required"] != true {
						t.Errorf("%s: path parameter %q is not required", key, name)
					}
					declared[name] = true
				}
			}
			if got := slices.Sorted(maps.Keys(declared)); !slices.Equal(got, inPath) && len(got)+len(inPath) > 0 {
				t.Errorf("%s: path parameters %q, want %q", key, got, inPath)
			}
		}
	}
}

// Every operation that reaches the storage documents the 503 it answers
// while NATS is unreachable (with Retry-After), and every one that takes a
// body documents the 415 of a body that is not JSON.
func TestOpenAPIDocumentsOutagesAndMediaTypes(t *testing.T) {
	doc := openAPIDoc(t)
	for name, op := range operations(t, doc) {
		path := name[strings.Index(name, " ")+1:]
		if !strings.HasPrefix(path, "/accounts/") && !strings.HasPrefix(path, "/v1/") {
			continue
		}
		responses := object(t, op["responses"], name+" responses")
		want := []string{"503"}
		if op["requestBody"] != nil {
			want = append(want, "415")
		}
		for _, status := range want {
			r, ok := responses[status].(map[string]any)
			if !ok {
				t.Errorf("%s: no %s response", name, status)
				continue
			}
			resp, ok := resolve(doc, r["$ref"].(string))
			if !ok {
				t.Errorf("%s: %s response %v does not resolve", name, status, r["$ref"])
				continue
			}
			headers, _ := object(t, resp, status)["headers"].(map[string]any)
			if _, ok := headers["Retry-After"]; status == "503" && !ok {
				t.Errorf("%s: 503 without Retry-After", name)
			}
		}
	}
}
