package executor

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Values and limits of the Astra hookSource 1.0 schema.
const (
	// TypeHookSource is the media type of a hook source resource.
	TypeHookSource = "application/astra-hookSource"
	// VersionHookSource is the only hook source resource version.
	VersionHookSource = "1.0"
	// SourceTypeScript is the only sourceType: a shell script.
	SourceTypeScript = "script"

	// MaxNameLen is the maximum length of a name, in characters.
	MaxNameLen = 63
	// MaxSourceLen is the maximum length of the base64 source, in characters
	// (128 KiB of base64, about 96 KiB of script).
	MaxSourceLen = 131072
	// MaxDescriptionLen is the maximum length of a description, in characters.
	MaxDescriptionLen = 511

	// True and False are the values of Astra's string booleans (private,
	// preloaded).
	True  = "true"
	False = "false"
)

var (
	// base64Pattern is Astra's type_base64_data pattern: standard alphabet,
	// padded, no line breaks.
	base64Pattern = regexp.MustCompile(`^([A-Za-z0-9+/]{4})*(([A-Za-z0-9+/]{2})==|([A-Za-z0-9+/]{3})=)?$`)
	// checksumPattern is the pattern of sourceMD5Checksum.
	checksumPattern = regexp.MustCompile(`^([0-9a-fA-F]){32}$`)
)

// HookSource is an Astra hookSource 1.0: a script, base64-encoded, with the
// MD5 checksum that pins it. It carries no metadata member; a store wraps it
// with one.
//
// private, preloaded and sourceMD5Checksum are omitted from JSON while empty,
// so a request body built from a fresh HookSource is a valid Astra POST body;
// a stored source has them all set (ApplyDefaults, Seal), so a response always
// carries them. source is omitted while empty so a private source can be
// returned without it (see Redacted).
type HookSource struct {
	Type              string `json:"type"`
	Version           string `json:"version"`
	ID                string `json:"id,omitempty"`
	Name              string `json:"name"`
	Private           string `json:"private,omitempty"`
	Preloaded         string `json:"preloaded,omitempty"`
	SourceType        string `json:"sourceType"`
	Source            string `json:"source,omitempty"`
	SourceMD5Checksum string `json:"sourceMD5Checksum,omitempty"`
	Description       string `json:"description,omitempty"`
}

// NewScriptSource returns a public, non-preloaded script source named name
// whose source is script, base64-encoded and sealed. It does not validate:
// call Validate before storing it.
func NewScriptSource(name string, script []byte) *HookSource {
	s := &HookSource{
		Type:       TypeHookSource,
		Version:    VersionHookSource,
		Name:       name,
		SourceType: SourceTypeScript,
		Source:     base64.StdEncoding.EncodeToString(script),
	}
	s.ApplyDefaults()
	s.Seal()
	return s
}

// Checksum returns the sourceMD5Checksum of a source: the lowercase hex MD5 of
// the base64 text itself, not of the decoded script. This is how Astra's own
// examples compute it: the seed source
// "ZWNobyAiVkhKaGJuTWdVbWxuYUhSeklRPT0iIHwgYmFzZTY0IC1k" has the checksum
// "b1a4b8b0144c3f6be553b626130ca145".
func Checksum(sourceB64 string) string {
	sum := md5.Sum([]byte(sourceB64))
	return hex.EncodeToString(sum[:])
}

// ApplyDefaults sets private and preloaded to "false" where they are empty.
func (s *HookSource) ApplyDefaults() {
	if s.Private == "" {
		s.Private = False
	}
	if s.Preloaded == "" {
		s.Preloaded = False
	}
}

// Seal sets sourceMD5Checksum to the checksum of source. The server computes
// the checksum; a client-supplied one is only compared (Validate).
func (s *HookSource) Seal() { s.SourceMD5Checksum = Checksum(s.Source) }

// IsPrivate reports whether the source must never be returned through the API.
func (s *HookSource) IsPrivate() bool { return s.Private == True }

// IsPreloaded reports whether the source is preloaded, hence read-only.
func (s *HookSource) IsPreloaded() bool { return s.Preloaded == True }

