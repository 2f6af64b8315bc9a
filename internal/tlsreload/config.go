package tlsreload

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Config of a Reloader.
type Config struct {
	// CertFile is the PEM certificate: the leaf first, then any
	// intermediates. Required.
	CertFile string
	// KeyFile is the PEM private key of the leaf (PKCS #8, PKCS #1 or SEC 1;
	// not encrypted). Required.
	KeyFile string
	// ClientCAFile, when set, is a PEM bundle of the CAs that client
	// certificates must chain to, and turns on client-certificate
	// verification (mTLS). It is reloaded with the pair. Defaults to none:
	// client certificates are neither requested nor verified.
	ClientCAFile string
	// RequireClientCert refuses clients without a certificate at the
	// handshake. Without it, a client may present no certificate, but one it
	// presents must verify. Needs ClientCAFile.
	RequireClientCert bool
	// PollInterval is how often Start reads the files (they are small) and
	// compares each one's modification time, size and SHA-256 with the last
	// read: the hash catches a rewrite within the mtime granularity, or one
	// that puts the mtime back. Defaults to 10s.
	PollInterval time.Duration
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
}

func (c Config) withDefaults() Config {
	c.PollInterval = cmp.Or(c.PollInterval, 10*time.Second)
	c.Logger = cmp.Or(c.Logger, zap.NewNop())
	return c
}

func (c Config) validate() error {
	if c.CertFile == "" {
		return errors.New("tlsreload: Config.CertFile is required")
	}
	if c.KeyFile == "" {
		return errors.New("tlsreload: Config.KeyFile is required")
	}
	if c.RequireClientCert && c.ClientCAFile == "" {
		return errors.New("tlsreload: Config.RequireClientCert needs Config.ClientCAFile")
	}
	if c.PollInterval <= 0 {
		return fmt.Errorf("tlsreload: PollInterval %s is not positive", c.PollInterval)
	}
	return nil
}
