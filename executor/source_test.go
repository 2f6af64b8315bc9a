package executor

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The first item of the seed astra-core-list-hook-sources.txt.
const (
	seedSource   = "ZWNobyAiVkhKaGJuTWdVbWxuYUhSeklRPT0iIHwgYmFzZTY0IC1k"
	seedChecksum = "b1a4b8b0144c3f6be553b626130ca145"
	seedItem     = `{
      "type": "application/astra-hookSource",
      "version": "1.0",
      "id": "2d6154dd-6863-4a26-8017-6be092b8b0bd",
      "name": "Payroll script",
      "private": "false",
      "preloaded": "false",
      "sourceType": "script",
      "source": "ZWNobyAiVkhKaGJuTWdVbWxuYUhSeklRPT0iIHwgYmFzZTY0IC1k",
      "sourceMD5Checksum": "b1a4b8b0144c3f6be553b626130ca145",
      "description": "Pre and post hook script for payroll",
      "metadata": {
        "labels": [],
        "creationTimestamp": "2020-08-06T12:24:52.256624Z",
        "modificationTimestamp": "2020-08-06T12:24:52.256624Z",
        "createdBy": "64182074-ddb6-42eb-b7f4-b6a02cf9ba7c"
      }
    }`
	// The second item: private, returned without its source.
	seedPrivateItem = `{
      "type": "application/astra-hookSource",
      "version": "1.0",
      "id": "b71c6793-aa9b-4654-92ef-60663a0aedac",
      "name": "Payroll script",
      "private": "true",
      "preloaded": "false",
      "sourceType": "script",
      "sourceMD5Checksum": "6469094cb279f6d91358bc5062d15baf",
      "description": "Pre and post hook script for payroll"
    }`
)

func TestChecksumSeed(t *testing.T) {
	t.Parallel()
	if got := Checksum(seedSource); got != seedChecksum {
		t.Fatalf("Checksum(seed source) = %s, want %s", got, seedChecksum)
	}
	// The checksum is of the base64 text, not of the decoded script.
	decoded, _ := base64.StdEncoding.DecodeString(seedSource)
	if Checksum(string(decoded)) == seedChecksum {
		t.Fatal("checksum of the decoded script equals the seed checksum; the seed defines it over the base64 text")
	}
}