// Redacted returns a copy fit to return through the API: without its source
// when the source is private. The checksum stays, so a client can still tell
// versions apart.
func (s HookSource) Redacted() HookSource {
	if s.IsPrivate() {
		s.Source = ""
	}
	return s
}

// Validate checks s against the Astra hookSource schema and Hookshot's script
// rules and returns a *ValidationError naming every invalid field, or nil.
//
// Empty private and preloaded are accepted (ApplyDefaults makes them "false").
// An empty sourceMD5Checksum is accepted (Seal computes it); a non-empty one
// must be 32 hex digits equal, ignoring case, to the checksum of source. id is
// not checked: the server assigns it. Validate does not modify s.
func (s *HookSource) Validate() error {
	v := &ValidationError{}
	if s.Type != TypeHookSource {
		v.add("type", mustBe(s.Type, TypeHookSource))
	}
	if s.Version != VersionHookSource {
		v.add("version", mustBe(s.Version, VersionHookSource))
	}
	if reason := checkText(s.Name, 1, MaxNameLen); reason != "" {
		v.add("name", reason)
	}
	if s.Private != "" && s.Private != True && s.Private != False {
		v.add("private", fmt.Sprintf(`is %q; must be "true" or "false"`, s.Private))
	}
	if s.Preloaded != "" && s.Preloaded != True && s.Preloaded != False {
		v.add("preloaded", fmt.Sprintf(`is %q; must be "true" or "false"`, s.Preloaded))
	}
	if s.SourceType != SourceTypeScript {
		v.add("sourceType", mustBe(s.SourceType, SourceTypeScript))
	}
	script, reason := decodeSource(s.Source)
	if reason != "" {
		v.add("source", reason)
	} else if reason = scriptProblem(script); reason != "" {
		v.Fields = append(v.Fields, FieldError{Field: "source", Reason: reason, Extended: true})
	}
	if s.SourceMD5Checksum != "" {
		switch {
		case !checksumPattern.MatchString(s.SourceMD5Checksum):
			v.add("sourceMD5Checksum", fmt.Sprintf("is %q; must be 32 hexadecimal digits", truncate(s.SourceMD5Checksum, 40)))
		case script != nil && !strings.EqualFold(s.SourceMD5Checksum, Checksum(s.Source)):
			v.Fields = append(v.Fields, FieldError{Field: "sourceMD5Checksum", Reason: fmt.Sprintf("is %s but the MD5 of source is %s", s.SourceMD5Checksum, Checksum(s.Source)), Extended: true})
		}
	}
	if reason := checkText(s.Description, 0, MaxDescriptionLen); reason != "" {
		v.add("description", reason)
	}
	return v.errOrNil()
}

// Script returns the decoded script after checking that the source still
// matches its recorded checksum (an error wrapping ErrChecksumMismatch if the
// checksum is missing or differs; ErrNoSource if the source was withheld) and
// that it is still a valid script (a *ValidationError otherwise).
func (s *HookSource) Script() ([]byte, error) {
	if s.SourceMD5Checksum == "" {
		return nil, fmt.Errorf("%w: hook source %q has no sourceMD5Checksum (not sealed)", ErrChecksumMismatch, s.Name)
	}
	sum := Checksum(s.Source)
	if !strings.EqualFold(s.SourceMD5Checksum, sum) {
		if s.Source == "" {
			return nil, fmt.Errorf("%w: hook source %q has a checksum but no source", ErrNoSource, s.Name)
		}
		return nil, fmt.Errorf("%w: hook source %q: recorded %s, source has %s", ErrChecksumMismatch, s.Name, s.SourceMD5Checksum, sum)
	}
	script, reason := decodeSource(s.Source)
	if reason == "" {
		reason = scriptProblem(script)
	}
	if reason != "" {
		return nil, &ValidationError{Fields: []FieldError{{Field: "source", Reason: reason}}}
	}
	return script, nil
}

