package tlsreload

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxFileSize bounds what is read of one PEM file: certificates, keys and CA
// bundles are kilobytes.
const maxFileSize = 1 << 20

// readFile reads one PEM file and its stat, both from the same open file
// (so that a symlink swapped in between cannot pair one file's mtime with
// another's content).
func readFile(role, path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fileError(role, path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fileError(role, path, err)
	}
	if info.IsDir() {
		return nil, nil, fileError(role, path, errors.New("is a directory"))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, nil, fileError(role, path, err)
	}
	if len(data) > maxFileSize {
		return nil, nil, fileError(role, path, fmt.Errorf("larger than %d bytes", maxFileSize))
	}
	return data, info, nil
}

// fileError wraps err for the file; an *fs.PathError about that same file is
// unwrapped to its cause so that the path is not said twice.
func fileError(role, path string, err error) *FileError {
	if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Path == path {
		err = pe.Err
	}
	return &FileError{Role: role, Path: path, Err: err}
}

// parseCertificates parses every CERTIFICATE block of data, in order; other
// blocks are skipped. It fails if there is none.
func parseCertificates(role, path string, data []byte) ([]*x509.Certificate, error) {
	var (
		certs   []*x509.Certificate
		sawKey  bool
		rest    = data
		block   *pem.Block
		blockNo int
	)
	for {
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		blockNo++
		if block.Type != "CERTIFICATE" {
			sawKey = sawKey || isKeyBlock(block.Type)
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fileError(role, path, fmt.Errorf("PEM block %d: %w", blockNo, err))
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		err := ErrNoCertificate
		if sawKey {
			err = fmt.Errorf("%w (it holds a private key: are the certificate and key files swapped?)", ErrNoCertificate)
		}
		return nil, fileError(role, path, err)
	}
	return certs, nil
}

func isKeyBlock(typ string) bool {
	return typ == "PRIVATE KEY" || strings.HasSuffix(typ, " PRIVATE KEY")
}

// parsePrivateKey parses the first private key block of data. Other blocks
// (an openssl "EC PARAMETERS" block, a certificate) are skipped.
func parsePrivateKey(role, path string, data []byte) (crypto.Signer, error) {
	var (
		sawCert bool
		rest    = data
		block   *pem.Block
	)
	for {
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			sawCert = true
		}
		if isKeyBlock(block.Type) {
			break
		}
	}
	if block == nil {
		err := ErrNoPrivateKey
		if sawCert {
			err = fmt.Errorf("%w (it holds a certificate: are the certificate and key files swapped?)", ErrNoPrivateKey)
		}
		return nil, fileError(role, path, err)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		err = errors.New("encrypted private keys are not supported")
	default:
		err = fmt.Errorf("unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fileError(role, path, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fileError(role, path, fmt.Errorf("unsupported private key type %T", key))
	}
}

// keyMatches reports whether key is the private key of cert.
func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}

// parsePair builds the TLS certificate from the PEM contents of the two
// files; errors name the file at fault.
func parsePair(certFile, keyFile string, certPEM, keyPEM []byte) (*tls.Certificate, error) {
	certs, err := parseCertificates(RoleCertificate, certFile, certPEM)
	if err != nil {
		return nil, err
	}
	key, err := parsePrivateKey(RoleKey, keyFile, keyPEM)
	if err != nil {
		return nil, err
	}
	if !keyMatches(certs[0], key) {
		return nil, fileError(RoleKey, keyFile, fmt.Errorf("%w in %s", ErrKeyMismatch, certFile))
	}
	tc := &tls.Certificate{PrivateKey: key, Leaf: certs[0]}
	for _, c := range certs {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, nil
}

// parseCAPool builds a pool of every certificate of a CA bundle.
func parseCAPool(path string, data []byte) (*x509.CertPool, error) {
	certs, err := parseCertificates(RoleClientCA, path, data)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
