package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// validatorOf validates values against the request-body schema of op
// ("METHOD /path") of the embedded document.
func validatorOf(tb testing.TB, op string) func(any) []Invalid {
	tb.Helper()
	bs, err := loadBodySchemas()
	if err != nil {
		tb.Fatal(err)
	}
	schema := bs.ops[op]
	if schema == nil {
		tb.Fatalf("openapi.json has no request body for %s", op)
	}
	return func(v any) []Invalid { return bs.validate(schema, v) }
}

func names(bad []Invalid) []string {
	out := make([]string, len(bad))
	for i, b := range bad {
		out[i] = b.Name
	}
	return out
}

// The document loads and validates, and a broken one is an error.
func TestBodySchemasLoad(t *testing.T) {
	t.Parallel()
	bs, err := loadBodySchemas()
	if err != nil {
		t.Fatal(err)
	}
	if len(bs.ops) < 17 {
		t.Errorf("%d request bodies, want at least 17", len(bs.ops))
	}
	for name, doc := range map[string]string{
		"not JSON":       `{"openapi":`,
		"dangling $ref":  strings.Replace(string(openapiJSON), `"$ref": "#/components/schemas/type_astra_identifier"`, `"$ref": "#/components/schemas/nothing"`, 1),
		"bad type":       strings.Replace(string(openapiJSON), `"maxItems": 16`, `"maxItems": "sixteen"`, 1),
		"external $ref":  strings.Replace(string(openapiJSON), `"$ref": "#/components/schemas/type_astra_identifier"`, `"$ref": "other.json#/x"`, 1),
		"invalid schema": strings.Replace(string(openapiJSON), `"type": "array"`, `"type": "list"`, 1),
	} {
		if _, err := parseBodySchemas([]byte(doc)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

// Every schema error is located in the API's notation, each field once.
func TestSchemaErrorsAreLocated(t *testing.T) {
	t.Parallel()
	validate := validatorOf(t, "POST /accounts/{account_id}/core/v1/executionHooks")
	var body map[string]any
	if err := json.Unmarshal([]byte(`{
		"type": "application/astra-executionHook", "version": "1.3", "name": "n", "hookType": "custom",
		"action": "snapshot", "stage": "later", "hookSourceID": "nope", "color": "red",
		"arguments": ["a", "b", "a", 5],
		"matchingCriteria": [{"type": "podName", "value": "x", "flavour": 1}, {"type": "pod"}],
		"metadata": {"labels": [{"name": "a"}], "createdBy": "not an id", "creationTimestamp": 7},
		"timeoutSeconds": 86401, "description": null
	}`), &body); err != nil {
		t.Fatal(err)
	}
	got := validate(body)
	want := []string{"appID", "arguments[2]", "arguments[3]", "color", "hookSourceID",
		"matchingCriteria[0].flavour", "matchingCriteria[1].type", "matchingCriteria[1].value",
		"metadata.labels[0].value", "stage", "timeoutSeconds"}
	if !slices.Equal(names(got), want) {
		t.Errorf("named %q, want %q: %v", names(got), want, got)
	}
	for _, f := range got {
		if f.Reason == "" || strings.Contains(f.Reason, "Schema:") {
			t.Errorf("%s: reason %q", f.Name, f.Reason)
		}
	}
	// The body itself when it is not an object.
	if got := validate([]any{}); !slices.Equal(names(got), []string{"body"}) {
		t.Errorf("array body: %v", got)
	}
}

// Lengths are counted in code points: 63 emoji are a valid name (kin-openapi
// alone counts 126 UTF-16 units), 64 are not.
func TestSchemaLengthsCountCodePoints(t *testing.T) {
	t.Parallel()
	validate := validatorOf(t, "PUT /accounts/{account_id}/core/v1/executionHooks/{hook_id}")
	body := func(name string) map[string]any {
		return map[string]any{"type": "application/astra-executionHook", "version": "1.3", "name": name}
	}
	if got := validate(body(strings.Repeat("😀", 63))); len(got) != 0 {
		t.Errorf("63 emoji: %v", got)
	}
	if got := validate(body(strings.Repeat("😀", 64))); !slices.Equal(names(got), []string{"name"}) || !strings.Contains(got[0].Reason, "got 64") {
		t.Errorf("64 emoji: %v", got)
	}
}
