package tlsreload_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/internal/testkit"
	"github.com/hookshot-dev/hookshot/internal/tlsreload"
)

// genServer writes a self-signed server certificate for hosts into a new
// temporary directory.
func genServer(t *testing.T, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile, err := tlsreload.GenerateSelfSigned(t.TempDir(), hosts, time.Hour)
	if err != nil {
		t.Fatalf("GenerateSelfSigned: %v", err)
	}
	return certFile, keyFile
}

// genCA writes a CA into a new temporary directory.
func genCA(t *testing.T, cn string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile, err := tlsreload.GenerateCA(t.TempDir(), cn, time.Hour)
	if err != nil {
		t.Fatalf("GenerateCA: %v", err)
	}
	return certFile, keyFile
}

// genClient writes a client certificate signed by the CA and loads it.
func genClient(t *testing.T, caCert, caKey, cn string, orgs ...string) *tls.Certificate {
	t.Helper()
	certFile, keyFile, err := tlsreload.GenerateClientCert(caCert, caKey, cn, orgs, t.TempDir())
	if err != nil {
		t.Fatalf("GenerateClientCert: %v", err)
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("load client pair: %v", err)
	}
	return &c
}

func newReloader(t *testing.T, cfg tlsreload.Config) *tlsreload.Reloader {
	t.Helper()
	r, err := tlsreload.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(r.Stop)
	return r
}

// replaceFile writes src's content over dst in place, as cp does.
func replaceFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// swapFile replaces dst with data by rename, as a careful rotation does:
// a reader sees the old content or the new, never a part.
func swapFile(t *testing.T, dst string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(dst), ".swap-"+filepath.Base(dst))
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// livePair copies a pair into a new directory as tls.crt / tls.key, the
// files a Reloader then watches.
func livePair(t *testing.T, certFile, keyFile string) (liveCert, liveKey string) {
	t.Helper()
	dir := t.TempDir()
	liveCert, liveKey = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	replaceFile(t, certFile, liveCert)
	replaceFile(t, keyFile, liveKey)
	return liveCert, liveKey
}

func certPool(t *testing.T, files ...string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	for _, f := range files {
		if !pool.AppendCertsFromPEM(readFile(t, f)) {
			t.Fatalf("no certificate in %s", f)
		}
	}
	return pool
}

// serve runs an HTTPS server on a loopback port with cfg, the way the
// command does (http.Server.ServeTLS with no file names), until the test
// ends. It returns host:port.
func serve(t *testing.T, cfg *tls.Config, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         cfg,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeTLS: %v", err)
		}
	})
	return ln.Addr().String()
}

// client opens a new connection per request, so each sees the pair served
// at that moment.
func client(t *testing.T, roots *x509.CertPool, cert *tls.Certificate) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: clientTLS(roots, cert), DisableKeepAlives: true, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// clientTLS presents cert, if any, whatever CAs the server asks for (a Go
// client given Certificates would send none that does not chain to them;
// curl and others send what they are given).
func clientTLS(roots *x509.CertPool, cert *tls.Certificate) *tls.Config {
	return &tls.Config{
		RootCAs: roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil // none
			}
			return cert, nil
		},
	}
}

// refusal connects with cert and returns the error the server's alert
// causes: with TLS 1.3 the client's side of the handshake completes before
// the server has checked the client's certificate, so the refusal arrives
// on the first read.
func refusal(t *testing.T, addr string, roots *x509.CertPool, cert *tls.Certificate) error {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: clientTLS(roots, cert)}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Read(make([]byte, 1))
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return nil // accepted: the server waits for a request
	}
	return err
}

// get returns the body of a 200 response to GET https://addr/.
func get(t *testing.T, c *http.Client, addr string) (body string, proto int, err error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("status %s: %s", resp.Status, b)
	}
	return string(b), resp.ProtoMajor, nil
}

// servedCN opens a new TLS connection and returns the common name of the
// certificate the server presented.
func servedCN(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: &tls.Config{RootCAs: roots}}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, cond)
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	io.WriteString(w, "ok")
})

// identityHandler answers with the verified client identity, or anonymous.
var identityHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		io.WriteString(w, "anonymous")
		return
	}
	if len(r.TLS.VerifiedChains) == 0 {
		http.Error(w, "unverified client certificate", http.StatusForbidden)
		return
	}
	cn, orgs := tlsreload.Identity(r.TLS.PeerCertificates[0])
	fmt.Fprintf(w, "%s %v", cn, orgs)
})