func TestSeedItemRoundTrip(t *testing.T) {
	t.Parallel()
	var s HookSource
	if err := json.Unmarshal([]byte(seedItem), &s); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate(seed) = %v", err)
	}
	script, err := s.Script()
	if err != nil {
		t.Fatalf("Script() error = %v", err)
	}
	if want := `echo "VHJhbnMgUmlnaHRzIQ==" | base64 -d`; string(script) != want {
		t.Fatalf("Script() = %q, want %q", script, want)
	}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"application/astra-hookSource","version":"1.0","id":"2d6154dd-6863-4a26-8017-6be092b8b0bd",` +
		`"name":"Payroll script","private":"false","preloaded":"false","sourceType":"script",` +
		`"source":"ZWNobyAiVkhKaGJuTWdVbWxuYUhSeklRPT0iIHwgYmFzZTY0IC1k",` +
		`"sourceMD5Checksum":"b1a4b8b0144c3f6be553b626130ca145","description":"Pre and post hook script for payroll"}`
	if string(out) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", out, want)
	}
}

func TestRedactedPrivateSource(t *testing.T) {
	t.Parallel()
	s := NewScriptSource("secret", []byte("echo hi\n"))
	s.Private = True
	out, err := json.Marshal(s.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), `"source"`) {
		t.Fatalf("redacted private source still has source: %s", out)
	}
	if !strings.Contains(string(out), `"sourceMD5Checksum":"`+s.SourceMD5Checksum+`"`) {
		t.Fatalf("redacted source lost its checksum: %s", out)
	}
	if s.Source == "" {
		t.Fatal("Redacted modified the original")
	}
	public := NewScriptSource("public", []byte("echo hi\n"))
	if public.Redacted().Source != public.Source {
		t.Fatal("Redacted removed the source of a public source")
	}
}

func TestScriptOfWithheldSource(t *testing.T) {
	t.Parallel()
	var s HookSource
	if err := json.Unmarshal([]byte(seedPrivateItem), &s); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Script(); !errors.Is(err, ErrNoSource) {
		t.Fatalf("Script() error = %v, want ErrNoSource", err)
	}
}

func TestScriptChecksum(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		given   func(*HookSource)
		want    string
		wantErr error
	}{
		{name: "sealed", given: func(*HookSource) {}, want: "echo ok\n"},
		{name: "uppercase checksum", given: func(s *HookSource) { s.SourceMD5Checksum = strings.ToUpper(s.SourceMD5Checksum) }, want: "echo ok\n"},
		{name: "not sealed", given: func(s *HookSource) { s.SourceMD5Checksum = "" }, wantErr: ErrChecksumMismatch},
		{name: "source changed after sealing", given: func(s *HookSource) { s.Source = base64.StdEncoding.EncodeToString([]byte("rm -rf /\n")) }, wantErr: ErrChecksumMismatch},
		{name: "sealed invalid source", given: func(s *HookSource) { s.Source = base64.StdEncoding.EncodeToString([]byte("echo\r\n")); s.Seal() }, wantErr: ErrInvalidSource},
		{name: "sealed non-base64", given: func(s *HookSource) { s.Source = "not base64"; s.Seal() }, wantErr: ErrInvalidSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewScriptSource("s", []byte("echo ok\n"))
			tt.given(s)
			got, err := s.Script()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Script() error = %v, want %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Fatalf("Script() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestApplyDefaults(t *testing.T) {
	t.Parallel()
	s := HookSource{Private: True}
	s.ApplyDefaults()
	if s.Private != True || s.Preloaded != False {
		t.Fatalf("ApplyDefaults: private=%q preloaded=%q, want true/false", s.Private, s.Preloaded)
	}
	var fresh HookSource
	fresh.ApplyDefaults()
	if fresh.Private != False || fresh.Preloaded != False {
		t.Fatalf("ApplyDefaults on empty: private=%q preloaded=%q", fresh.Private, fresh.Preloaded)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func validSource() HookSource {
	return HookSource{
		Type:       TypeHookSource,
		Version:    VersionHookSource,
		Name:       "quiesce",
		SourceType: SourceTypeScript,
		Source:     b64("#!/bin/sh\necho ok\n"),
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given func(*HookSource)
		// want maps each field that must be reported to a substring of its
		// reason; no other field may be reported.
		want map[string]string
	}{
		{name: "valid", given: func(*HookSource) {}},
		{name: "valid sealed and defaulted", given: func(s *HookSource) { s.ApplyDefaults(); s.Seal() }},
		{name: "empty source is an empty script", given: func(s *HookSource) { s.Source = "" }},
		{name: "name 63 characters, multi-byte", given: func(s *HookSource) { s.Name = strings.Repeat("é", 63) }},
		{name: "tab, vertical tab, form feed, escape, UTF-8 allowed", given: func(s *HookSource) { s.Source = b64("printf '\t\v\f\x1b[1mgras\x1b[0m — ✓'\n") }},
		{name: "description 511 characters", given: func(s *HookSource) { s.Description = strings.Repeat("ü", 511) }},
		{name: "checksum upper case", given: func(s *HookSource) { s.SourceMD5Checksum = strings.ToUpper(Checksum(s.Source)) }},

		{name: "carriage return", given: func(s *HookSource) { s.Source = b64("#!/bin/sh\r\necho ok\r\n") },
			want: map[string]string{"source": "contains a carriage return at byte 9 (line 1)"}},
		{name: "carriage return on line 2", given: func(s *HookSource) { s.Source = b64("echo a\necho b\r\n") },
			want: map[string]string{"source": "contains a carriage return at byte 13 (line 2)"}},
		{name: "NUL", given: func(s *HookSource) { s.Source = b64("echo a\x00b\n") },
			want: map[string]string{"source": "binary data: a NUL byte at byte 6"}},
		{name: "invalid UTF-8", given: func(s *HookSource) { s.Source = b64("echo \xff\xfe\n") },
			want: map[string]string{"source": "binary data: invalid UTF-8 at byte 5"}},
		{name: "control character", given: func(s *HookSource) { s.Source = b64("echo \a\n") },
			want: map[string]string{"source": "binary data: control character 0x07 at byte 5"}},
		{name: "ELF binary", given: func(s *HookSource) { s.Source = b64("\x7fELF\x02\x01\x01\x00") },
			want: map[string]string{"source": "binary data"}},
		{name: "not base64", given: func(s *HookSource) { s.Source = "echo hi" },
			want: map[string]string{"source": `' ' at character 4 is not in the base64 alphabet`}},
		{name: "missing padding", given: func(s *HookSource) { s.Source = "ZWNobw" },
			want: map[string]string{"source": "not a multiple of 4"}},
		{name: "line break in base64", given: func(s *HookSource) { s.Source = "ZWNo\nbw==" },
			want: map[string]string{"source": "line break at character 4"}},
		{name: "URL-safe base64", given: func(s *HookSource) { s.Source = "ZW_o" },
			want: map[string]string{"source": "URL-safe"}},
		{name: "padding in the middle", given: func(s *HookSource) { s.Source = "ZQ==ZQ==" },
			want: map[string]string{"source": "padding '=' at character 2"}},
		{name: "source too long", given: func(s *HookSource) { s.Source = strings.Repeat("QUFB", MaxSourceLen/4+1) },
			want: map[string]string{"source": "is 131076 characters; at most 131072"}},
		{name: "source at the limit", given: func(s *HookSource) { s.Source = strings.Repeat("QUFB", MaxSourceLen/4) }},
		{name: "name empty", given: func(s *HookSource) { s.Name = "" },
			want: map[string]string{"name": "is required"}},
		{name: "name 64 characters", given: func(s *HookSource) { s.Name = strings.Repeat("n", 64) },
			want: map[string]string{"name": "is 64 characters; at most 63"}},
		{name: "description 512 characters", given: func(s *HookSource) { s.Description = strings.Repeat("d", 512) },
			want: map[string]string{"description": "at most 511"}},
		{name: "checksum not hex", given: func(s *HookSource) { s.SourceMD5Checksum = "xyz" },
			want: map[string]string{"sourceMD5Checksum": "32 hexadecimal digits"}},
		{name: "checksum of decoded script", given: func(s *HookSource) { s.SourceMD5Checksum = Checksum("#!/bin/sh\necho ok\n") },
			want: map[string]string{"sourceMD5Checksum": "but the MD5 of source is " + Checksum(b64("#!/bin/sh\necho ok\n"))}},
		{name: "type and version", given: func(s *HookSource) { s.Type = ""; s.Version = "2.0" },
			want: map[string]string{"type": `is required; must be "application/astra-hookSource"`, "version": `is "2.0"; must be "1.0"`}},
		{name: "every field bad", given: func(s *HookSource) {
			*s = HookSource{
				Type:              "application/astra-hookSources",
				Version:           "1",
				Name:              strings.Repeat("x", 100),
				Private:           "yes",
				Preloaded:         "TRUE",
				SourceType:        "binary",
				Source:            b64("echo\r\n"),
				SourceMD5Checksum: strings.Repeat("0", 32),
				Description:       strings.Repeat("y", 600),
			}
		}, want: map[string]string{
			"type":              "must be",
			"version":           "must be",
			"name":              "at most 63",
			"private":           `must be "true" or "false"`,
			"preloaded":         `must be "true" or "false"`,
			"sourceType":        `must be "script"`,
			"source":            "carriage return",
			"sourceMD5Checksum": "MD5 of source",
			"description":       "at most 511",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := validSource()
			tt.given(&s)
			before := s
			err := s.Validate()
			if s != before {
				t.Fatal("Validate modified the source")
			}
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if !errors.Is(err, ErrInvalidSource) {
				t.Fatal("ValidationError does not match ErrInvalidSource")
			}
			if len(verr.Fields) != len(tt.want) {
				t.Fatalf("Validate() named %d fields (%v), want %d", len(verr.Fields), verr, len(tt.want))
			}
			for field, wantReason := range tt.want {
				reason, ok := verr.Field(field)
				if !ok {
					t.Errorf("field %s not named in %v", field, verr)
					continue
				}
				if !strings.Contains(reason, wantReason) {
					t.Errorf("field %s: reason %q does not contain %q", field, reason, wantReason)
				}
				if !strings.Contains(err.Error(), field+": "+reason) {
					t.Errorf("Error() %q does not list %s", err.Error(), field)
				}
			}
		})
	}
}

func TestValidateFieldOrder(t *testing.T) {
	t.Parallel()
	s := HookSource{Private: "x", Preloaded: "x", Source: "!", SourceMD5Checksum: "!", Description: strings.Repeat("d", 512)}
	var verr *ValidationError
	if !errors.As(s.Validate(), &verr) {
		t.Fatal("want a *ValidationError")
	}
	var got []string
	for _, f := range verr.Fields {
		got = append(got, f.Field)
	}
	want := "type version name private preloaded sourceType source sourceMD5Checksum description"
	if strings.Join(got, " ") != want {
		t.Fatalf("fields = %v, want %s", got, want)
	}
}

func TestValidateScriptAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		given   string
		wantErr string
	}{
		{name: "empty", given: ""},
		{name: "shell", given: "#!/bin/sh\nset -eu\nfsfreeze -f \"$1\"\n"},
		{name: "CRLF", given: "a\r\n", wantErr: "source: contains a carriage return at byte 1 (line 1)"},
		{name: "lone CR at end", given: "a\nb\nc\r", wantErr: "at byte 5 (line 3)"},
		{name: "truncated UTF-8", given: "é"[:1], wantErr: "invalid UTF-8 at byte 0"},
		{name: "backspace", given: "\b", wantErr: "control character 0x08"},
		{name: "DEL and C1 are text", given: "\x7f\u0085"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateScript([]byte(tt.given))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateScript = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidSource) {
				t.Fatalf("ValidateScript = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewScriptSourceIsValid(t *testing.T) {
	t.Parallel()
	s := NewScriptSource("n", []byte("echo hi\n"))
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Private != False || s.Preloaded != False || s.SourceMD5Checksum != Checksum(s.Source) {
		t.Fatalf("NewScriptSource = %+v", s)
	}
}
