package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/engine"
	"github.com/hookshot-dev/hookshot/engine/embedded"
	"github.com/hookshot-dev/hookshot/events"
)

type daemonFlags struct {
	natsURL     string
	logLevel    string
	concurrency int
	ackWait     time.Duration
	stopGrace   time.Duration
	replicas    int
}

func (f *daemonFlags) register(cmd *cobra.Command, natsHelp string) {
	cmd.Flags().StringVar(&f.natsURL, "nats-url", os.Getenv("HOOKSHOT_NATS_URL"), natsHelp)
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", runtime.NumCPU(), "hooks run at once by this process's workers")
	cmd.Flags().DurationVar(&f.ackWait, "ack-wait", 30*time.Second, "how long a job may go without a heartbeat before another worker takes it")
	cmd.Flags().DurationVar(&f.stopGrace, "stop-grace", 30*time.Second, "on SIGTERM, how long running hooks may finish before they are canceled and handed back")
	cmd.Flags().IntVar(&f.replicas, "replicas", 1, "replicas of streams and buckets: 1, or 3 on a NATS cluster")
}

// connectDaemon connects for a long-running process: reconnect forever.
func connectDaemon(url, name string, log *zap.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", zap.Error(err))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", zap.String("url", c.ConnectedUrl())) }))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach NATS at %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func newServerCmd() *cobra.Command {
	var (
		df             daemonFlags
		af             apiFlags
		dataDir        string
		listen         string
		noWorkers      bool
		pairingTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run Hookshot: embedded NATS JetStream, the engine and a worker pool in one process",
		Long: `Run Hookshot in one process. With no flags it starts an embedded NATS
JetStream server (file storage under --data-dir, clients on --nats-listen),
provisions the streams and buckets, and runs the engine and a worker pool.
With --nats-url it uses that NATS system instead of embedding one.

Stop it with SIGINT or SIGTERM: it stops taking jobs, lets running hooks finish
for --stop-grace, hands the rest back for redelivery, and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(df.logLevel, true)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			ctx := cmd.Context()
			url := df.natsURL
			var srv *embedded.Server
			if url == "" {
				dir, err := filepath.Abs(dataDir)
				if err != nil {
					return err
				}
				srv, err = embedded.Start(embedded.Config{Listen: listen, StoreDir: filepath.Join(dir, "jetstream")})
				if err != nil {
					return err
				}
				defer srv.Shutdown(context.Background())
				url = srv.ClientURL()
				log.Info("embedded NATS JetStream started", zap.String("url", url), zap.String("data_dir", dir))
			}
			return runDaemon(ctx, log, url, df, daemonParts{
				workers: !noWorkers, engine: &engine.Config{PairingTimeout: pairingTimeout}, api: &af,
			})
		},
	}
	af.register(cmd)
	df.register(cmd, "use this NATS system instead of an embedded server (env HOOKSHOT_NATS_URL)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "hookshot-data", "where the embedded NATS keeps its storage")
	cmd.Flags().StringVar(&listen, "nats-listen", "127.0.0.1:4222", "client address of the embedded NATS")
	cmd.Flags().BoolVar(&noWorkers, "no-workers", false, "run no in-process workers (use hookshot worker daemons)")
	cmd.Flags().DurationVar(&pairingTimeout, "pairing-timeout", 2*time.Hour, "run a run's post stage itself when the controller has not asked this long after pre")
	return cmd
}

func newWorkerCmd() *cobra.Command {
	var df daemonFlags
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker daemon: pull jobs from NATS, run hooks, publish results",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(df.logLevel, true)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			if df.natsURL == "" {
				df.natsURL = DefaultNATSURL
			}
			return runDaemon(cmd.Context(), log, df.natsURL, df, daemonParts{workers: true})
		},
	}
	df.register(cmd, "NATS server URL(s), comma separated (env HOOKSHOT_NATS_URL; default "+DefaultNATSURL+")")
	return cmd
}

// daemonParts says what a daemon runs besides its NATS connection.
type daemonParts struct {
	workers bool
	engine  *engine.Config // nil: no engine
	api     *apiFlags      // nil: no HTTP API (needs the engine)
}

// runDaemon provisions, starts the engine, the API and the workers that parts
// asks for, and stops them in order when ctx ends.
func runDaemon(ctx context.Context, log *zap.Logger, url string, df daemonFlags, parts daemonParts) error {
	workers, ecfg := parts.workers, parts.engine
	host, _ := os.Hostname()
	nc, js, err := connectDaemon(url, "hookshot "+host, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := events.Provision(setup, js, events.ProvisionConfig{Replicas: df.replicas}); err != nil {
		return err
	}
	var eng *engine.Engine
	if ecfg != nil {
		ecfg.JS, ecfg.Logger = js, log
		if eng, err = engine.New(setup, *ecfg); err != nil {
			return err
		}
		if err := eng.Start(setup); err != nil {
			return err
		}
	}
	var w *engine.Worker
	if workers {
		w, err = engine.NewWorker(setup, engine.WorkerConfig{JS: js, Logger: log, Concurrency: df.concurrency, AckWait: df.ackWait})
		if err != nil {
			return err
		}
		if err := w.Start(setup); err != nil {
			return err
		}
	}
	var httpSrv *apiServer
	if parts.api != nil && eng != nil {
		if httpSrv, err = startAPI(setup, log, js, eng, parts.api); err != nil {
			return err
		}
	}
	log.Info("hookshot ready", zap.String("nats_url", url), zap.Bool("engine", eng != nil), zap.Bool("workers", w != nil),
		zap.String("api", httpSrv.addr()), zap.String("version", Version))
	<-ctx.Done()
	log.Info("stopping")
	httpSrv.stop(log)

	var stopErr error
	if w != nil {
		grace, cancel := context.WithTimeout(context.Background(), df.stopGrace)
		stopErr = w.Stop(grace)
		cancel()
	}
	if eng != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := eng.Stop(stopCtx); err != nil && stopErr == nil {
			stopErr = err
		}
		cancel()
	}
	if stopErr != nil {
		log.Warn("stopped with work handed back", zap.Error(stopErr))
	} else {
		log.Info("stopped")
	}
	return nil
}
