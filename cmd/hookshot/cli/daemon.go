package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/google/uuid"
	"github.com/hookshot-dev/hookshot/cmd/hookshot/config"
	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/embedded"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/metrics"
	"github.com/hookshot-dev/hookshot/internal/node"
	"github.com/hookshot-dev/hookshot/internal/tlsreload"
	"github.com/hookshot-dev/hookshot/internal/worker"
)

// Daemon roles.
const (
	roleServer = "server"
	roleWorker = "worker"
)

func newServerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run Hookshot: embedded NATS JetStream, the engine, the API and a worker pool in one process",
		Long: `Run Hookshot in one process. With no configuration it starts an embedded
NATS JetStream server (file storage under --data-dir, clients on
--nats-listen), provisions the streams and buckets, and runs the engine, the
HTTP API (--api-listen) and a worker pool. With --nats-url it uses that NATS
system instead of embedding one.

Every flag is also a key of the YAML file given with --config and an
environment variable (HOOKSHOT_...); flags win over the environment, which
wins over the file. 'hookshot config print' shows the result.

Stop it with SIGINT or SIGTERM: the API stops taking requests, workers stop
taking jobs, running hooks may finish for --stop-grace, the rest are handed
back for redelivery, and the process exits. SIGHUP reloads the API's TLS
certificate; SIGUSR1 toggles debug logging.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Getenv)
			if err != nil {
				return err
			}
			return runDaemon(cmd.Context(), cfg, roleServer, cmd.ErrOrStderr())
		},
	}
	config.Register(cmd.Flags())
	return cmd
}

func newWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker daemon: pull jobs from NATS, run hooks, publish results",
		Long: `Run workers only, against the NATS system of a hookshot server (--nats-url,
default ` + DefaultNATSURL + `). Configuration as for 'hookshot server'; the API
keys do not apply. --ops-listen serves /healthz, /readyz, /metrics and
/admin/loglevel.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Getenv)
			if err != nil {
				return err
			}
			if cfg.NATS.URL == "" {
				cfg.NATS.URL = DefaultNATSURL
			}
			cfg.Workers.Enabled = true
			return runDaemon(cmd.Context(), cfg, roleWorker, cmd.ErrOrStderr())
		},
	}
	config.Register(cmd.Flags())
	return cmd
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show the effective configuration"}
	print := &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration (defaults, file, environment and flags) as YAML, secrets masked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Getenv)
			if err != nil {
				return err
			}
			out, err := cfg.Print()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	config.Register(print.Flags())
	cmd.AddCommand(print)
	return cmd
}

// daemon is one running hookshot server or worker.
type daemon struct {
	cfg   config.Config
	role  string
	log   *zap.Logger
	level zap.AtomicLevel

	srv      *embedded.Server
	nc       *nats.Conn
	js       jetstream.JetStream
	node     *node.Node // the engine, workers and API, once started
	clusters *cluster.Registry
	tokens   *api.Tokens // the API's, once it is ready
	metrics  *metrics.Metrics
	tls      *tlsreload.Reloader // the API's certificate, when it serves HTTPS

	servers []*http.Server    // API and ops listeners
	addrs   map[string]string // name → URL of each listener bound, for cfg.AddrFile
	done    chan struct{}     // closed when the daemon returns

	progress progress                     // how far start-up got, for /readyz
	api      atomic.Pointer[http.Handler] // the API, once it is ready
	dialErr  atomic.Pointer[error]        // why the last attempt to reach NATS failed
	probeKey string                       // this daemon's key in the run-state bucket, for the storage check
	probeKV  atomic.Pointer[jetstream.KeyValue]
}

// progress is how far start-up got: /readyz answers while it runs.
type progress struct {
	mu          sync.Mutex
	provisioned error          // why streams and buckets are not there yet; nil once they are
	eng         *engine.Engine // once consuming
	worker      *worker.Worker // once pulling jobs
}

func (p *progress) setProvisioned(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.provisioned = err
}

func (p *progress) started(eng *engine.Engine, worker *worker.Worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eng, p.worker = eng, worker
}

func (p *progress) get() (provisioned error, eng *engine.Engine, worker *worker.Worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.provisioned, p.eng, p.worker
}

