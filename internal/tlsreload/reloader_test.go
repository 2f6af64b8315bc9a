package tlsreload_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hookshot-dev/hookshot/internal/tlsreload"
)

const (
	msgReloaded = "tls certificate reloaded"
	msgFailed   = "tls reload failed, serving the previous certificate"
)

func TestRoundTripSelfSigned(t *testing.T) {
	t.Parallel()
	certFile, keyFile := genServer(t) // localhost, 127.0.0.1, ::1
	r := newReloader(t, tlsreload.Config{CertFile: certFile, KeyFile: keyFile})
	addr := serve(t, r.TLSConfig(), okHandler)

	body, proto, err := get(t, client(t, certPool(t, certFile), nil), addr)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	if body != "ok" {
		t.Errorf("body = %q, want ok", body)
	}
	if proto != 2 {
		t.Errorf("HTTP/%d, want HTTP/2 (http.Server's ALPN set-up kept)", proto)
	}

	// A client that does not trust the certificate is refused.
	if _, _, err := get(t, client(t, nil, nil), addr); err == nil {
		t.Error("GET with no trusted root succeeded")
	}
}

func TestTLSConfigMinVersion(t *testing.T) {
	t.Parallel()
	certFile, keyFile := genServer(t)
	r := newReloader(t, tlsreload.Config{CertFile: certFile, KeyFile: keyFile})
	addr := serve(t, r.TLSConfig(), okHandler)

	d := &tls.Dialer{Config: &tls.Config{RootCAs: certPool(t, certFile), MaxVersion: tls.VersionTLS11}}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	if err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	certA, keyA := genServer(t, "a.test", "127.0.0.1")
	certB, keyB := genServer(t, "b.test", "127.0.0.1")
	certFile, keyFile := livePair(t, certA, keyA)
	core, logs := observer.New(zap.InfoLevel)
	r := newReloader(t, tlsreload.Config{CertFile: certFile, KeyFile: keyFile, Logger: zap.New(core)})
	addr := serve(t, r.TLSConfig(), okHandler)
	roots := certPool(t, certA, certB)

	if got := servedCN(t, addr, roots); got != "a.test" {
		t.Fatalf("served %q, want a.test", got)
	}
	serialA := r.Current().SerialNumber

	replaceFile(t, certB, certFile)
	replaceFile(t, keyB, keyFile)
	if got := servedCN(t, addr, roots); got != "a.test" {
		t.Fatalf("served %q before Reload (nothing polls), want a.test", got)
	}
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := servedCN(t, addr, roots); got != "b.test" {
		t.Errorf("served %q after Reload, want b.test", got)
	}
	if cur := r.Current(); cur.Subject.CommonName != "b.test" || cur.SerialNumber.Cmp(serialA) == 0 {
		t.Errorf("Current = %s serial %x, want b.test with a new serial", cur.Subject.CommonName, cur.SerialNumber)
	}
	if n := logs.FilterMessage(msgReloaded).Len(); n != 1 {
		t.Errorf("%d %q logs, want 1", n, msgReloaded)
	}

	tests := []struct {
		name    string
		given   func() // breaks the live files
		wantErr error
		wantIn  string // the file the error names
	}{
		{
			name:    "garbage key",
			given:   func() { swapFile(t, keyFile, []byte("not a key")) },
			wantErr: tlsreload.ErrNoPrivateKey,
			wantIn:  keyFile,
		},
		{
			name:    "key of another certificate",
			given:   func() { swapFile(t, keyFile, readFile(t, keyA)) },
			wantErr: tlsreload.ErrKeyMismatch,
			wantIn:  keyFile,
		},
		{
			name: "garbage certificate",
			given: func() {
				swapFile(t, keyFile, readFile(t, keyB))
				swapFile(t, certFile, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
			},
			wantIn: certFile,
		},
		{
			name:    "certificate removed",
			given:   func() { os.Remove(certFile) },
			wantErr: fs.ErrNotExist,
			wantIn:  certFile,
		},
	}
	for _, tt := range tests { // in order: each breaks the files further
		tt.given()
		err := r.Reload()
		if err == nil {
			t.Fatalf("%s: Reload succeeded", tt.name)
		}
		var fe *tlsreload.FileError
		if !errors.As(err, &fe) || fe.Path != tt.wantIn || !strings.Contains(err.Error(), tt.wantIn) {
			t.Errorf("%s: Reload = %v, want a *FileError naming %s", tt.name, err, tt.wantIn)
		}
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Reload = %v, want errors.Is %v", tt.name, err, tt.wantErr)
		}
		if got := servedCN(t, addr, roots); got != "b.test" {
			t.Errorf("%s: served %q after a failed Reload, want b.test still", tt.name, got)
		}
		if got := r.Current().Subject.CommonName; got != "b.test" {
			t.Errorf("%s: Current = %q, want b.test still", tt.name, got)
		}
	}
	failed := logs.FilterMessage(msgFailed).All()
	if len(failed) != len(tests) {
		t.Fatalf("%d %q logs, want %d", len(failed), msgFailed, len(tests))
	}
	if got := failed[0].ContextMap()["error"]; !strings.Contains(got.(string), keyFile) {
		t.Errorf("logged error %q does not name %s", got, keyFile)
	}
}

