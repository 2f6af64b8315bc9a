package executor

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSourceValidate feeds Validate arbitrary sources and names. Validate
// must never panic; a source it accepts must yield, once sealed, a script
// without carriage returns; and for a properly encoded script the verdict on
// the source must be the verdict of ValidateScript on the script.
func FuzzSourceValidate(f *testing.F) {
	f.Add(seedSource, "Payroll script", []byte("echo hi\n"))
	f.Add("", "", []byte{})
	f.Add(b64("a\r\nb"), strings.Repeat("n", 64), []byte("a\r\nb"))
	f.Add("ZQ==ZQ==", "é", []byte("\x00\xff"))
	f.Add("ZW_o", "\xff", []byte("\x1b[0m\t\v\f"))
	f.Add("QR==", "x", []byte("é"[:1]))
	f.Add("ZWNo\nbw==", "x", []byte("#!/bin/sh\n"))
	f.Fuzz(func(t *testing.T, src, name string, raw []byte) {
		s := HookSource{Type: TypeHookSource, Version: VersionHookSource, Name: name, SourceType: SourceTypeScript, Source: src}
		err := s.Validate()
		var verr *ValidationError
		switch {
		case err == nil:
			s.Seal()
			script, err := s.Script()
			if err != nil {
				t.Fatalf("valid source %q: Script() error = %v", src, err)
			}
			if bytes.IndexByte(script, '\r') >= 0 || !utf8.Valid(script) {
				t.Fatalf("valid source %q decodes to %q", src, script)
			}
		case !errors.As(err, &verr) || !errors.Is(err, ErrInvalidSource) || len(verr.Fields) == 0:
			t.Fatalf("Validate() = %#v, want a *ValidationError", err)
		}
		// The source decodes exactly when it matches Astra's pattern within
		// the length limit.
		_, reason := decodeSource(src)
		wantOK := utf8.RuneCountInString(src) <= MaxSourceLen && base64Pattern.MatchString(src)
		if (reason == "") != wantOK {
			t.Fatalf("decodeSource(%q) reason %q, pattern match %v", src, reason, wantOK)
		}

		enc := NewScriptSource("fuzz", raw)
		encErr := enc.Validate()
		scriptErr := ValidateScript(raw)
		if len(enc.Source) <= MaxSourceLen && (encErr == nil) != (scriptErr == nil) {
			t.Fatalf("script %q: Validate() = %v but ValidateScript() = %v", raw, encErr, scriptErr)
		}
		if encErr == nil {
			got, err := enc.Script()
			if err != nil || !bytes.Equal(got, raw) {
				t.Fatalf("script %q: Script() = %q, %v", raw, got, err)
			}
		}
		if scriptErr != nil && !errors.Is(scriptErr, ErrInvalidSource) {
			t.Fatalf("ValidateScript error %v does not match ErrInvalidSource", scriptErr)
		}
	})
}

// FuzzCapture writes data to a capture in chunks whose sizes come from
// sizes, and checks the bound, the count, and what is kept.
func FuzzCapture(f *testing.F) {
	f.Add([]byte("hello, world"), uint16(4), []byte{1, 2, 3})
	// Seeds stay short: the fuzzer minimizes every input that finds new
	// code by trying to drop each substring, so a long seed keeps a worker
	// minimizing instead of exploring. A small limit truncates as well.
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), uint16(8), []byte{5, 7, 0, 255})
	f.Add([]byte("a€b€c€d€e€"), uint16(5), []byte{2})
	f.Add([]byte{}, uint16(0), []byte{})
	f.Fuzz(func(t *testing.T, data []byte, limit16 uint16, sizes []byte) {
		limit := int(limit16)
		c := newCapture(limit)
		limit = c.limit // newCapture raises a limit below 1 to 1
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(sizes) > 0 {
				n = min(n, int(sizes[i%len(sizes)]))
			}
			if n == 0 && i >= len(sizes) {
				n = 1 // all-zero sizes: still make progress
			}
			if w, err := c.Write(rest[:n]); w != n || err != nil {
				t.Fatalf("Write = %d, %v", w, err)
			}
			rest = rest[n:]
		}
		out := c.Output()
		if out.TotalBytes != int64(len(data)) {
			t.Fatalf("TotalBytes = %d, want %d", out.TotalBytes, len(data))
		}
		if len(out.Text) > limit+maxMarkerLen {
			t.Fatalf("len(Text) = %d > %d + %d", len(out.Text), limit, maxMarkerLen)
		}
		if len(data) <= limit {
			if out.Truncated || out.Text != string(data) {
				t.Fatalf("Output() = %+v, want all of %q", out, data)
			}
			return
		}
		if !out.Truncated {
			t.Fatal("Truncated not set")
		}
		head, tail := limit/2, limit-limit/2
		keptHead := data[:max(0, head-(utf8.UTFMax-1))]
		keptTail := data[len(data)-max(0, tail-(utf8.UTFMax-1)):]
		if !strings.HasPrefix(out.Text, string(keptHead)) || !strings.HasSuffix(out.Text, string(keptTail)) {
			t.Fatalf("Output() = %q lost the head %q or the tail %q", out.Text, keptHead, keptTail)
		}
		if !strings.Contains(out.Text, "…[hookshot: ") {
			t.Fatalf("Output() = %q has no marker", out.Text)
		}
	})
}