// runDaemon starts every part the role and configuration ask for, waits for
// ctx, and stops them in order. It returns an error only when start-up
// failed or stopping did not finish (something may be left half done).
func runDaemon(ctx context.Context, cfg config.Config, role string, stderr io.Writer) error {
	log, level, err := daemonLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	done := make(chan struct{})
	defer close(done)
	configured, _ := zapcore.ParseLevel(cfg.Log.Level)
	toggleDebugOnSIGUSR1(level, configured, log, done)

	d := &daemon{cfg: cfg, role: role, log: log, level: level, metrics: metrics.New(), done: done,
		probeKey: "probe." + role + "." + uuid.NewString()}
	d.progress.setProvisioned(errors.New("not started"))
	if err := d.start(ctx, stderr); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// Told to stop while waiting for NATS: not a failure.
			log.Info("stopping before ready", zap.Error(err))
			return d.stop()
		}
		// Start-up failed: one line says why (Main prints it); what did
		// start is stopped without a word.
		d.log = zap.NewNop()
		_ = d.stop()
		return err
	}
	log.Info("hookshot ready", zap.String("role", role), zap.String("nats_url", d.nc.ConnectedUrl()),
		zap.Bool("engine", d.node.Engine != nil), zap.Bool("workers", d.node.Worker != nil), zap.String("version", Version))
	<-ctx.Done()
	log.Info("stopping")
	return d.stop()
}

func (d *daemon) start(ctx context.Context, stderr io.Writer) error {
	cfg := d.cfg
	// Everything read from files is read before anything starts.
	if _, err := natsOptions(cfg.NATS, d.log); err != nil {
		return err
	}
	if _, err := tokenSpecs(cfg.API); err != nil {
		return err
	}
	rules, err := certRules(cfg.API.ClientCerts)
	if err != nil {
		return err
	}
	if d.role == roleServer && cfg.API.TLSCert != "" && cfg.API.Listen != "off" {
		d.tls, err = tlsreload.New(tlsreload.Config{CertFile: cfg.API.TLSCert, KeyFile: cfg.API.TLSKey,
			ClientCAFile: cfg.API.ClientCA, RequireClientCert: cfg.API.RequireClientCert, Logger: d.log.Named("tls")})
		if err != nil {
			return err
		}
		d.tls.Start(ctx)
		reloadOnSIGHUP(d.tls, d.log, d.done)
	}
	url := cfg.NATS.URL
	if url == "" {
		dir, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return err
		}
		d.srv, err = embedded.Start(embedded.Config{Listen: cfg.NATS.Listen, StoreDir: filepath.Join(dir, "jetstream")})
		if err != nil {
			return err
		}
		url = d.srv.ClientURL()
		d.log.Info("embedded NATS JetStream started", zap.String("url", url), zap.String("data_dir", dir))
		d.bound("nats", url)
	}
	if err := d.connect(url); err != nil {
		return err
	}
	// /readyz answers from here on: 503 and why until everything is up.
	// The API listener is bound now too; its API answers 503 until ready.
	ops := opsHandler(d.checks(), d.metrics.Handler(), d.level, d.isAdmin)
	if d.servesAPI() {
		var tc *tls.Config
		if d.tls != nil {
			tc = d.tls.TLSConfig()
		}
		if err := d.serve("api", cfg.API.Listen, d.apiMux(ops), tc); err != nil {
			return err
		}
	}
	if cfg.Ops.Listen != "off" && cfg.Ops.Listen != "" {
		if err := d.serve("ops", cfg.Ops.Listen, ops, nil); err != nil {
			return err
		}
	}
	if err := d.writeAddrFile(); err != nil {
		return err
	}
	if err := d.provision(ctx); err != nil {
		return err
	}
	if d.clusters, err = cluster.NewRegistry(cluster.RegistryConfig{Clusters: cfg.Clusters, Logger: d.log.Named("clusters")}); err != nil {
		return err
	}
	var runner *executor.LocalRunner
	var runnerFor func(string) (executor.Runner, error)
	var served []string
	if cfg.Workers.Enabled {
		if runner, err = hookRunner(d.log); err != nil {
			return err
		}
		if runnerFor, err = d.clusters.Runners(runner, executor.ContainerConfig{}); err != nil {
			return err
		}
		served = cfg.Workers.Clusters
		if len(served) == 0 {
			served = d.clusters.Names()
		}
		for _, name := range served {
			if _, ok := d.clusters.Resolve(name); !ok {
				return fmt.Errorf("workers.clusters: cluster %q is not configured here (clusters: %s)", name, strings.Join(d.clusters.Names(), ", "))
			}
		}
	}
	// Starting the parts talks to JetStream (consumers, the index, tokens),
	// which may be between leaders in a rolling restart: an attempt that
	// fails is undone and made again after a wait, as provisioning is, each
	// with its own deadline — never one shared by the whole start.
	err = events.RetryUntilReady(ctx, events.RetryConfig{MinWait: provisionMinWait, AttemptTimeout: startAttemptTimeout,
		Ready: d.natsConnected,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			d.progress.setProvisioned(fmt.Errorf("starting (attempt %d): %w", attempt, err))
			d.log.Warn("start-up failed; starting again after a wait", zap.Int("attempt", attempt),
				zap.Duration("wait", wait), zap.Error(err))
		},
	}, func(setup context.Context) error {
		n, err := node.Start(setup, d.nodeConfig(runner, runnerFor, served, rules, stderr))
		d.node = n
		return err
	})
	if err != nil {
		return err
	}
	d.progress.setProvisioned(nil)
	d.metrics.SetQueueStats(metrics.JetStreamQueueStats(d.js))
	if d.node.Handler != nil {
		d.tokens = d.node.Tokens
		h := d.node.Handler
		d.api.Store(&h)
	}
	d.progress.started(d.node.Engine, d.node.Worker)
	return nil
}

// startAttemptTimeout bounds one attempt at starting the parts after
// provisioning; loading a large hook index takes most of it.
const startAttemptTimeout = 2 * time.Minute

// nodeConfig is what this daemon's role and configuration ask node.Start
// for: the engine (server), the workers (when enabled), and the API with
// its driver (server with an API listener).
func (d *daemon) nodeConfig(runner *executor.LocalRunner, runnerFor func(string) (executor.Runner, error),
	served []string, rules []api.CertRule, stderr io.Writer) node.Config {
	cfg := d.cfg
	nc := node.Config{JS: d.js, Logger: d.log, Metrics: d.metrics, Clusters: d.clusters}
	if d.role == roleServer {
		nc.Engine = &engine.Config{PairingTimeout: cfg.Engine.PairingTimeout.D()}
	}
	if cfg.Workers.Enabled {
		nc.Worker = &worker.Config{Runner: runner, Clusters: served, RunnerFor: runnerFor,
			Concurrency: cfg.Workers.Concurrency, AckWait: cfg.Workers.AckWait.D(), MaxAttempts: cfg.Workers.MaxAttempts}
	}
	if d.servesAPI() {
		specs, _ := tokenSpecs(cfg.API) // checked before anything started
		nc.Driver = &driver.Config{}
		nc.API = &node.APIConfig{Tokens: specs, MaxBodyBytes: cfg.API.MaxBodyBytes,
			// With no token configured anywhere, the first admin token of
			// account "default" is created and printed once.
			Bootstrap: func(secret string) {
				fmt.Fprintf(stderr, "hookshot: no API token was configured; created an admin token for account \"default\" (shown once, keep it):\n  %s\n", secret)
				d.log.Warn("created the first admin token for account default; it was printed on stderr once")
			}}
		if d.tls != nil && len(rules) > 0 {
			nc.API.CertPrincipal = api.CertPrincipals(rules)
		}
	}
	return nc
}

// stopParts stops what node.Start started (see node.Stop). It reports what
// did not stop in time.
func (d *daemon) stopParts() []error {
	if d.node == nil {
		return nil
	}
	err := d.node.StopWithin(context.Background(), node.StopTimeouts{WorkerGrace: d.cfg.Workers.StopGrace.D()})
	d.node = nil
	if err != nil {
		return []error{err}
	}
	return nil
}

// connect connects to NATS. A NATS that is not there yet is waited for: the
// connection is retried in the background (reconnect options) and
// provisioning waits for it. A NATS that refuses this client (credentials,
// TLS) stops start-up with one line.
func (d *daemon) connect(url string) error {
	var err error
	if d.nc, d.js, err = connectNATS(url, d.cfg.NATS, d.log); err == nil {
		return nil
	} else if natsRefused(err) {
		return err
	}
	d.log.Warn("NATS not reachable yet; waiting for it", zap.String("url", url), zap.Error(err))
	d.dialErr.Store(&err)
	opts, err := natsOptions(d.cfg.NATS, d.log)
	if err != nil {
		return err
	}
	opts = append(opts, nats.RetryOnFailedConnect(true),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { d.dialErr.Store(&err) }),
		nats.ConnectHandler(func(nc *nats.Conn) {
			d.dialErr.Store(nil)
			d.log.Info("nats connected", zap.String("url", nc.ConnectedUrl()))
		}))
	d.nc, err = nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("NATS at %s: %w", url, err)
	}
	d.js, err = events.NewJetStream(d.nc)
	return err
}

// natsRefused reports whether a connection error is NATS refusing this
// client (credentials, TLS), which waiting does not change, rather than
// NATS not being there yet.
func natsRefused(err error) bool {
	for _, refused := range []error{nats.ErrAuthorization, nats.ErrAuthExpired, nats.ErrAuthRevoked, nats.ErrAccountAuthExpired,
		nats.ErrSecureConnRequired, nats.ErrSecureConnWanted, nats.ErrNkeysNotSupported} {
		if errors.Is(err, refused) {
			return true
		}
	}
	var cert *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	return errors.As(err, &cert) || errors.As(err, &header)
}

// provision creates the streams and buckets, waiting with backoff while NATS
// or the JetStream meta leader is not there yet (logging each retry and
// telling /readyz why), until done or ctx ends. An error retrying cannot
// fix (a conflicting stream, replicas the servers cannot have) stops
// start-up at once.
func (d *daemon) provision(ctx context.Context) error {
	d.progress.setProvisioned(errors.New("provisioning"))
	err := events.ProvisionUntilReady(ctx, d.js, events.ProvisionConfig{Replicas: d.cfg.NATS.Replicas}, events.RetryConfig{
		MinWait: provisionMinWait,
		Ready:   d.natsConnected,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			d.progress.setProvisioned(fmt.Errorf("waiting for JetStream (attempt %d): %w", attempt, err))
			d.log.Warn("JetStream not ready; provisioning again after a wait", zap.Int("attempt", attempt),
				zap.Duration("wait", wait), zap.Error(err))
		},
	})
	if err != nil {
		d.progress.setProvisioned(err)
		return err
	}
	d.progress.setProvisioned(nil)
	return nil
}

// provisionMinWait is the first wait between provisioning attempts.
const provisionMinWait = 250 * time.Millisecond

// natsConnected says why the NATS connection is not usable, or nil.
func (d *daemon) natsConnected() error {
	if s := d.nc.Status(); s != nats.CONNECTED {
		if last := d.dialErr.Load(); last != nil && *last != nil {
			return fmt.Errorf("nats %s, last attempt: %w", s, *last)
		}
		return fmt.Errorf("nats %s", s)
	}
	return nil
}

// apiMux serves the ops endpoints at once and the API once it is ready
// (503 with Retry-After before).
func (d *daemon) apiMux(ops http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if h := d.api.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", "2")
		writeOps(w, http.StatusServiceUnavailable, map[string]any{"error": "hookshot is starting; see /readyz"})
	})
	for _, p := range []string{"/readyz", "/metrics", "/admin/loglevel"} {
		mux.Handle(p, ops)
	}
	return mux
}

// checks are the readiness conditions of this daemon. Every check but
// "nats" answers "nats disconnected" while the connection is down, without
// asking anything of NATS.
func (d *daemon) checks() []check {
	cs := []check{
		{"nats", func(context.Context) error { return d.natsConnected() }},
		{"provisioned", func(ctx context.Context) error {
			if err, _, _ := d.progress.get(); err != nil {
				return err // why it is still waiting, or why it gave up
			}
			ctx, cancel := d.whileConnected(ctx)
			defer cancel()
			err := d.lookUpProvisioned(ctx)
			if err != nil && d.natsConnected() != nil {
				return errNATSDown
			}
			return err
		}},
	}
	// "storage" writes a few bytes: JetStream that cannot store them (its
	// storage full) answers nothing but errors, while every other check
	// still looks fine.
	cs = append(cs, check{"storage", func(ctx context.Context) error {
		if d.natsConnected() != nil {
			return errNATSDown
		}
		if err, _, _ := d.progress.get(); err != nil {
			return errors.New("not provisioned yet")
		}
		ctx, cancel := d.whileConnected(ctx)
		defer cancel()
		return d.probeStorage(ctx)
	}})
	if d.role == roleServer {
		cs = append(cs, check{"engine", d.partCheck(func() func() error {
			if _, eng, _ := d.progress.get(); eng != nil {
				return eng.Ready
			}
			return nil
		})})
	}
	if d.cfg.Workers.Enabled {
		cs = append(cs, check{"workers", d.partCheck(func() func() error {
			if _, _, w := d.progress.get(); w != nil {
				return w.Ready
			}
			return nil
		})})
	}
	return cs
}

// partCheck checks a part of the daemon: "nats disconnected" while the
// connection is down, "not started" before started returns its Ready, then
// what Ready says.
func (d *daemon) partCheck(started func() func() error) func(context.Context) error {
	return func(context.Context) error {
		if d.natsConnected() != nil {
			return errNATSDown
		}
		if ready := started(); ready != nil {
			return ready()
		}
		return errNotStarted
	}
}

// lookUpProvisioned looks up every stream and bucket.
func (d *daemon) lookUpProvisioned(ctx context.Context) error {
	cfg := events.ProvisionConfig{}
	for _, sc := range cfg.StreamConfigs() {
		if _, err := d.js.Stream(ctx, sc.Name); err != nil {
			return fmt.Errorf("stream %s: %w", sc.Name, err)
		}
	}
	for _, kc := range cfg.BucketConfigs() {
		if _, err := d.js.KeyValue(ctx, kc.Bucket); err != nil {
			return fmt.Errorf("bucket %s: %w", kc.Bucket, err)
		}
	}
	return nil
}

// probeStorage writes this daemon's probe key in the run-state bucket (whose
// TTL removes it once the daemon is gone). Storage full is said as such.
func (d *daemon) probeStorage(ctx context.Context) error {
	kv := d.probeKV.Load()
	if kv == nil {
		bound, err := d.js.KeyValue(ctx, events.BucketRuns)
		if err != nil {
			return fmt.Errorf("bucket %s: %w", events.BucketRuns, err)
		}
		d.probeKV.Store(&bound) // bound once, not on every probe
		kv = &bound
	}
	_, err := (*kv).Put(ctx, d.probeKey, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrInsufficientStorage:
		return fmt.Errorf("storage full: JetStream cannot store a write: %w", err)
	}
	return fmt.Errorf("cannot write to JetStream: %w", err)
}

// jsErrInsufficientStorage is JetStream's "insufficient storage resources
// available".
const jsErrInsufficientStorage jetstream.ErrorCode = 10047

// whileConnected returns a context that also ends when the NATS connection
// is lost (or already is), so a request in flight does not wait out its
// deadline for an answer that cannot come.
func (d *daemon) whileConnected(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	lost := d.nc.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)
	if d.nc.Status() != nats.CONNECTED {
		cancel()
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer d.nc.RemoveStatusListener(lost)
		select {
		case <-lost:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(); <-stopped }
}

var (
	errNATSDown   = errors.New("nats disconnected")
	errNotStarted = errors.New("not started: waiting for provisioning")
)

// servesAPI reports whether this daemon serves the API.
func (d *daemon) servesAPI() bool {
	return d.role == roleServer && d.cfg.API.Listen != "off" && d.cfg.API.Listen != ""
}

// isAdmin reports whether the request carries an admin bearer token.
func (d *daemon) isAdmin(r *http.Request) bool {
	if !d.servesAPI() {
		return true // no API, no tokens: guarded by where it listens
	}
	if d.api.Load() == nil {
		return false // the tokens are not loaded yet
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	p, found := d.tokens.Lookup(r.Context(), strings.TrimSpace(token))
	return found && p.Role == api.RoleAdmin
}

// certRules parses the client certificate identities of the configuration.
func certRules(ids []config.CertIdentity) ([]api.CertRule, error) {
	var out []api.CertRule
	for i, id := range ids {
		role, err := api.ParseRole(id.Role)
		if err != nil {
			return nil, fmt.Errorf("api.clientCerts[%d]: %w", i, err)
		}
		if !events.ValidToken(id.Account) {
			return nil, fmt.Errorf("api.clientCerts[%d]: account %q must be 1–128 characters of A–Z a–z 0–9 _ -", i, id.Account)
		}
		out = append(out, api.CertRule{CommonName: id.CommonName, Organization: id.Organization, Account: id.Account, Role: role})
	}
	return out, nil
}

// reloadOnSIGHUP reloads the certificate on SIGHUP until done is closed.
func reloadOnSIGHUP(r *tlsreload.Reloader, log *zap.Logger, done <-chan struct{}) {
	onSignal(syscall.SIGHUP, done, func() {
		if err := r.Reload(); err != nil {
			log.Error("SIGHUP: certificate not reloaded; still serving the previous one", zap.Error(err))
			return
		}
		log.Info("SIGHUP: certificate reloaded", zap.String("subject", r.Current().Subject.String()))
	})
}

// tokenSpecs gathers the configured tokens from the configuration and the
// tokens file.
func tokenSpecs(c config.API) ([]api.TokenSpec, error) {
	var out []api.TokenSpec
	for _, t := range c.Tokens {
		spec, err := api.ParseTokenSpec(strings.TrimSpace(string(t)))
		if err != nil {
			return nil, err
		}
		out = append(out, spec)
	}
	if c.TokensFile != "" {
		b, err := os.ReadFile(c.TokensFile)
		if err != nil {
			return nil, fmt.Errorf("api.tokensFile: %w", err)
		}
		var file []api.TokenSpec
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&file); err != nil {
			return nil, fmt.Errorf("api.tokensFile %s: %w", c.TokensFile, err)
		}
		out = append(out, file...)
	}
	return out, nil
}

