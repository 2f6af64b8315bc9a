package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// One schema: every request body is validated against the requestBody
// schema of its operation in the embedded openapi.json, with kin-openapi
// (the Go field's standard OpenAPI 3 library), so the document the server
// serves is the one it enforces. The document is loaded and validated once;
// New fails when it is broken or lacks the body schema of a route.
//
// What a schema cannot say stays hand-written (a regex that must compile as
// RE2, a stage that must belong to its action, ids that must match the
// path, a cluster that must exist), and its findings are merged with the
// schema's, each field named once.
//
// Three rules keep what is accepted as it was before the document was
// enforced:
//   - a member whose value is null is taken as absent (the typed decoder
//     has always read null as the zero value);
//   - a readOnly member is accepted and ignored whatever its value (Astra
//     clients send a GET body back, metadata's timestamps included);
//   - minLength and maxLength count Unicode code points, as JSON Schema
//     says and the hand-written limits always have (kin-openapi counts
//     UTF-16 units).

// bodySchemas are the request-body schemas of the document by operation:
// "METHOD /path/{param}" as the document spells it.
type bodySchemas struct {
	ops map[string]*openapi3.Schema
	// names are the component schemas by their value, to name them in
	// reasons (type_astra_identifier, type_dns_1123).
	names map[*openapi3.Schema]string
}

// loadBodySchemas loads the embedded document once.
var loadBodySchemas = sync.OnceValues(func() (*bodySchemas, error) { return parseBodySchemas(openapiJSON) })

// parseBodySchemas loads and validates an OpenAPI 3.0 document and collects
// the schema of every request body. Every media type of a body must have
// the same schema: the server validates a body whatever its Content-Type.
func parseBodySchemas(data []byte) (*bodySchemas, error) {
	loader := openapi3.NewLoader() // external references are refused
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI 3.0 document: %w", err)
	}
	bs := &bodySchemas{ops: map[string]*openapi3.Schema{}, names: map[*openapi3.Schema]string{}}
	for name, ref := range doc.Components.Schemas {
		if ref != nil && ref.Value != nil {
			bs.names[ref.Value] = name
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			key := method + " " + path
			rb := op.RequestBody.Value
			if rb == nil || len(rb.Content) == 0 {
				return nil, fmt.Errorf("openapi.json: %s: request body without content", key)
			}
			var schema *openapi3.Schema
			for _, mt := range slices.Sorted(maps.Keys(rb.Content)) {
				s := rb.Content[mt].Schema
				if s == nil || s.Value == nil {
					return nil, fmt.Errorf("openapi.json: %s: %s without schema", key, mt)
				}
				if schema != nil && s.Value != schema {
					return nil, fmt.Errorf("openapi.json: %s: the media types of the body have different schemas", key)
				}
				schema = s.Value
			}
			bs.ops[key] = schema
		}
	}
	return bs, nil
}

// wildcardRest is a ServeMux {name...} wildcard.
var wildcardRest = regexp.MustCompile(`\{([^}.]+)\.\.\.\}`)

// openAPIPathOf turns a ServeMux pattern into the document's path: {name...}
// becomes {name}, a trailing {$} goes.
func openAPIPathOf(pattern string) string {
	return wildcardRest.ReplaceAllString(strings.TrimSuffix(pattern, "{$}"), "{$1}")
}

// forRequest is the body schema of the request's operation, or nil.
func (bs *bodySchemas) forRequest(r *http.Request) *openapi3.Schema {
	return bs.ops[r.Method+" "+openAPIPathOf(r.Pattern)]
}

// validate checks a decoded JSON value against schema and names every
// invalid field, in the API's field-path notation (matchingCriteria[0].value),
// sorted by name. A nil schema checks nothing.
func (bs *bodySchemas) validate(schema *openapi3.Schema, value any) []Invalid {
	if schema == nil {
		return nil
	}
	err := schema.VisitJSON(prune(schema, value), openapi3.MultiErrors(), openapi3.VisitAsRequest())
	if err == nil {
		return nil
	}
	var errs []*openapi3.SchemaError
	var other []error
	flattenSchemaErrors(err, &errs, &other)
	var bad []Invalid
	for _, e := range errs {
		bad = append(bad, bs.invalid(e, value)...)
	}
	for _, e := range other {
		// Not a finding about the body (a pattern of the document that
		// does not compile): name the body, not hide it.
		bad = append(bad, Invalid{"body", e.Error()})
	}
	bad = mergeInvalid(bad)
	slices.SortStableFunc(bad, func(a, b Invalid) int { return strings.Compare(a.Name, b.Name) })
	return bad
}

