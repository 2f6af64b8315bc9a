package tlsreload

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Files the generators write in their directory. An existing file of the
// same name is replaced (atomically, by rename).
const (
	selfSignedCertFile = "cert.pem"
	selfSignedKeyFile  = "key.pem"
	caCertFile         = "ca.pem"
	caKeyFile          = "ca-key.pem"
	// A client certificate is client-<name>.pem with its key in
	// client-<name>-key.pem, where <name> is the common name with every
	// character other than letters, digits, '.', '_' and '-' replaced by '_'.
)

// defaultValidity is used when a generator is given a validity of 0.
const defaultValidity = 365 * 24 * time.Hour

// clockSkew back-dates NotBefore so that a peer whose clock is a little
// behind accepts a certificate made just now.
const clockSkew = 5 * time.Minute

// defaultHosts are the names GenerateSelfSigned covers when given none.
var defaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// GenerateSelfSigned writes a self-signed ECDSA P-256 server certificate —
// no CA: a client trusts the certificate itself — for local trials, as
// dir/cert.pem (0644) and dir/key.pem (0600). The subject alternative names
// are hosts, IP addresses as IP SANs, defaulting to localhost, 127.0.0.1 and
// ::1; the common name is the first of them. validFor defaults to one year.
// dir is created (0700) if missing.
func GenerateSelfSigned(dir string, hosts []string, validFor time.Duration) (certFile, keyFile string, err error) {
	var (
		cn  string
		dns []string
		ips []net.IP
	)
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "["), "]")
		if h == "" {
			continue
		}
		cn = cmp.Or(cn, h)
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, h)
		}
	}
	if len(dns)+len(ips) == 0 {
		return GenerateSelfSigned(dir, defaultHosts, validFor)
	}
	tmpl, err := template(pkix.Name{CommonName: cn, Organization: []string{"Hookshot self-signed"}}, validFor)
	if err != nil {
		return "", "", err
	}
	tmpl.DNSNames, tmpl.IPAddresses = dns, ips
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	return issue(dir, selfSignedCertFile, selfSignedKeyFile, tmpl, nil, nil)
}

// GenerateCA writes a CA — ECDSA P-256, self-signed, allowed to sign leaf
// certificates only — as dir/ca.pem (0644) and dir/ca-key.pem (0600), to
// sign client certificates with GenerateClientCert and to name as
// Config.ClientCAFile. commonName defaults to "Hookshot local CA"; validFor
// to one year.
func GenerateCA(dir, commonName string, validFor time.Duration) (certFile, keyFile string, err error) {
	if commonName == "" {
		commonName = "Hookshot local CA"
	}
	tmpl, err := template(pkix.Name{CommonName: commonName}, validFor)
	if err != nil {
		return "", "", err
	}
	tmpl.IsCA = true
	tmpl.MaxPathLenZero = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	return issue(dir, caCertFile, caKeyFile, tmpl, nil, nil)
}

// GenerateClientCert writes a client certificate signed by the CA in
// caCert/caKey (as GenerateCA writes them) whose subject carries an
// identity: common name commonName (required) and organizations orgs (see
// Identity). It is written as dir/client-<name>.pem (0644) and
// dir/client-<name>-key.pem (0600), <name> being commonName made safe for a
// file name. It is valid for
// one year, and not beyond the CA.
func GenerateClientCert(caCert, caKey, commonName string, orgs []string, dir string) (certFile, keyFile string, err error) {
	if commonName == "" {
		return "", "", errors.New("tlsreload: a client certificate needs a common name")
	}
	certPEM, _, err := readFile(RoleCACertificate, caCert)
	if err != nil {
		return "", "", err
	}
	keyPEM, _, err := readFile(RoleCAKey, caKey)
	if err != nil {
		return "", "", err
	}
	cas, err := parseCertificates(RoleCACertificate, caCert, certPEM)
	if err != nil {
		return "", "", err
	}
	ca := cas[0]
	if !ca.IsCA || (ca.KeyUsage != 0 && ca.KeyUsage&x509.KeyUsageCertSign == 0) {
		return "", "", fileError(RoleCACertificate, caCert, ErrNotCA)
	}
	signer, err := parsePrivateKey(RoleCAKey, caKey, keyPEM)
	if err != nil {
		return "", "", err
	}
	if !keyMatches(ca, signer) {
		return "", "", fileError(RoleCAKey, caKey, fmt.Errorf("%w in %s", ErrKeyMismatch, caCert))
	}

	tmpl, err := template(pkix.Name{CommonName: commonName, Organization: slices.Clone(orgs)}, defaultValidity)
	if err != nil {
		return "", "", err
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	name := "client-" + fileName(commonName)
	return issue(dir, name+".pem", name+"-key.pem", tmpl, ca, signer)
}

// Identity is the subject's common name and organizations — what
// GenerateClientCert puts there — for the API to map onto a principal. A nil
// certificate has none.
func Identity(c *x509.Certificate) (commonName string, orgs []string) {
	if c == nil {
		return "", nil
	}
	return c.Subject.CommonName, slices.Clone(c.Subject.Organization)
}

// template starts a certificate valid from a little before now.
func template(subject pkix.Name, validFor time.Duration) (*x509.Certificate, error) {
	if validFor < 0 {
		return nil, fmt.Errorf("tlsreload: validity %s is negative", validFor)
	}
	if validFor == 0 {
		validFor = defaultValidity
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("tlsreload: serial number: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validFor),
		BasicConstraintsValid: true,
	}, nil
}

// issue makes a key, signs tmpl with parent/parentKey (self-signed when
// nil) and writes both into dir.
func issue(dir, certName, keyName string, tmpl, parent *x509.Certificate, parentKey crypto.Signer) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("tlsreload: generate key: %w", err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return "", "", fmt.Errorf("tlsreload: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("tlsreload: marshal key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("tlsreload: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, certName), filepath.Join(dir, keyName)
	// The key first: a Reloader polling these files then sees at worst the
	// new key with the old certificate, fails once and picks up the pair
	// when the certificate lands.
	if err := writeFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// writeFileAtomic writes data to a temporary file in path's directory, with
// perm, and renames it over path, so that a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("tlsreload: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("tlsreload: write %s: %w", path, err)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// fileName makes a common name safe to use as a file name.
func fileName(cn string) string {
	b := []byte(cn)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}
