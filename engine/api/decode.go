package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/matcher"
)

// readBody reads at most max bytes of the body: a larger body is cut off at
// the limit (413/85), never read whole.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, *Problem) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, problem(85)
	case err != nil:
		return nil, problem(7)
	}
	return body, nil
}

// decodeStrict decodes a JSON object into v (a pointer to a struct) the way
// the Astra schemas say: every field not in the schema
// (additionalProperties: false) and every value of the wrong type is named,
// all of them, not just the first. Fields absent from the body keep the
// values v already holds, which is what a PUT merge needs. It returns 400/7
// for text that is not JSON and 400/8 naming the fields otherwise.
//
// When the body has such fields, check (if not nil) runs on what could be
// decoded and its schema-level findings are added, so one answer names every
// bad field; fields already named by the decoding are not named twice.
func decodeStrict(body []byte, v any, check func() []Invalid) *Problem {
	if !json.Valid(body) {
		return problem(7)
	}
	var bad []Invalid
	decodeValue(bytes.TrimSpace(body), reflect.ValueOf(v).Elem(), "", &bad)
	if len(bad) == 0 {
		return nil
	}
	if check != nil {
		named := map[string]bool{}
		for _, b := range bad {
			named[b.Name] = true
		}
		for _, f := range check() {
			if !named[f.Name] {
				bad = append(bad, f)
			}
		}
	}
	p := problem(8).fields(bad...)
	p.SchemaValidationFailure = describe(bad)
	return p
}

// schemaFields are the schema-level invalid fields of a validation error
// (rules beyond the schema are left for after decoding succeeds).
func schemaFields(err error) []Invalid {
	var out []Invalid
	var me *matcher.ValidationError
	var xe *executor.ValidationError
	switch {
	case errors.As(err, &me):
		for _, f := range me.Fields {
			if !f.Extended {
				out = append(out, Invalid{f.Field, f.Reason})
			}
		}
	case errors.As(err, &xe):
		for _, f := range xe.Fields {
			if !f.Extended {
				out = append(out, Invalid{f.Field, f.Reason})
			}
		}
	}
	return out
}

func describe(bad []Invalid) string {
	parts := make([]string, len(bad))
	for i, b := range bad {
		parts[i] = b.Name + ": " + b.Reason
	}
	return strings.Join(parts, "; ")
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// decodeValue decodes raw into dst, recording invalid fields under path.
func decodeValue(raw []byte, dst reflect.Value, path string, bad *[]Invalid) {
	t := dst.Type()
	switch {
	case t == rawMessageType:
		dst.SetBytes(append([]byte(nil), raw...))
	case t.Kind() == reflect.Pointer:
		if bytes.Equal(raw, []byte("null")) {
			dst.Set(reflect.Zero(t))
			return
		}
		if dst.IsNil() {
			dst.Set(reflect.New(t.Elem()))
		}
		decodeValue(raw, dst.Elem(), path, bad)
	case t.Kind() == reflect.Struct:
		decodeObject(raw, dst, path, bad)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			*bad = append(*bad, Invalid{nameOr(path), "must be an array"})
			return
		}
		if items == nil {
			dst.Set(reflect.Zero(t))
			return
		}
		out := reflect.MakeSlice(t, len(items), len(items))
		for i, item := range items {
			decodeValue(item, out.Index(i), fmt.Sprintf("%s[%d]", path, i), bad)
		}
		dst.Set(out)
	default:
		fresh := reflect.New(t)
		if err := json.Unmarshal(raw, fresh.Interface()); err != nil {
			*bad = append(*bad, Invalid{nameOr(path), "must be " + jsonKind(t)})
			return
		}
		dst.Set(fresh.Elem())
	}
}

func nameOr(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// jsonKind names a Go type the way the JSON schema does.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// decodeObject decodes a JSON object field by field into a struct,
// flattening embedded structs as encoding/json does.
func decodeObject(raw []byte, dst reflect.Value, path string, bad *[]Invalid) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		*bad = append(*bad, Invalid{nameOr(path), "must be an object"})
		return
	}
	fields := map[string]reflect.Value{}
	collectFields(dst, fields)
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		field := joinPath(path, name)
		f, ok := fields[name]
		if !ok {
			*bad = append(*bad, Invalid{field, "unknown field"})
			continue
		}
		decodeValue(obj[name], f, field, bad)
	}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// collectFields maps JSON names to the settable fields of a struct value.
func collectFields(v reflect.Value, out map[string]reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			collectFields(v.Field(i), out)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out[name] = v.Field(i)
	}
}