// flattenSchemaErrors lists the schema errors of err: a MultiError's, and
// for an allOf the errors of its parts (each already located), so a bad
// field under metadata (allOf: [type_astra_metadata_update]) is named
// itself, not as metadata.
func flattenSchemaErrors(err error, out *[]*openapi3.SchemaError, other *[]error) {
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, x := range e {
			flattenSchemaErrors(x, out, other)
		}
	case *openapi3.SchemaError:
		if e.SchemaField == "allOf" && e.Origin != nil {
			// Origin wraps the parts' errors (an unexported multi-error
			// of kin-openapi whose Unwrap is their MultiError).
			if parts, ok := errors.Unwrap(errors.Unwrap(e.Origin)).(openapi3.MultiError); ok && len(parts) > 0 {
				flattenSchemaErrors(parts, out, other)
				return
			}
		}
		*out = append(*out, e)
	default:
		*other = append(*other, err)
	}
}

// invalid turns one schema error into the fields it names (none when it is
// a length kin-openapi counted in UTF-16 units that is within the limit in
// code points).
func (bs *bodySchemas) invalid(e *openapi3.SchemaError, value any) []Invalid {
	path := locate(e.JSONPointer(), value)
	s := e.Schema
	switch e.SchemaField {
	case "properties": // additionalProperties: false
		return []Invalid{{joinPath(path, unsupportedKey(e)), "unknown field"}}
	case "required":
		return []Invalid{{nameOr(path), "required"}}
	case "type":
		return []Invalid{{nameOr(path), "must be " + typeName(s)}}
	case "nullable":
		return []Invalid{{nameOr(path), "must not be null: must be " + typeName(s)}}
	case "enum":
		return []Invalid{{nameOr(path), "must be one of " + enumList(s.Enum)}}
	case "minLength", "maxLength":
		str, _ := e.Value.(string)
		n := uint64(utf8.RuneCountInString(str))
		switch {
		case n < s.MinLength:
			return []Invalid{{nameOr(path), fmt.Sprintf("must be at least %d characters, got %d", s.MinLength, n)}}
		case s.MaxLength != nil && n > *s.MaxLength:
			return []Invalid{{nameOr(path), fmt.Sprintf("must be at most %d characters, got %d", *s.MaxLength, n)}}
		}
		return nil // within the limits in code points
	case "pattern":
		return []Invalid{{nameOr(path), bs.conform(s, "must match "+s.Pattern)}}
	case "anyOf", "oneOf":
		return []Invalid{{nameOr(path), bs.conform(s, "matches none of the allowed forms")}}
	case "minItems":
		return []Invalid{{nameOr(path), fmt.Sprintf("must have at least %d items", s.MinItems)}}
	case "maxItems":
		n := 0
		if l, ok := e.Value.([]any); ok {
			n = len(l)
		}
		return []Invalid{{nameOr(path), fmt.Sprintf("must have at most %d items, got %d", *s.MaxItems, n)}}
	case "uniqueItems":
		return duplicates(path, e.Value)
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
		return []Invalid{{nameOr(path), bs.bounds(s)}}
	}
	return []Invalid{{nameOr(path), e.Reason}}
}

// conform is a reason naming the component schema a value does not
// conform to, when it is one.
func (bs *bodySchemas) conform(s *openapi3.Schema, otherwise string) string {
	if name := bs.names[s]; name != "" {
		return "must conform to " + name
	}
	return otherwise
}

func (bs *bodySchemas) bounds(s *openapi3.Schema) string {
	f := func(p *float64) string { return strconv.FormatFloat(*p, 'f', -1, 64) }
	switch {
	case s.Min != nil && s.Max != nil:
		return "must be between " + f(s.Min) + " and " + f(s.Max)
	case s.Min != nil:
		return "must be at least " + f(s.Min)
	case s.Max != nil:
		return "must be at most " + f(s.Max)
	}
	return "out of range"
}

