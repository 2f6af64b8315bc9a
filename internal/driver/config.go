package driver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/internal/metrics"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// Performer takes the data-protection action itself: the snapshot, the
// backup, the restore or the failover. Hookshot does not move data; the
// backup platform's controller does. Perform is called between the pre and
// the post stages, at least once: a driver stopped or taken over while it
// runs cancels ctx and the next driver calls it again, so an implementation
// must be idempotent for one a.ID (find the snapshot it already took, say).
// Perform must return soon after ctx ends: Driver.Stop waits for it. An
// error fails the action (its post stages still run); an error returned
// because ctx ended is not recorded.
type Performer interface {
	Perform(ctx context.Context, a *Action) error
}

// NoopPerformer succeeds without doing anything. It is the default: the
// backup platform's controller does the data movement and publishes its own
// lifecycle events; the API-driven path exists so that operators can run and
// test their hooks end to end.
type NoopPerformer struct{}

// Perform does nothing and succeeds.
func (NoopPerformer) Perform(context.Context, *Action) error { return nil }

var _ Performer = NoopPerformer{}

// PerformerFunc adapts a function to Performer.
type PerformerFunc func(ctx context.Context, a *Action) error

// Perform calls f.
func (f PerformerFunc) Perform(ctx context.Context, a *Action) error { return f(ctx, a) }

var _ Performer = PerformerFunc(nil)

// Config of a Driver.
type Config struct {
	// JS is the JetStream context; the events.BucketActions bucket must be
	// provisioned (events.Provision). Required.
	JS jetstream.JetStream
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// Metrics records finished actions; nil records nothing.
	Metrics *metrics.Metrics
	// Performer takes the action between the pre and post stages. Defaults
	// to NoopPerformer.
	Performer Performer
	// StageTimeout bounds the wait for one stage result, counted from when
	// the stage was first published. Defaults to 30 minutes.
	StageTimeout time.Duration
	// Concurrency is how many actions this driver drives at once; others
	// wait their turn, in creation order. Defaults to 16.
	Concurrency int
	// LeaseTTL is how long a driver's claim on an action lasts without
	// renewal (renewed every third of it). A driver that dies holds its
	// actions this long before another takes them over. Defaults to 30s;
	// at least 1s.
	LeaseTTL time.Duration
	// Owner names this driver in leases and logs; it must differ between
	// drivers. Defaults to host:pid:<random>.
	Owner string
	// Names reserves action names: one action of a kind per name and app.
	// Defaults to the store on JS (store.Open), whose names bucket hooks
	// and sources reserve their names in.
	Names Names
}

// Names reserves and releases names with compare-and-set (store.Store).
type Names interface {
	ReserveName(ctx context.Context, kind, account, name, id string, live store.Live) (taken bool, err error)
	ReleaseName(ctx context.Context, kind, account, name, id string)
}

var _ Names = (*store.Store)(nil)

func (c Config) withDefaults() Config {
	c.Logger = cmp.Or(c.Logger, zap.NewNop())
	if c.Performer == nil {
		c.Performer = NoopPerformer{}
	}
	c.StageTimeout = cmp.Or(c.StageTimeout, 30*time.Minute)
	c.Concurrency = cmp.Or(c.Concurrency, 16)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, 30*time.Second)
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = host + ":" + strconv.Itoa(os.Getpid()) + ":" + uuid.NewString()[:8]
	}
	return c
}

func (c Config) validate() error {
	if c.JS == nil {
		return errors.New("driver: Config.JS is required")
	}
	if c.StageTimeout <= 0 {
		return fmt.Errorf("driver: StageTimeout %s is not positive", c.StageTimeout)
	}
	if c.Concurrency < 1 {
		return fmt.Errorf("driver: Concurrency %d is under 1", c.Concurrency)
	}
	if c.LeaseTTL < time.Second {
		return fmt.Errorf("driver: LeaseTTL %s is under 1s", c.LeaseTTL)
	}
	return nil
}
