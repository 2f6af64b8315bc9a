package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/matcher"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// readBody checks the body's Content-Type (415, see contentTypeProblem) and
// reads at most max bytes of the body: a larger body is cut off at the limit
// (413/85), never read whole.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, *Problem) {
	if p := contentTypeProblem(r); p != nil {
		return nil, p
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, problem(astra.BodyTooLarge)
	case err != nil:
		return nil, problem(astra.InvalidJSONPayload)
	}
	return body, nil
}

// contentTypeProblem refuses a body that says it is not JSON: its
// Content-Type must be application/json or the route's resource media type
// with +json (application/astra-appSnap+json), whatever its version
// parameter, with no charset or utf-8. A body without Content-Type is taken
// as JSON: it claims nothing else. Astra's catalogue has no 415 problem, so
// the answer is 415 with problem 12 (Invalid headers) naming Content-Type.
func contentTypeProblem(r *http.Request) *Problem {
	header := r.Header.Get("Content-Type")
	if header == "" {
		return nil
	}
	accepted := []string{"application/json"}
	if mt := bodyMediaType(r.Pattern); mt != "" {
		accepted = append(accepted, mt+"+json")
	}
	mt, params, err := mime.ParseMediaType(header)
	var reason string
	switch {
	case err != nil:
		reason = "is not a media type"
	case !slices.ContainsFunc(accepted, func(a string) bool { return strings.EqualFold(a, mt) }): // case-insensitive
		reason = mt + " is not JSON this resource accepts"
	case params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8"):
		reason = "charset " + params["charset"] + " is not utf-8"
	default:
		return nil
	}
	p := problem(astra.InvalidHeaders).params(Invalid{"Content-Type", reason + "; send " + strings.Join(accepted, " or ")})
	p.status = http.StatusUnsupportedMediaType
	p.Status = strconv.Itoa(p.status)
	p.Detail = "The request body's media type isn't supported: Content-Type must be " + strings.Join(accepted, " or ") + "."
	return p
}

// decodeStrict decodes a JSON object into v (a pointer to a struct) after
// validating it against the request-body schema of its operation (validate,
// see bodySchemas.validate; nil validates nothing): every field the schema
// refuses is named, all of them, not just the first. The typed decoding
// names too what v cannot hold (a field v lacks, a value of another type).
// Fields absent from the body keep the values v already holds, which is
// what a PUT merge needs. It returns 400/7 for text that is not JSON and
// 400/8 naming the fields otherwise. A string that is not valid Unicode (a
// raw byte that is not UTF-8, an escaped lone surrogate) is a 400/8 naming
// its field and byte offset: encoding/json would store U+FFFD in its place.
//
// When the body has such fields, check (if not nil) runs on what could be
// decoded and its findings (the hand-written rules: a regex that compiles,
// unique items, cross-field rules) are added, so one answer names every bad
// field; a field already named is not named twice.
func decodeStrict(body []byte, v any, validate func(value any) []Invalid, check func() []Invalid) *Problem {
	if !json.Valid(body) {
		return problem(astra.InvalidJSONPayload)
	}
	bad := invalidUnicode(body)
	if validate != nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber() // 1e400 is a number the schema refuses, not an error
		var value any
		if err := dec.Decode(&value); err != nil {
			return problem(astra.InvalidJSONPayload)
		}
		bad = mergeInvalid(bad, validate(value))
	}
	var typed []Invalid
	decodeValue(bytes.TrimSpace(body), reflect.ValueOf(v).Elem(), "", &typed)
	bad = mergeInvalid(bad, typed)
	if len(bad) == 0 {
		return nil
	}
	if check != nil {
		bad = mergeInvalid(bad, check())
	}
	p := problem(astra.InvalidJSONResource).fields(bad...)
	p.SchemaValidationFailure = describe(bad)
	return p
}

// decode decodes and validates the body of r (see decodeStrict) against
// the request-body schema of r's operation in openapi.json.
func (s *Server) decode(r *http.Request, body []byte, v any, check func() []Invalid) *Problem {
	schema := s.bodies.forRequest(r)
	return decodeStrict(body, v, func(value any) []Invalid { return s.bodies.validate(schema, value) }, check)
}

// allFields are every invalid field of a validation error, those of rules
// beyond the schema (extended) included: merged into an answer that already
// names schema faults.
func allFields(err error) []Invalid {
	var ve interface{ FieldErrors() []events.FieldError }
	if !errors.As(err, &ve) {
		return nil
	}
	var out []Invalid
	for _, f := range ve.FieldErrors() {
		out = append(out, Invalid{f.Field, f.Reason})
	}
	return out
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

// invalidUnicode names every string of a valid JSON text that is not valid
// Unicode: a byte that is not UTF-8, or a \u escape of a surrogate that is
// not half of a pair. A key names its object; offsets are into body.
func invalidUnicode(body []byte) []Invalid {
	if utf8.Valid(body) && !bytes.Contains(body, []byte(`\u`)) {
		return nil
	}
	type frame struct {
		array, wantKey bool
		path, key      string
		n              int
	}
	var bad []Invalid
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return bad // io.EOF: body is valid JSON, checked before
		}
		end := dec.InputOffset()
		path, isKey := "", false
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			switch {
			case tok == json.Delim(']') || tok == json.Delim('}'):
			case top.array:
				path = fmt.Sprintf("%s[%d]", top.path, top.n)
				top.n++
			case top.wantKey:
				isKey, top.key, top.wantKey = true, tok.(string), false
			default:
				path, top.wantKey = joinPath(top.path, top.key), true
			}
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				stack = append(stack, &frame{array: tok == '[', wantKey: tok == '{', path: path})
			} else {
				stack = stack[:len(stack)-1]
			}
		case string:
			off := badUnicodeAt(body[start:end])
			switch {
			case off < 0:
			case isKey:
				parent := stack[len(stack)-1].path
				bad = append(bad, Invalid{nameOr(parent), "has a field name that is not valid UTF-8 (byte offset " + strconv.FormatInt(start+int64(off), 10) + ")"})
			default:
				bad = append(bad, Invalid{nameOr(path), "is not valid UTF-8 (byte offset " + strconv.FormatInt(start+int64(off), 10) + ")"})
			}
		}
	}
}

// badUnicodeAt is the offset in span (a JSON string token, with what
// precedes it) of its first byte that is not UTF-8 or \u escape of a lone
// surrogate, or -1.
func badUnicodeAt(span []byte) int {
	i := bytes.IndexByte(span, '"')
	if i < 0 {
		return -1
	}
	for i++; i < len(span); {
		c := span[i]
		switch {
		case c == '\\' && i+1 < len(span) && span[i+1] == 'u':
			r := hex4(span, i+2)
			switch {
			case r >= 0xD800 && r < 0xDC00: // high half: a low half must follow
				if i+7 < len(span) && span[i+6] == '\\' && span[i+7] == 'u' {
					if lo := hex4(span, i+8); lo >= 0xDC00 && lo < 0xE000 {
						i += 12
						continue
					}
				}
				return i
			case r >= 0xDC00 && r < 0xE000: // a low half alone
				return i
			}
			i += 6
		case c == '\\':
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(span[i:])
			if r == utf8.RuneError && size == 1 {
				return i
			}
			i += size
		}
	}
	return -1
}

// hex4 is the value of the four hex digits at b[i:], or -1.
func hex4(b []byte, i int) int {
	if i+4 > len(b) {
		return -1
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	if err != nil {
		return -1
	}
	return int(n)
}