// unsupportedRe reads the property of kin-openapi's additionalProperties
// error, which names it only in its reason (`property "color" is
// unsupported`); TestSchemaErrorsAreLocated pins it.
var unsupportedRe = regexp.MustCompile(`^property (".*") is unsupported$`)

func unsupportedKey(e *openapi3.SchemaError) string {
	if m := unsupportedRe.FindStringSubmatch(e.Reason); m != nil {
		if k, err := strconv.Unquote(m[1]); err == nil {
			return k
		}
	}
	return "?"
}

// locate turns a JSON pointer's tokens into the API's field path, telling
// array indexes ([0]) from member names (.name) by the value they lead
// through.
func locate(tokens []string, value any) string {
	var b strings.Builder
	for _, tok := range tokens {
		switch v := value.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(v) {
				value = v[i]
			} else {
				value = nil
			}
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
			m, _ := v.(map[string]any)
			value = m[tok]
		}
	}
	return b.String()
}

// duplicates names each item of an array (uniqueItems) equal to an earlier
// one, as the hand-written checks do: "duplicate of arguments[0]".
func duplicates(path string, value any) []Invalid {
	items, _ := value.([]any)
	seen := map[string]int{}
	var out []Invalid
	for i, item := range items {
		key, _ := json.Marshal(item) // maps marshal with sorted keys
		if j, dup := seen[string(key)]; dup {
			out = append(out, Invalid{fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("duplicate of %s[%d]", path, j)})
			continue
		}
		seen[string(key)] = i
	}
	if len(out) == 0 {
		out = []Invalid{{nameOr(path), "items must be unique"}}
	}
	return out
}

func typeName(s *openapi3.Schema) string {
	if s.Type == nil || len(*s.Type) == 0 {
		return "a value of the schema"
	}
	var parts []string
	for _, t := range *s.Type {
		switch t {
		case openapi3.TypeArray, openapi3.TypeObject, openapi3.TypeInteger:
			parts = append(parts, "an "+t)
		default:
			parts = append(parts, "a "+t)
		}
	}
	return strings.Join(parts, " or ")
}

func enumList(enum []any) string {
	parts := make([]string, len(enum))
	for i, v := range enum {
		b, _ := json.Marshal(v)
		parts[i] = string(b)
	}
	return strings.Join(parts, ", ")
}

// prune is the value the schema is applied to: value without the members
// whose value is null and without the readOnly members of the schema's
// objects (see the rules above). value itself is not changed.
func prune(s *openapi3.Schema, value any) any {
	switch v := value.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if x == nil {
				continue
			}
			ps := property(s, k)
			if ps != nil && ps.ReadOnly {
				continue
			}
			out[k] = prune(ps, x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		var is *openapi3.Schema
		if s != nil {
			is = items(s)
		}
		for i, x := range v {
			out[i] = prune(is, x)
		}
		return out
	}
	return value
}

// property is the schema of member k of an object of schema s, looking
// through allOf; nil when s does not declare it.
func property(s *openapi3.Schema, k string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p := s.Properties[k]; p != nil && p.Value != nil {
		return p.Value
	}
	for _, part := range s.AllOf {
		if p := property(part.Value, k); p != nil {
			return p
		}
	}
	return nil
}

// items is the item schema of an array of schema s, looking through allOf.
func items(s *openapi3.Schema) *openapi3.Schema {
	if s.Items != nil && s.Items.Value != nil {
		return s.Items.Value
	}
	for _, part := range s.AllOf {
		if part.Value != nil {
			if is := items(part.Value); is != nil {
				return is
			}
		}
	}
	return nil
}

// mergeInvalid keeps the first finding of each field name, in order.
func mergeInvalid(lists ...[]Invalid) []Invalid {
	var out []Invalid
	named := map[string]bool{}
	for _, l := range lists {
		for _, f := range l {
			if !named[f.Name] {
				named[f.Name] = true
				out = append(out, f)
			}
		}
	}
	return out
}