// ValidateScript checks a decoded script against the rules of sourceType
// "script": no carriage return, no binary data. Binary data is invalid UTF-8,
// a NUL byte, or a C0 control character other than tab, line feed, vertical
// tab, form feed and escape (ESC is common in scripts that print colors). It
// returns a *ValidationError for the field "source" whose reason gives the
// byte offset (from 0) and line (from 1) of the first offending byte, or nil.
func ValidateScript(decoded []byte) error {
	if reason := scriptProblem(decoded); reason != "" {
		return &ValidationError{Fields: []FieldError{{Field: "source", Reason: reason}}}
	}
	return nil
}

// decodeSource checks the base64 source text and decodes it. On failure it
// returns a nil script and the reason; a valid empty source decodes to a
// non-nil empty script.
func decodeSource(src string) ([]byte, string) {
	if n := utf8.RuneCountInString(src); n > MaxSourceLen {
		return nil, fmt.Sprintf("is %d characters; at most %d allowed (about 96 KiB of script)", n, MaxSourceLen)
	}
	if !base64Pattern.MatchString(src) {
		return nil, base64Problem(src)
	}
	script, err := base64.StdEncoding.DecodeString(src)
	if err != nil {
		// Unreachable after the pattern check; kept so a decoder change
		// cannot let a bad source through.
		return nil, "is not valid base64: " + err.Error()
	}
	if script == nil {
		script = []byte{}
	}
	return script, ""
}

// base64Problem explains why src does not match the base64 pattern.
func base64Problem(src string) string {
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case r < utf8.RuneSelf && isBase64Char(byte(r)):
		case r == '=':
			last, beforeLast := len(src)-1, len(src)-2
			if len(src)%4 != 0 || i < beforeLast || (i == beforeLast && src[last] != '=') {
				return fmt.Sprintf("is not base64: padding '=' at character %d is not at the end", i)
			}
		case r == '\n' || r == '\r':
			return fmt.Sprintf("is not base64: line break at character %d (send base64 without line breaks)", i)
		case r == '-' || r == '_':
			return fmt.Sprintf("is not base64: %q at character %d is URL-safe base64; use the standard alphabet with + and /", r, i)
		default:
			return fmt.Sprintf("is not base64: %q at character %d is not in the base64 alphabet", r, i)
		}
		i += size
	}
	if len(src)%4 != 0 {
		return fmt.Sprintf("is not base64: %d characters is not a multiple of 4 (missing '=' padding?)", len(src))
	}
	return "is not standard padded base64"
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// scriptProblem returns why a decoded script is not acceptable, or "".
func scriptProblem(b []byte) string {
	line := 1
	for i := 0; i < len(b); {
		c := b[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return fmt.Sprintf("contains binary data: invalid UTF-8 at byte %d (line %d)", i, line)
			}
			i += size
			continue
		}
		switch {
		case c == '\n':
			line++
		case c == '\r':
			return fmt.Sprintf("contains a carriage return at byte %d (line %d); save the script with LF line endings", i, line)
		case c == 0:
			return fmt.Sprintf("contains binary data: a NUL byte at byte %d (line %d)", i, line)
		case c < 0x20 && c != '\t' && c != '\v' && c != '\f' && c != 0x1b:
			return fmt.Sprintf("contains binary data: control character 0x%02X at byte %d (line %d)", c, i, line)
		}
		i++
	}
	return ""
}

// checkText checks a free-text field's length in characters and encoding.
func checkText(s string, minLen, maxLen int) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen && minLen == 1:
		return fmt.Sprintf("is required (1 to %d characters)", maxLen)
	case n < minLen:
		return fmt.Sprintf("is %d characters; at least %d required", n, minLen)
	case n > maxLen:
		return fmt.Sprintf("is %d characters; at most %d allowed", n, maxLen)
	}
	return ""
}

func mustBe(got, want string) string {
	if got == "" {
		return fmt.Sprintf("is required; must be %q", want)
	}
	return fmt.Sprintf("is %q; must be %q", truncate(got, 64), want)
}

// truncate shortens s to at most n bytes (on a rune boundary) for quoting in
// a reason, so a huge bad value does not make a huge error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
