package tlsreload_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/internal/tlsreload"
)

func parseCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(readFile(t, file))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no CERTIFICATE block", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkMode(t *testing.T, file string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(file), got, want)
	}
}

func TestGenerateSelfSigned(t *testing.T) {
	t.Parallel()
	type want struct {
		cn  string
		dns []string
		ips []string
	}
	tests := []struct {
		name  string
		given []string
		want  want
	}{
		{"defaults", nil, want{"localhost", []string{"localhost"}, []string{"127.0.0.1", "::1"}}},
		{"blank hosts", []string{"", " "}, want{"localhost", []string{"localhost"}, []string{"127.0.0.1", "::1"}}},
		{"names and IPs", []string{"hookshot.local", "10.0.0.7", "[::1]", "api.example.com"},
			want{"hookshot.local", []string{"hookshot.local", "api.example.com"}, []string{"10.0.0.7", "::1"}}},
		{"an IP first", []string{"192.0.2.1", "hookshot.local"}, want{"192.0.2.1", []string{"hookshot.local"}, []string{"192.0.2.1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "new") // created
			certFile, keyFile, err := tlsreload.GenerateSelfSigned(dir, tt.given, 48*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			checkMode(t, certFile, 0o644)
			checkMode(t, keyFile, 0o600)
			c := parseCert(t, certFile)
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if c.Subject.CommonName != tt.want.cn || !slices.Equal(c.DNSNames, tt.want.dns) || !slices.Equal(ips, tt.want.ips) {
				t.Errorf("CN %q DNS %v IP %v, want %+v", c.Subject.CommonName, c.DNSNames, ips, tt.want)
			}
			if c.IsCA || !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("IsCA %t, ExtKeyUsage %v; want a server leaf", c.IsCA, c.ExtKeyUsage)
			}
			if c.PublicKeyAlgorithm != x509.ECDSA {
				t.Errorf("key %v, want ECDSA", c.PublicKeyAlgorithm)
			}
			if d := time.Until(c.NotAfter); d < 47*time.Hour || d > 48*time.Hour {
				t.Errorf("NotAfter in %s, want 48h", d)
			}
			roots := x509.NewCertPool()
			roots.AddCert(c)
			for _, h := range append(tt.want.dns, tt.want.ips...) {
				if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: h}); err != nil {
					t.Errorf("verify for %s: %v", h, err)
				}
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: "elsewhere.test"}); err == nil {
				t.Error("verified for a host it does not name")
			}
			if _, err := tlsreload.New(tlsreload.Config{CertFile: certFile, KeyFile: keyFile}); err != nil {
				t.Errorf("New with the generated pair: %v", err)
			}
		})
	}
}

func TestGenerateValidity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, _, err := tlsreload.GenerateSelfSigned(dir, nil, -time.Hour); err == nil {
		t.Error("GenerateSelfSigned with a negative validity succeeded")
	}
	if _, _, err := tlsreload.GenerateCA(dir, "", -time.Hour); err == nil {
		t.Error("GenerateCA with a negative validity succeeded")
	}
	certFile, _, err := tlsreload.GenerateSelfSigned(dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(parseCert(t, certFile).NotAfter); d < 364*24*time.Hour {
		t.Errorf("default validity %s, want a year", d)
	}
}

func TestGenerateClientCert(t *testing.T) {
	t.Parallel()
	caCert, caKey := genCA(t, "")
	dir := t.TempDir()
	certFile, keyFile, err := tlsreload.GenerateClientCert(caCert, caKey, "svc/backup@prod", []string{"ops", "backup"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "client-svc_backup_prod.pem"); certFile != want {
		t.Errorf("certFile = %s, want %s", certFile, want)
	}
	if want := filepath.Join(dir, "client-svc_backup_prod-key.pem"); keyFile != want {
		t.Errorf("keyFile = %s, want %s", keyFile, want)
	}
	checkMode(t, certFile, 0o644)
	checkMode(t, keyFile, 0o600)

	ca, c := parseCert(t, caCert), parseCert(t, certFile)
	if ca.Subject.CommonName != "Hookshot local CA" || !ca.IsCA {
		t.Errorf("CA %q IsCA %t, want the default name and a CA", ca.Subject.CommonName, ca.IsCA)
	}
	if cn, orgs := tlsreload.Identity(c); cn != "svc/backup@prod" || !slices.Equal(orgs, []string{"ops", "backup"}) {
		t.Errorf("Identity = %q %v", cn, orgs)
	}
	if c.NotAfter.After(ca.NotAfter) {
		t.Errorf("client NotAfter %s beyond the CA's %s", c.NotAfter, ca.NotAfter)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify for client auth: %v", err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots}); err == nil {
		t.Error("client certificate verifies for server auth")
	}
}

func TestGenerateClientCertErrors(t *testing.T) {
	t.Parallel()
	caCert, caKey := genCA(t, "CA")
	_, otherKey := genCA(t, "other")
	serverCert, serverKey := genServer(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")

	tests := []struct {
		name     string
		given    [2]string // CA certificate and key files
		cn       string
		wantErr  error
		wantFile string
	}{
		{"no common name", [2]string{caCert, caKey}, "", nil, ""},
		{"missing CA certificate", [2]string{missing, caKey}, "x", fs.ErrNotExist, missing},
		{"missing CA key", [2]string{caCert, missing}, "x", fs.ErrNotExist, missing},
		{"not a CA", [2]string{serverCert, serverKey}, "x", tlsreload.ErrNotCA, serverCert},
		{"key of another CA", [2]string{caCert, otherKey}, "x", tlsreload.ErrKeyMismatch, otherKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := tlsreload.GenerateClientCert(tt.given[0], tt.given[1], tt.cn, nil, t.TempDir())
			if err == nil {
				t.Fatal("GenerateClientCert succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.wantErr)
			}
			var fe *tlsreload.FileError
			if isFile := errors.As(err, &fe); isFile != (tt.wantFile != "") || isFile && fe.Path != tt.wantFile {
				t.Errorf("err = %v, want a *FileError naming %q", err, tt.wantFile)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	if cn, orgs := tlsreload.Identity(nil); cn != "" || orgs != nil {
		t.Errorf("Identity(nil) = %q %v", cn, orgs)
	}
	c := &x509.Certificate{}
	c.Subject.CommonName, c.Subject.Organization = "alice", []string{"ops"}
	cn, orgs := tlsreload.Identity(c)
	if cn != "alice" || !slices.Equal(orgs, []string{"ops"}) {
		t.Errorf("Identity = %q %v", cn, orgs)
	}
	orgs[0] = "admins"
	if c.Subject.Organization[0] != "ops" {
		t.Error("Identity's orgs alias the certificate's")
	}
}

// The generators replace files by rename, so a watching Reloader never reads
// half a file; the IP SAN makes the pair usable on a loopback listener.
func TestGenerateOverLivePair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, err := tlsreload.GenerateSelfSigned(dir, []string{"one.test", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := newReloader(t, tlsreload.Config{CertFile: certFile, KeyFile: keyFile})
	if _, _, err := tlsreload.GenerateSelfSigned(dir, []string{"two.test", "127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := r.Current().Subject.CommonName; got != "two.test" {
		t.Errorf("Current = %q, want two.test", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("%d files in dir, want 2 (no temporary files left)", len(entries))
	}
	if ip := net.ParseIP("127.0.0.1"); !r.Current().IPAddresses[0].Equal(ip) {
		t.Errorf("IP SAN %v", r.Current().IPAddresses)
	}
}