// serve listens on addr and serves h until stop, over TLS when tc is set.
func (d *daemon) serve(name, addr string, h http.Handler, tc *tls.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listener %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, TLSConfig: tc,
		ErrorLog: zap.NewStdLog(d.log.Named(name))}
	d.servers = append(d.servers, srv)
	scheme := "http"
	serve := func() error { return srv.Serve(ln) }
	if tc != nil {
		scheme = "https"
		serve = func() error { return srv.ServeTLS(ln, "", "") }
	}
	go func() {
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error(name+" listener", zap.Error(err))
		}
	}()
	d.log.Info(name+" listening", zap.String("url", scheme+"://"+ln.Addr().String()))
	d.bound(name, scheme+"://"+ln.Addr().String())
	return nil
}

func (d *daemon) bound(name, url string) {
	if d.addrs == nil {
		d.addrs = map[string]string{}
	}
	d.addrs[name] = url
}

// writeAddrFile writes the listeners' URLs ({"nats": …, "api": …, "ops":
// …}, those bound) to cfg.AddrFile, whole or not at all: a reader that
// sees the file sees every address. Scripts and tests start the daemon on
// port 0 and read it, instead of guessing a free port that someone else
// may take first.
func (d *daemon) writeAddrFile() error {
	if d.cfg.AddrFile == "" {
		return nil
	}
	b, err := json.MarshalIndent(d.addrs, "", "  ")
	if err != nil {
		return err
	}
	tmp := d.cfg.AddrFile + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("addrFile: %w", err)
	}
	if err := os.Rename(tmp, d.cfg.AddrFile); err != nil {
		return fmt.Errorf("addrFile: %w", err)
	}
	return nil
}

// stop shuts everything down in order: listeners first (no new requests),
// then the driver, the workers (running hooks get stop-grace, then are
// handed back), the engine, NATS. It reports what did not stop in time.
func (d *daemon) stop() error {
	var errs []error
	deadline := func(dur time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), dur)
	}
	if d.cfg.AddrFile != "" && d.addrs != nil {
		// The addresses are about to be gone; a stale file would send a
		// script to whoever takes the ports next.
		_ = os.Remove(d.cfg.AddrFile)
	}
	for _, s := range d.servers {
		ctx, cancel := deadline(10 * time.Second)
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		cancel()
	}
	errs = append(errs, d.stopParts()...)
	if d.nc != nil {
		d.nc.Close()
	}
	if d.tls != nil {
		d.tls.Stop()
	}
	if d.clusters != nil {
		_ = d.clusters.Close()
	}
	if d.srv != nil {
		ctx, cancel := deadline(10 * time.Second)
		d.srv.Shutdown(ctx)
		cancel()
	}
	if err := errors.Join(errs...); err != nil {
		d.log.Error("stopped, but not cleanly", zap.Error(err))
		return err
	}
	d.log.Info("stopped")
	return nil
}

// hookRunner runs hooks as local processes. Everything a hook starts dies
// with its run, and with a worker that is SIGKILLed, whatever this binary is
// called: the runner's reaper process sees to it (see executor.LocalRunner).
// Elsewhere than on Linux it fails with executor.ErrLocalUnsupported.
func hookRunner(log *zap.Logger) (*executor.LocalRunner, error) {
	r, err := executor.NewLocalRunner(executor.LocalConfig{})
	if err != nil {
		return nil, fmt.Errorf("workers: %w", err)
	}
	log.Debug("hooks run as local processes through the executor's reaper")
	return r, nil
}
