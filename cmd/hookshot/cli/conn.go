package cli

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// DefaultNATSURL is where the server's embedded NATS listens by default.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// clientFlags are the flags of every command that talks to NATS.
type clientFlags struct {
	natsURL string
	account string
	timeout time.Duration
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.natsURL, "nats-url", cmp.Or(os.Getenv("HOOKSHOT_NATS_URL"), DefaultNATSURL), "NATS server URL(s), comma separated (env HOOKSHOT_NATS_URL)")
	cmd.Flags().StringVar(&f.account, "account", cmp.Or(os.Getenv("HOOKSHOT_ACCOUNT"), "default"), "account the resources belong to (env HOOKSHOT_ACCOUNT)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for NATS")
}

// client is a connection for one command.
type natsClient struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	store *store.Store
}

func (f *clientFlags) connect(ctx context.Context, name string) (*natsClient, error) {
	if !events.ValidToken(f.account) {
		return nil, fmt.Errorf("--account %q: must be 1–128 characters of A–Z a–z 0–9 _ -", f.account)
	}
	nc, err := nats.Connect(f.natsURL, nats.Name(name), nats.Timeout(f.timeout))
	if err != nil {
		return nil, fmt.Errorf("cannot reach NATS at %s: %w (is `hookshot server` running?)", f.natsURL, err)
	}
	js, err := events.NewJetStream(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	st, err := store.Open(ctx, js)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w (has a hookshot server provisioned this NATS?)", err)
	}
	return &natsClient{nc: nc, js: js, store: st}, nil
}

func (c *natsClient) Close() { c.nc.Close() }

// newLogger is JSON for daemons; level is debug, info, warn or error.
func newLogger(level string, json bool) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	cfg := zap.NewProductionConfig()
	if !json {
		cfg = zap.NewDevelopmentConfig()
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.OutputPaths, cfg.ErrorOutputPaths = []string{"stderr"}, []string{"stderr"}
	return cfg.Build()
}
