// Package node wires one Hookshot. Given a JetStream on which the streams
// and buckets are provisioned (events.Provision), Start starts the parts a
// role asks for, in the order they depend on each other — the engine, the
// workers, then the API's tokens, driver, app-state collector and handler —
// and Stop stops them in reverse. `hookshot server` and `hookshot worker`,
// scenarios and `hookshot bench` all start Hookshot through it, so a
// scenario or a benchmark runs what production runs.
package node

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/metrics"
	"github.com/hookshot-dev/hookshot/internal/worker"
)

// Config says which parts to start. A nil part is not started.
type Config struct {
	// JS is the JetStream the parts use, provisioned. Required.
	JS jetstream.JetStream
	// Logger defaults to a no-op; each part logs under its own name.
	Logger *zap.Logger
	// Metrics, when set, is fed by every part.
	Metrics *metrics.Metrics
	// Clusters are the configured clusters; nil means only the static
	// cluster "local".
	Clusters *cluster.Registry

	// Engine plans lifecycle events into jobs and answers stages. Its JS,
	// Logger, Metrics and Clusters are filled in from the fields above.
	Engine *engine.Config
	// Worker runs jobs. Its JS, Logger and Metrics are filled in.
	Worker *worker.Config
	// Driver takes API-driven actions through their stages. Its JS,
	// Logger and Metrics are filled in. Started after the API's handler is
	// built, so actions resume only once the API can answer for them.
	Driver *driver.Config
	// API serves the HTTP API; it needs Engine and Driver.
	API *APIConfig
}

// APIConfig is the API's part of a Config.
type APIConfig struct {
	// Tokens are the configured API tokens, stored (hashed) at start.
	Tokens []api.TokenSpec
	// Bootstrap, when set, is given the secret of the admin token of
	// account "default" that Start creates when no token exists at all.
	// Without it, no token is created.
	Bootstrap func(secret string)
	// CertPrincipal maps a verified client certificate to a principal.
	CertPrincipal func(*x509.Certificate) (api.Principal, bool)
	// MaxBodyBytes bounds request bodies (0: the API's default).
	MaxBodyBytes int64
}

// Node is one running Hookshot: the parts its Config asked for.
type Node struct {
	cfg       Config
	Engine    *engine.Engine
	Worker    *worker.Worker
	Driver    *driver.Driver
	Collector *cluster.Collector
	Tokens    *api.Tokens
	// Handler is the HTTP API, when the Config asked for one.
	Handler http.Handler
}