func TestPollPicksUpChange(t *testing.T) {
	t.Parallel()
	certA, keyA := genServer(t, "a.test", "127.0.0.1")
	certB, keyB := genServer(t, "b.test", "127.0.0.1")
	certFile, keyFile := livePair(t, certA, keyA)
	core, logs := observer.New(zap.InfoLevel)
	r := newReloader(t, tlsreload.Config{
		CertFile: certFile, KeyFile: keyFile,
		PollInterval: 10 * time.Millisecond,
		Logger:       zap.New(core),
	})
	r.Start(t.Context())
	addr := serve(t, r.TLSConfig(), okHandler)
	roots := certPool(t, certA, certB)
	if got := servedCN(t, addr, roots); got != "a.test" {
		t.Fatalf("served %q, want a.test", got)
	}

	// Replace both files by rename and put their modification times back:
	// the poller sees the change in the content.
	certInfo, err := os.Stat(certFile)
	if err != nil {
		t.Fatal(err)
	}
	swapFile(t, keyFile, readFile(t, keyB))
	swapFile(t, certFile, readFile(t, certB))
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, certInfo.ModTime(), certInfo.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the poller to load b.test", func() bool { return r.Current().Subject.CommonName == "b.test" })
	if got := servedCN(t, addr, roots); got != "b.test" {
		t.Errorf("served %q, want b.test", got)
	}

	// A broken key: logged, and b.test is still served. (The rotation
	// above may have logged a failure already, between its two writes, and
	// a reload for the mtimes put back.)
	failedBefore, reloadedBefore := logs.FilterMessage(msgFailed).Len(), logs.FilterMessage(msgReloaded).Len()
	swapFile(t, keyFile, []byte("garbage"))
	waitFor(t, "the failed reload to be logged", func() bool { return logs.FilterMessage(msgFailed).Len() > failedBefore })
	if got := servedCN(t, addr, roots); got != "b.test" {
		t.Errorf("served %q after a broken key, want b.test still", got)
	}
	entry := logs.FilterMessage(msgFailed).All()[failedBefore]
	if got := entry.ContextMap()["error"].(string); !strings.Contains(got, keyFile) {
		t.Errorf("logged error %q does not name %s", got, keyFile)
	}

	// Fixed: picked up again. The broken state was logged once, however
	// many polls saw it.
	swapFile(t, keyFile, readFile(t, keyB))
	waitFor(t, "the poller to reload the fixed pair", func() bool { return logs.FilterMessage(msgReloaded).Len() > reloadedBefore })
	if n := logs.FilterMessage(msgFailed).Len() - failedBefore; n != 1 {
		t.Errorf("%d %q logs for one broken state, want 1", n, msgFailed)
	}
	if got := servedCN(t, addr, roots); got != "b.test" {
		t.Errorf("served %q, want b.test", got)
	}
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	certFile, keyFile := genServer(t)
	r := newReloader(t, tlsreload.Config{CertFile: certFile, KeyFile: keyFile, PollInterval: time.Millisecond})

	r.Stop() // not started: nothing to do

	ctx, cancel := context.WithCancel(t.Context())
	r.Start(ctx)
	r.Start(ctx) // running: nothing to do
	r.Stop()
	r.Stop()

	r.Start(ctx) // again after Stop
	cancel()     // ends the poller by itself
	r.Stop()     // and Stop still returns
}

