package tlsreload

import "errors"

// These sentinels are returned wrapped in a *FileError that names the file;
// match them with errors.Is.
var (
	// ErrNoCertificate means a certificate file holds no usable CERTIFICATE
	// PEM block.
	ErrNoCertificate = errors.New("no CERTIFICATE PEM block")
	// ErrNoPrivateKey means a key file holds no usable PRIVATE KEY PEM block.
	ErrNoPrivateKey = errors.New("no PRIVATE KEY PEM block")
	// ErrKeyMismatch means the private key is not the one of the certificate.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
	// ErrNotCA means the certificate given to GenerateClientCert as the CA
	// cannot sign certificates.
	ErrNotCA = errors.New("certificate is not a CA")
)

// Roles of the files a *FileError names.
const (
	RoleCertificate   = "certificate"
	RoleKey           = "key"
	RoleClientCA      = "client CA"
	RoleCACertificate = "CA certificate"
	RoleCAKey         = "CA key"
)

// FileError reports a file that could not be read or used. Every error about
// a file that New, Reload and the generators return is one.
type FileError struct {
	// Role is what the file is for: RoleCertificate, RoleKey, RoleClientCA,
	// RoleCACertificate or RoleCAKey.
	Role string
	// Path is the file's name as configured.
	Path string
	// Err is the cause: an fs error (errors.Is(err, fs.ErrNotExist) works),
	// one of this package's sentinels, or a parse error.
	Err error
}

func (e *FileError) Error() string {
	return "tlsreload: " + e.Role + " file " + e.Path + ": " + e.Err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }
