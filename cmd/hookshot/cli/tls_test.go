package cli_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/hookshot-dev/hookshot/internal/tlsreload"
)

// files returns a generated certificate's files, failing the test on error.
func files(t *testing.T) func(a, b string, err error) (string, string) {
	return func(a, b string, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func tlsClient(t *testing.T, serverCert string, client *tls.Certificate) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(serverCert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tc := &tls.Config{RootCAs: pool}
	if client != nil {
		// Always present it, even when the server asks for another CA's:
		// the server, not the client, must refuse it.
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return client, nil }
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
}

// HTTPS with a generated certificate; client certificates mapped to an
// account and role are accepted instead of a token, others refused; a
// replaced certificate is served after SIGHUP.
func TestHTTPSAndMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ok := files(t)
	srvCert, srvKey := ok(tlsreload.GenerateSelfSigned(filepath.Join(dir, "server"), nil, time.Hour))
	caCert, caKey := ok(tlsreload.GenerateCA(filepath.Join(dir, "ca"), "clients", time.Hour))
	cliCert, cliKey := ok(tlsreload.GenerateClientCert(caCert, caKey, "backup-controller", nil, filepath.Join(dir, "client")))
	strangerCert, strangerKey := ok(tlsreload.GenerateClientCert(caCert, caKey, "stranger", nil, filepath.Join(dir, "stranger")))
	otherCA, otherCAKey := ok(tlsreload.GenerateCA(filepath.Join(dir, "other"), "other", time.Hour))
	foreignCert, foreignKey := ok(tlsreload.GenerateClientCert(otherCA, otherCAKey, "backup-controller", nil, filepath.Join(dir, "foreign")))
	conf := filepath.Join(dir, "hookshot.yaml")
	if err := os.WriteFile(conf, []byte("api:\n  clientCerts:\n    - commonName: backup-controller\n      account: payroll\n      role: member\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	addrFile := filepath.Join(dir, "addrs.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		code, _, errOut := run(t, ctx, "server", "--config", conf, "--data-dir", filepath.Join(dir, "data"), "--nats-listen", "127.0.0.1:0",
			"--api-listen", "127.0.0.1:0", "--addr-file", addrFile, "--token", "default:admin:"+testToken, "--log-level", "warn",
			"--tls-cert", srvCert, "--tls-key", srvKey, "--tls-client-ca", caCert)
		stderr.WriteString(errOut)
		done <- code
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("server exited %d: %s", code, stderr.String())
		}
	}()
	base := boundAddrs(t, addrFile)["api"]
	apiAddr := strings.TrimPrefix(base, "https://")
	plain := tlsClient(t, srvCert, nil)
	waitUntil(t, 20*time.Second, "HTTPS up", func() bool {
		res, err := plain.Get(base + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	get := func(c *http.Client, path, token string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	// HTTPS round trip with a token.
	if code, err := get(plain, "/accounts/default/core/v1/executionHooks", testToken); err != nil || code != 200 {
		t.Fatalf("HTTPS with token: %d %v", code, err)
	}
	// Plain HTTP on the TLS port gets nowhere.
	if res, err := http.Get("http://" + apiAddr + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the HTTPS port")
		}
	}
	pair := func(cert, key string) *tls.Certificate {
		p, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	// mTLS accepted: the mapped certificate acts as a member of payroll.
	mapped := tlsClient(t, srvCert, pair(cliCert, cliKey))
	if code, err := get(mapped, "/accounts/payroll/core/v1/executionHooks", ""); err != nil || code != 200 {
		t.Fatalf("mapped client certificate: %d %v", code, err)
	}
	if code, _ := get(mapped, "/accounts/default/core/v1/executionHooks", ""); code != 404 {
		t.Fatalf("mapped certificate reached another account: %d", code)
	}
	// mTLS refused: a certificate of the CA that maps to nobody is no
	// credential; one from another CA fails the handshake.
	if code, err := get(tlsClient(t, srvCert, pair(strangerCert, strangerKey)), "/accounts/payroll/core/v1/executionHooks", ""); err != nil || code != 401 {
		t.Fatalf("unmapped certificate: %d %v", code, err)
	}
	if _, err := get(tlsClient(t, srvCert, pair(foreignCert, foreignKey)), "/healthz", ""); err == nil {
		t.Fatal("a certificate from another CA was accepted")
	}

	// Replace the server certificate and send SIGHUP: new connections see it.
	oldSerial := servedSerial(t, apiAddr)
	newDir := filepath.Join(dir, "server2")
	c2, k2 := ok(tlsreload.GenerateSelfSigned(newDir, nil, time.Hour))
	for _, f := range [][2]string{{c2, srvCert}, {k2, srvKey}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sendSIGHUP(t)
	waitUntil(t, 20*time.Second, "new certificate served", func() bool { return servedSerial(t, apiAddr) != oldSerial })
}

// servedSerial is the serial number of the certificate the server presents.
func servedSerial(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading the served certificate
	if err != nil {
		return ""
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// A worker reaches a NATS that wants TLS and credentials; wrong credentials
// stop it with one line.
func TestNATSOverTLSWithCredentials(t *testing.T) {
	dir := t.TempDir()
	ok := files(t)
	cert, key := ok(tlsreload.GenerateSelfSigned(dir, nil, time.Hour))
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cert, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: filepath.Join(dir, "js"),
		TLS: true, TLSConfig: tc, Username: "hooks", Password: "s3cret", NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	defer ns.Shutdown()
	url := strings.Replace(ns.ClientURL(), "nats://", "tls://", 1)

	code, _, errOut := run(t, context.Background(), "worker", "--nats-url", url, "--nats-ca-file", cert, "--nats-user", "hooks", "--nats-password", "wrong")
	if code != 1 || !strings.Contains(errOut, "cannot reach NATS") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("wrong password: %d %q", code, errOut)
	}
	code, _, errOut = run(t, context.Background(), "worker", "--nats-url", url, "--nats-user", "hooks", "--nats-password", "s3cret")
	if code != 1 || !strings.Contains(errOut, "cannot reach NATS") {
		t.Fatalf("no CA (server certificate not trusted): %d %q", code, errOut)
	}

	addrFile := filepath.Join(t.TempDir(), "addrs.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		t.Setenv("HOOKSHOT_NATS_PASSWORD", "s3cret") // the environment works as well as the flag
		code, _, _ := run(t, ctx, "worker", "--nats-url", url, "--nats-ca-file", cert, "--nats-user", "hooks", "--ops-listen", "127.0.0.1:0", "--addr-file", addrFile, "--log-level", "error")
		done <- code
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("worker exited %d", code)
		}
	}()
	opsURL := boundAddrs(t, addrFile)["ops"]
	waitUntil(t, 20*time.Second, "worker ready over TLS", func() bool {
		code, _ := getJSON(t, opsURL+"/readyz", "", http.MethodGet, "")
		return code == 200
	})
}