func TestMTLS(t *testing.T) {
	t.Parallel()
	serverCert, serverKey := genServer(t)
	caCert, caKey := genCA(t, "Hookshot test CA")
	otherCert, otherKey := genCA(t, "Another CA")
	alice := genClient(t, caCert, caKey, "alice", "ops", "admins")
	mallory := genClient(t, otherCert, otherKey, "mallory", "ops", "admins")
	roots := certPool(t, serverCert)

	addrs := map[bool]string{} // by RequireClientCert
	for _, require := range []bool{false, true} {
		r := newReloader(t, tlsreload.Config{
			CertFile: serverCert, KeyFile: serverKey,
			ClientCAFile: caCert, RequireClientCert: require,
		})
		addrs[require] = serve(t, r.TLSConfig(), identityHandler)
	}

	type given struct {
		require bool
		cert    *tls.Certificate
	}
	tests := []struct {
		name    string
		given   given
		want    string
		wantErr string // the server's alert
	}{
		{"required, no certificate", given{true, nil}, "", "certificate required"},
		{"required, another CA", given{true, mallory}, "", "unknown certificate authority"},
		{"required, from the CA", given{true, alice}, "alice [ops admins]", ""},
		{"if given, no certificate", given{false, nil}, "anonymous", ""},
		{"if given, another CA", given{false, mallory}, "", "unknown certificate authority"},
		{"if given, from the CA", given{false, alice}, "alice [ops admins]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := addrs[tt.given.require]
			if tt.wantErr != "" {
				if err := refusal(t, addr, roots, tt.given.cert); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("handshake error = %v, want refused with %q", err, tt.wantErr)
				}
				return
			}
			body, proto, err := get(t, client(t, roots, tt.given.cert), addr)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			if body != tt.want {
				t.Errorf("identity = %q, want %q", body, tt.want)
			}
			if proto != 2 {
				t.Errorf("HTTP/%d, want HTTP/2 through GetConfigForClient", proto)
			}
		})
	}
}

