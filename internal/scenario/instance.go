package scenario

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/embedded"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/node"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// Options of Run and Replay.
type Options struct {
	// Record, when set, receives the event log of the run (Run) or of the
	// replay (Replay) as JSON lines (see Entry): every lifecycle event,
	// execution result and stage result, once the last step is done.
	Record io.Writer
	// Logger logs the in-process engine, worker and driver. Defaults to a
	// no-op logger.
	Logger *zap.Logger
	// StageTimeout bounds the wait for one stage result. Defaults to 1 minute.
	StageTimeout time.Duration
	// TempDir is where the in-process NATS server keeps its storage (a fresh
	// directory under it, removed afterwards). Defaults to os.TempDir().
	TempDir string
	// NATSURL runs the scenario against a running Hookshot instead of a
	// fresh in-process one (Run only): its engine, workers and driver do the
	// work. Everything lives in a fresh account (scenario-<random>), whose
	// apps, sources, hooks and overrides are removed afterwards; run IDs
	// carry the account's name so they never meet another run's.
	NATSURL string
}

func (o Options) withDefaults() Options {
	o.Logger = cmp.Or(o.Logger, zap.NewNop())
	o.StageTimeout = cmp.Or(o.StageTimeout, time.Minute)
	return o
}

// Settings of the in-process Hookshot: a worker as the brief of a test
// environment wants it — small, quick to notice a lost job, quick to kill a
// hook that timed out.
const (
	workerConcurrency = 4
	workerAckWait     = 2 * time.Second
	workerKillGrace   = 500 * time.Millisecond
	stopTimeout       = 15 * time.Second
	// by is the createdBy of every resource a scenario stores.
	by = "scenario"
)

// instance is a fresh in-process Hookshot: an embedded NATS server with its
// storage in a temp dir, an engine, one worker and a driver.
type instance struct {
	opts Options
	// account holds the scenario's resources and runs; runPrefix starts
	// every run ID (empty in-process, where nothing else runs).
	account, runPrefix string
	remote             bool
	dir                string
	srv                *embedded.Server
	nc                 *nats.Conn
	js                 jetstream.JetStream
	node               *node.Node     // a local instance's engine, workers and driver
	drv                *driver.Driver // the node's, or a remote run's (never started)
	st                 *store.Store
}

// startInstance starts everything; on failure it stops what it started.
func startInstance(ctx context.Context, opts Options) (in *instance, err error) {
	in = &instance{opts: opts, account: Account}
	made := in // a failed return sets in to nil before the cleanup runs
	defer func() {
		if err != nil {
			err = errors.Join(err, made.stop())
			in = nil
		}
	}()
	if in.dir, err = os.MkdirTemp(opts.TempDir, "hookshot-scenario-"); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if in.srv, err = embedded.Start(embedded.Config{Listen: "127.0.0.1:-1", StoreDir: filepath.Join(in.dir, "nats"), ServerName: "hookshot-scenario"}); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if in.nc, err = in.srv.Connect("hookshot-scenario"); err != nil {
		return nil, fmt.Errorf("scenario: connect: %w", err)
	}
	if in.js, err = events.NewJetStream(in.nc); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if err = events.Provision(ctx, in.js, events.ProvisionConfig{}); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if in.st, err = store.Open(ctx, in.js); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	// The same wiring as `hookshot server`, without the API.
	if in.node, err = node.Start(ctx, node.Config{JS: in.js, Logger: opts.Logger,
		Engine: &engine.Config{},
		Worker: &worker.Config{Name: "scenario-worker", Concurrency: workerConcurrency, AckWait: workerAckWait, KillGrace: workerKillGrace},
		Driver: &driver.Config{StageTimeout: opts.StageTimeout, Owner: "scenario-driver"},
	}); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	in.drv = in.node.Driver
	return in, nil
}

// connectInstance uses the Hookshot whose NATS is at opts.NATSURL: it
// stores definitions in a fresh account and creates actions there; the
// server's own driver, engine and workers run them.
func connectInstance(ctx context.Context, opts Options) (in *instance, err error) {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	acct := Account + "-" + hex.EncodeToString(suffix)
	in = &instance{opts: opts, account: acct, runPrefix: acct + "-", remote: true}
	// A failed return sets in to nil before this runs: stop what was made
	// through its own pointer.
	made := in
	defer func() {
		if err != nil {
			err = errors.Join(err, made.stop())
			in = nil
		}
	}()
	if in.nc, err = nats.Connect(opts.NATSURL, nats.Name("hookshot-scenario")); err != nil {
		return nil, fmt.Errorf("scenario: cannot reach NATS at %s: %w", opts.NATSURL, err)
	}
	if in.js, err = events.NewJetStream(in.nc); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if in.st, err = store.Open(ctx, in.js); err != nil {
		return nil, fmt.Errorf("scenario: %w (is a hookshot server running on that NATS?)", err)
	}
	// Not started: it only stores actions; the server's driver runs them.
	if in.drv, err = driver.New(ctx, driver.Config{JS: in.js, Logger: opts.Logger.Named("driver"), StageTimeout: opts.StageTimeout}); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return in, nil
}