// Start starts the parts cfg asks for. On failure it stops what it had
// started and returns the error: a caller may call Start again (after a
// wait, for an error of kind unavailable).
func Start(ctx context.Context, cfg Config) (n *Node, err error) {
	if cfg.JS == nil {
		return nil, errors.New("node: JS is required")
	}
	if cfg.API != nil && (cfg.Engine == nil || cfg.Driver == nil) {
		return nil, errors.New("node: the API needs the engine and the driver")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Clusters == nil {
		if cfg.Clusters, err = cluster.NewRegistry(cluster.RegistryConfig{Logger: cfg.Logger.Named("clusters")}); err != nil {
			return nil, err
		}
	}
	n = &Node{cfg: cfg}
	made := n // a failed return sets n to nil before this runs
	defer func() {
		if err != nil {
			_ = made.Stop(context.Background())
		}
	}()
	if cfg.Engine != nil {
		ec := *cfg.Engine
		ec.JS, ec.Logger, ec.Metrics, ec.Clusters = cfg.JS, cfg.Logger, cfg.Metrics, cfg.Clusters
		if n.Engine, err = engine.New(ctx, ec); err != nil {
			return nil, err
		}
		if err = n.Engine.Start(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Worker != nil {
		wc := *cfg.Worker
		wc.JS, wc.Logger, wc.Metrics = cfg.JS, cfg.Logger, cfg.Metrics
		if n.Worker, err = worker.New(ctx, wc); err != nil {
			return nil, err
		}
		if err = n.Worker.Start(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Driver != nil {
		dc := *cfg.Driver
		dc.JS, dc.Logger, dc.Metrics = cfg.JS, cfg.Logger.Named("driver"), cfg.Metrics
		if n.Driver, err = driver.New(ctx, dc); err != nil {
			return nil, err
		}
		if cfg.Metrics != nil {
			cfg.Metrics.SetActionStats(n.Driver.CountByState)
		}
	}
	if cfg.API != nil {
		if err = n.startAPI(ctx, cfg.API); err != nil {
			return nil, err
		}
	}
	if n.Driver != nil {
		if err = n.Driver.Start(ctx); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (n *Node) startAPI(ctx context.Context, ac *APIConfig) (err error) {
	cfg := n.cfg
	if n.Tokens, err = api.NewTokens(ctx, cfg.JS, ac.Tokens); err != nil {
		return err
	}
	if ac.Bootstrap != nil {
		if any, err := n.Tokens.Any(ctx); err != nil {
			return err
		} else if !any {
			secret, err := n.Tokens.Create(ctx, "bootstrap", "default", api.RoleAdmin)
			if err != nil {
				return err
			}
			ac.Bootstrap(secret)
		}
	}
	if n.Collector, err = cluster.NewCollector(cluster.CollectorConfig{Store: n.Engine.Store(), Registry: cfg.Clusters,
		Logger: cfg.Logger.Named("collector")}); err != nil {
		return err
	}
	if err = n.Collector.Start(ctx); err != nil {
		return err
	}
	n.Handler, err = api.New(api.Config{Store: n.Engine.Store(), Tokens: n.Tokens, Matcher: n.Engine.Index(), Actions: n.Driver,
		Runs: n.Engine, SyncIndex: n.Engine.SyncIndex, Clusters: cfg.Clusters, AppCreated: n.Collector.Trigger,
		CertPrincipal: ac.CertPrincipal, Logger: cfg.Logger.Named("api"), Metrics: cfg.Metrics, MaxBodyBytes: ac.MaxBodyBytes})
	return err
}

// StopTimeouts bound the steps of Stop.
type StopTimeouts struct {
	// Part bounds stopping the driver, the collector and the engine, each.
	// Defaults to 10s.
	Part time.Duration
	// WorkerGrace is how long running hooks get to finish before they are
	// handed back for redelivery. Defaults to 10s.
	WorkerGrace time.Duration
}

// Stop stops the parts in reverse order — driver, collector, workers (hooks
// cut short are handed back, nothing is lost), engine — each with 10s.
func (n *Node) Stop(ctx context.Context) error {
	return n.StopWithin(ctx, StopTimeouts{})
}

// StopWithin is Stop with its own bounds; ctx bounds the whole.
func (n *Node) StopWithin(ctx context.Context, t StopTimeouts) error {
	if t.Part <= 0 {
		t.Part = 10 * time.Second
	}
	if t.WorkerGrace <= 0 {
		t.WorkerGrace = 10 * time.Second
	}
	var errs []error
	step := func(d time.Duration, stop func(context.Context) error) error {
		sctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return stop(sctx)
	}
	if n.Driver != nil {
		errs = append(errs, step(t.Part, n.Driver.Stop))
		n.Driver = nil
	}
	if n.Collector != nil {
		errs = append(errs, step(t.Part, n.Collector.Stop))
		n.Collector = nil
	}
	if n.Worker != nil {
		if err := step(t.WorkerGrace, n.Worker.Stop); err != nil {
			// Hooks cut short were handed back for redelivery: nothing is lost.
			n.cfg.Logger.Warn("workers stopped with hooks handed back", zap.Error(err))
		}
		n.Worker = nil
	}
	if n.Engine != nil {
		errs = append(errs, step(t.Part, n.Engine.Stop))
		n.Engine = nil
	}
	n.Tokens, n.Handler = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("node: stop: %w", err)
	}
	return nil
}
