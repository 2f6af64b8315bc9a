package tlsreload

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"
)

// certFor makes a self-signed certificate for key.
func certFor(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "k.test"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Key files as openssl and other tools write them.
func TestParsePairKeyFormats(t *testing.T) {
	t.Parallel()
	rsaKey := must(rsa.GenerateKey(rand.Reader, 2048))
	ecKey := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	_, edKey := must2(ed25519.GenerateKey(rand.Reader))
	ecParams := pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	tests := []struct {
		name    string
		given   [2][]byte // certificate and key PEM
		wantErr string    // in the message of a *FileError naming k.pem
	}{
		{"RSA PKCS #1", [2][]byte{certFor(t, rsaKey), pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))}, ""},
		{"RSA PKCS #8", [2][]byte{certFor(t, rsaKey), pemBlock("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(rsaKey)))}, ""},
		{"EC SEC 1 after EC PARAMETERS", [2][]byte{certFor(t, ecKey), append(ecParams, pemBlock("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ecKey)))...)}, ""},
		{"Ed25519 PKCS #8", [2][]byte{certFor(t, edKey), pemBlock("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(edKey)))}, ""},
		{"combined file as the key", [2][]byte{certFor(t, ecKey), append(certFor(t, ecKey), pemBlock("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ecKey)))...)}, ""},
		{"encrypted", [2][]byte{certFor(t, ecKey), pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3})}, "encrypted private keys are not supported"},
		{"key type mislabelled", [2][]byte{certFor(t, ecKey), pemBlock("RSA PRIVATE KEY", must(x509.MarshalECPrivateKey(ecKey)))}, "x509:"},
		{"RSA key, EC certificate", [2][]byte{certFor(t, ecKey), pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))}, ErrKeyMismatch.Error() + " in c.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tc, err := parsePair("c.pem", "k.pem", tt.given[0], tt.given[1])
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("parsePair: %v", err)
				}
				if tc.Leaf.Subject.CommonName != "k.test" || len(tc.Certificate) != 1 {
					t.Errorf("parsed %q with %d certificates", tc.Leaf.Subject.CommonName, len(tc.Certificate))
				}
				return
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != "k.pem" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parsePair = %v, want a *FileError naming k.pem saying %q", err, tt.wantErr)
			}
		})
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// FuzzParse feeds the parsers what an operator's files may hold: they must
// not panic, must name the file at fault, and must never accept a key that
// is not the certificate's.
func FuzzParse(f *testing.F) {
	certFile, keyFile, err := GenerateSelfSigned(f.TempDir(), nil, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	cert, key := must(os.ReadFile(certFile)), must(os.ReadFile(keyFile))
	f.Add(cert, key)
	f.Add(key, cert)
	f.Add([]byte("garbage"), key)
	f.Add(cert, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add(append(cert, cert...), append(key, key...))
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		tc, err := parsePair("c.pem", "k.pem", certPEM, keyPEM)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != "c.pem" && fe.Path != "k.pem" {
				t.Fatalf("parsePair = %v, want a *FileError naming a file", err)
			}
		} else if tc.Leaf == nil || len(tc.Certificate) == 0 || !keyMatches(tc.Leaf, tc.PrivateKey.(crypto.Signer)) {
			t.Fatalf("parsePair accepted an unusable pair")
		}
		if _, err := parseCAPool("ca.pem", certPEM); err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != "ca.pem" {
				t.Fatalf("parseCAPool = %v, want a *FileError naming ca.pem", err)
			}
		}
	})
}