func TestClientCAReload(t *testing.T) {
	t.Parallel()
	serverCert, serverKey := genServer(t)
	ca1Cert, ca1Key := genCA(t, "CA one")
	ca2Cert, ca2Key := genCA(t, "CA two")
	alice := genClient(t, ca1Cert, ca1Key, "alice", "one")
	bob := genClient(t, ca2Cert, ca2Key, "bob", "two")
	caFile := filepath.Join(t.TempDir(), "clients.pem")
	replaceFile(t, ca1Cert, caFile)

	r := newReloader(t, tlsreload.Config{
		CertFile: serverCert, KeyFile: serverKey,
		ClientCAFile: caFile, RequireClientCert: true,
	})
	addr := serve(t, r.TLSConfig(), identityHandler)
	roots := certPool(t, serverCert)
	accepted := func(c *tls.Certificate) bool {
		_, _, err := get(t, client(t, roots, c), addr)
		return err == nil
	}

	if !accepted(alice) || accepted(bob) {
		t.Fatalf("with CA one: alice accepted %t, bob accepted %t; want true, false", accepted(alice), accepted(bob))
	}
	replaceFile(t, ca2Cert, caFile)
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if accepted(alice) || !accepted(bob) {
		t.Errorf("with CA two: alice accepted %t, bob accepted %t; want false, true", accepted(alice), accepted(bob))
	}

	// A broken CA bundle keeps the pair and the pool.
	swapFile(t, caFile, []byte("garbage"))
	err := r.Reload()
	var fe *tlsreload.FileError
	if !errors.As(err, &fe) || fe.Role != tlsreload.RoleClientCA || fe.Path != caFile || !errors.Is(err, tlsreload.ErrNoCertificate) {
		t.Errorf("Reload = %v, want a client CA *FileError naming %s", err, caFile)
	}
	if !accepted(bob) {
		t.Error("bob refused after a failed CA reload, want the previous pool kept")
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	certA, keyA := genServer(t, "a.test")
	_, keyB := genServer(t, "b.test")
	caCert, _ := genCA(t, "CA")
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		given    tlsreload.Config
		wantErr  error  // errors.Is
		wantFile string // the *FileError's path; "" for a Config error
		wantText string // in the message
	}{
		{"no CertFile", tlsreload.Config{KeyFile: keyA}, nil, "", "CertFile"},
		{"no KeyFile", tlsreload.Config{CertFile: certA}, nil, "", "KeyFile"},
		{"RequireClientCert alone", tlsreload.Config{CertFile: certA, KeyFile: keyA, RequireClientCert: true}, nil, "", "ClientCAFile"},
		{"negative PollInterval", tlsreload.Config{CertFile: certA, KeyFile: keyA, PollInterval: -time.Second}, nil, "", "PollInterval"},
		{"missing certificate", tlsreload.Config{CertFile: missing, KeyFile: keyA}, fs.ErrNotExist, missing, "no such file"},
		{"missing key", tlsreload.Config{CertFile: certA, KeyFile: missing}, fs.ErrNotExist, missing, "no such file"},
		{"directory as certificate", tlsreload.Config{CertFile: dir, KeyFile: keyA}, nil, dir, "directory"},
		{"mismatched pair", tlsreload.Config{CertFile: certA, KeyFile: keyB}, tlsreload.ErrKeyMismatch, keyB, certA},
		{"files swapped", tlsreload.Config{CertFile: keyA, KeyFile: certA}, tlsreload.ErrNoCertificate, keyA, "swapped"},
		{"garbage certificate", tlsreload.Config{CertFile: garbage, KeyFile: keyA}, tlsreload.ErrNoCertificate, garbage, ""},
		{"garbage key", tlsreload.Config{CertFile: certA, KeyFile: garbage}, tlsreload.ErrNoPrivateKey, garbage, ""},
		{"missing client CA", tlsreload.Config{CertFile: certA, KeyFile: keyA, ClientCAFile: missing}, fs.ErrNotExist, missing, ""},
		{"garbage client CA", tlsreload.Config{CertFile: certA, KeyFile: keyA, ClientCAFile: garbage}, tlsreload.ErrNoCertificate, garbage, "client CA"},
		{"good, with client CA", tlsreload.Config{CertFile: certA, KeyFile: keyA, ClientCAFile: caCert}, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := tlsreload.New(tt.given)
			if tt.wantErr == nil && tt.wantFile == "" && tt.wantText == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if got := r.Current().Subject.CommonName; got != "a.test" {
					t.Errorf("Current = %q, want a.test", got)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded")
			}
			t.Log(err)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("New = %v, want errors.Is %v", err, tt.wantErr)
			}
			var fe *tlsreload.FileError
			if isFile := errors.As(err, &fe); isFile != (tt.wantFile != "") || isFile && fe.Path != tt.wantFile {
				t.Errorf("New = %v, want a *FileError naming %q", err, tt.wantFile)
			}
			if !strings.Contains(err.Error(), tt.wantFile) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("New = %q, want it to name %q and say %q", err, tt.wantFile, tt.wantText)
			}
		})
	}
}

func BenchmarkGetConfigForClient(b *testing.B) {
	dir := b.TempDir()
	certFile, keyFile, err := tlsreload.GenerateSelfSigned(dir, nil, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	caFile, _, err := tlsreload.GenerateCA(dir, "", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	r, err := tlsreload.New(tlsreload.Config{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile})
	if err != nil {
		b.Fatal(err)
	}
	cfg := r.TLSConfig()
	hello := &tls.ClientHelloInfo{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.GetConfigForClient(hello); err != nil {
			b.Fatal(err)
		}
	}
}
