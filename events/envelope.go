package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// SpecVersion is the CloudEvents version of every envelope.
const SpecVersion = "1.0"

// DefaultSource is the CloudEvents source Hookshot components use.
const DefaultSource = "/hookshot"

// MaxMessageBytes bounds any message Hookshot decodes.
const MaxMessageBytes = 1 << 20

// Envelope is a CloudEvents 1.0 structured-mode JSON event. Extension
// attributes are allowed by the spec and ignored.
type Envelope struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Subject         string          `json:"subject,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// NewEnvelope wraps data in an envelope of type typ with id.
func NewEnvelope(typ, id string, data any) (*Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s data: %w", typ, err)
	}
	return &Envelope{
		SpecVersion:     SpecVersion,
		ID:              id,
		Source:          DefaultSource,
		Type:            typ,
		Time:            time.Now().UTC(),
		DataContentType: "application/json",
		Data:            raw,
	}, nil
}

// tokenRE is what an ID must look like to be one subject token.
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// ValidToken reports whether s can be used as one NATS subject token and KV
// key segment: 1–128 of A–Z a–z 0–9 _ -.
func ValidToken(s string) bool { return tokenRE.MatchString(s) }

// decodeEnvelope checks the envelope and returns it; typ is the expected type.
func decodeEnvelope(data []byte, typ string, de *DecodeError) *Envelope {
	if len(data) > MaxMessageBytes {
		de.add("", fmt.Sprintf("message is %d bytes, more than %d", len(data), MaxMessageBytes))
		return nil
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		de.add("", "not a CloudEvents JSON envelope: "+err.Error())
		return nil
	}
	if env.SpecVersion != SpecVersion {
		de.add("specversion", fmt.Sprintf("must be %q", SpecVersion))
	}
	if env.ID == "" {
		de.add("id", "required")
	}
	if env.Source == "" {
		de.add("source", "required")
	}
	if env.Type != typ {
		de.add("type", fmt.Sprintf("must be %q", typ))
	}
	if ct := env.DataContentType; ct != "" && !strings.HasPrefix(ct, "application/json") {
		de.add("datacontenttype", "must be application/json")
	}
	if len(bytes.TrimSpace(env.Data)) == 0 || bytes.Equal(bytes.TrimSpace(env.Data), []byte("null")) {
		de.add("data", "required")
		return nil
	}
	return &env
}

// strictUnmarshal decodes data into v, rejecting unknown fields, and records
// the failing field.
func strictUnmarshal(data []byte, v any, prefix string, de *DecodeError) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field, reason := prefix, err.Error()
		var te *json.UnmarshalTypeError
		switch {
		case asTypeError(err, &te):
			field = joinField(prefix, te.Field)
			reason = fmt.Sprintf("must be %s, not %s", te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			field, reason = joinField(prefix, name), "unknown field"
		}
		de.add(field, reason)
		return false
	}
	if dec.More() {
		de.add(prefix, "trailing data after the JSON value")
		return false
	}
	return true
}

func joinField(prefix, name string) string {
	if prefix == "" {
		return name
	}
	if name == "" {
		return prefix
	}
	return prefix + "." + name
}

// checkText validates a required free-text identity field.
func checkText(de *DecodeError, field, v string, max int) {
	switch {
	case v == "":
		de.add(field, "required")
	case !utf8.ValidString(v):
		de.add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(v) > max:
		de.add(field, fmt.Sprintf("longer than %d characters", max))
	}
}
