package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/config"
	"github.com/hookshot-dev/hookshot/events"
)

// natsOptions turns the nats section of the configuration into connection
// options for a daemon: credentials, TLS, a name, and reconnecting forever
// with jittered backoff. Every file is read now, so a bad path stops start-up
// with one line naming it.
func natsOptions(c config.NATS, log *zap.Logger) ([]nats.Option, error) {
	wait := c.Reconnect.D()
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(wait),
		nats.ReconnectJitter(wait/2, wait),
		nats.Timeout(10 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected; reconnecting", zap.Error(err))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", zap.String("url", nc.ConnectedUrl())) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			log.Warn("nats async error", zap.Error(err))
		}),
	}
	readable := func(key, path string) error {
		if _, err := os.ReadFile(path); err != nil {
			return fmt.Errorf("nats.%s: %w", key, err)
		}
		return nil
	}
	if c.CredsFile != "" {
		if err := readable("credsFile", c.CredsFile); err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkeyFile %s: %w", c.NKeyFile, err)
		}
		opts = append(opts, o)
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, string(c.Password)))
	}
	if c.CAFile != "" || c.CertFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("nats.caFile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("nats.caFile %s: no PEM certificate in it", c.CAFile)
			}
			tc.RootCAs = pool
		}
		if c.CertFile != "" {
			pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("nats.certFile/keyFile %s, %s: %w", c.CertFile, c.KeyFile, err)
			}
			tc.Certificates = []tls.Certificate{pair}
		}
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

// connectNATS connects a daemon to url with the configured options.
func connectNATS(url string, c config.NATS, log *zap.Logger) (*nats.Conn, jetstream.JetStream, error) {
	opts, err := natsOptions(c, log)
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach NATS at %s: %w", url, err)
	}
	js, err := events.NewJetStream(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}
