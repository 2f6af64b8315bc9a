package tlsreload_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/hookshot-dev/hookshot/internal/tlsreload"
)

func ExampleNew() {
	dir, err := os.MkdirTemp("", "hookshot-tls")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	certFile, keyFile, err := tlsreload.GenerateSelfSigned(dir, []string{"hookshot.local", "127.0.0.1"}, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	r, err := tlsreload.New(tlsreload.Config{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		panic(err)
	}
	leaf := r.Current()
	fmt.Println(leaf.Subject.CommonName, leaf.DNSNames, leaf.IPAddresses)
	fmt.Println(r.TLSConfig().MinVersion == tls.VersionTLS12)
	// Output:
	// hookshot.local [hookshot.local] [127.0.0.1]
	// true
}

func ExampleReloader_TLSConfig_mTLS() {
	dir, err := os.MkdirTemp("", "hookshot-mtls")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	certFile, keyFile, err := tlsreload.GenerateSelfSigned(dir, nil, 0)
	if err != nil {
		panic(err)
	}
	caFile, _, err := tlsreload.GenerateCA(dir, "", 0)
	if err != nil {
		panic(err)
	}
	r, err := tlsreload.New(tlsreload.Config{
		CertFile: certFile, KeyFile: keyFile,
		ClientCAFile: caFile, RequireClientCert: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.TLSConfig().ClientAuth)
	// Output: RequireAndVerifyClientCert
}

func ExampleIdentity() {
	dir, err := os.MkdirTemp("", "hookshot-ca")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	caCert, caKey, err := tlsreload.GenerateCA(dir, "Hookshot local CA", 0)
	if err != nil {
		panic(err)
	}
	certFile, _, err := tlsreload.GenerateClientCert(caCert, caKey, "alice", []string{"ops"}, dir)
	if err != nil {
		panic(err)
	}
	data, err := os.ReadFile(certFile)
	if err != nil {
		panic(err)
	}
	block, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		panic(err)
	}
	fmt.Println(tlsreload.Identity(c))
	// Output: alice [ops]
}