// cleanup removes the definitions a remote run stored in its account.
func (in *instance) cleanup(ctx context.Context) error {
	var errs []error
	if ovs, err := in.st.Overrides.List(ctx, in.account); err == nil {
		for _, o := range ovs {
			errs = append(errs, in.st.DeleteOverride(ctx, in.account, o.ID, 0))
		}
	}
	if hooks, err := in.st.Hooks.List(ctx, in.account); err == nil {
		for _, h := range hooks {
			errs = append(errs, in.st.DeleteHook(ctx, in.account, h.ID, 0))
		}
	}
	if srcs, err := in.st.Sources.List(ctx, in.account); err == nil {
		for _, s := range srcs {
			errs = append(errs, in.st.DeleteSource(ctx, in.account, s.ID, 0))
		}
	}
	if apps, err := in.st.Apps.List(ctx, in.account); err == nil {
		for _, a := range apps {
			errs = append(errs, in.st.DeleteApp(ctx, in.account, a.ID, 0))
		}
	}
	return errors.Join(errs...)
}

// stop stops the driver, the worker (running hooks get stopTimeout to
// finish), the engine and the server, and removes the storage. Every
// goroutine has ended when it returns.
func (in *instance) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var errs []error
	if in.remote && in.st != nil {
		errs = append(errs, in.cleanup(ctx))
	}
	if in.node != nil {
		errs = append(errs, in.node.StopWithin(ctx, node.StopTimeouts{WorkerGrace: stopTimeout}))
	}
	if in.nc != nil {
		in.nc.Close()
	}
	if in.srv != nil {
		in.srv.Shutdown(ctx)
	}
	if in.dir != "" {
		errs = append(errs, os.RemoveAll(in.dir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scenario: stop: %w", err)
	}
	return nil
}

// load stores the scenario's apps, sources, hooks and overrides in account.
// Nothing waits for the engine's index: the engine brings its index up to
// its buckets before it plans a stage.
func (in *instance) load(ctx context.Context, account string, sc *Scenario) error {
	for _, a := range sc.Apps {
		app := store.App{ID: sc.appIDOf(a.Name), Name: a.Name, Containers: inventory(a.Containers)}
		if _, err := in.st.SaveApp(ctx, account, app, by); err != nil {
			return fmt.Errorf("scenario: store app %q: %w", a.Name, err)
		}
	}
	for _, s := range sc.Sources {
		src := executor.NewScriptSource(s.Name, []byte(s.Script))
		src.ID = sc.sourceIDOf(s.Name)
		if _, err := in.st.SaveSource(ctx, account, *src, by); err != nil {
			return fmt.Errorf("scenario: store source %q: %w", s.Name, err)
		}
	}
	for _, h := range sc.Hooks {
		if _, err := in.st.SaveHook(ctx, account, h.executionHook(sc), by); err != nil {
			return fmt.Errorf("scenario: store hook %q: %w", h.Name, err)
		}
	}
	for _, o := range sc.Overrides {
		enabled := matcher.EnabledFalse
		if o.Enabled {
			enabled = matcher.EnabledTrue
		}
		ov := store.Override{AppID: sc.appIDOf(o.App), ExecutionHookID: sc.hookIDOf(o.Hook), Enabled: enabled}
		if _, err := in.st.CreateOverride(ctx, account, ov, by); err != nil {
			return fmt.Errorf("scenario: store override of hook %q for app %q: %w", o.Hook, o.App, err)
		}
	}
	return nil
}

// inventory converts a scenario's containers into the wire's.
func inventory(cs []Container) []events.Container {
	out := make([]events.Container, 0, len(cs))
	for _, c := range cs {
		ec := events.Container{NamespaceName: c.Namespace, PodName: c.Pod, ContainerName: c.Container, ContainerImage: c.Image}
		keys := make([]string, 0, len(c.Labels))
		for k := range c.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ec.PodLabels = append(ec.PodLabels, events.Label{Name: k, Value: c.Labels[k]})
		}
		out = append(out, ec)
	}
	return out
}
