// Package config is Hookshot's daemon configuration: one YAML file whose
// every key also has a command-line flag and an environment variable, with
// precedence flag > environment > file > default. Keys, flags and variables
// are derived from one struct, so they cannot drift apart:
//
//	nats.credsFile  →  --nats-creds-file  →  HOOKSHOT_NATS_CREDS_FILE
//
// A few keys keep the short flag names they had before the file existed
// (--concurrency, --ack-wait, --token, …): the `flag` tag says so.
package config

import (
	"time"

	"github.com/hookshot-dev/hookshot/internal/cluster"
)

// Config is the whole configuration of `hookshot server` and `hookshot worker`.
type Config struct {
	// DataDir is where the embedded NATS keeps its storage.
	DataDir string `yaml:"dataDir" usage:"where the embedded NATS keeps its storage"`
	// AddrFile, when set, is where the daemon writes the addresses it
	// listens on, as JSON, once they are bound: with port 0 in a listen
	// address the system picks a free port, and this file says which.
	AddrFile string `yaml:"addrFile" usage:"write the bound addresses (nats, api, ops) there as JSON once they listen; with port 0 the system picks free ports"`
	Log      Log    `yaml:"log"`
	NATS     NATS   `yaml:"nats"`
	API      API    `yaml:"api"`
	Engine   Engine `yaml:"engine"`
	Workers  Worker `yaml:"workers"`
	// Clusters are where apps' containers live; see internal/cluster.
	Clusters []cluster.Config `yaml:"clusters" flag:"-" usage:"clusters whose containers hooks run in (file only): [{name, type: kubernetes|docker, kubeconfig, context, inCluster, host}]"`
	// Ops is the listener of /healthz, /readyz, /metrics and /admin/loglevel
	// for processes without the API (a worker daemon); the server serves them
	// on the API listener too.
	Ops Ops `yaml:"ops"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" flag:"log-level" usage:"debug, info, warn or error; change it at run time with SIGUSR1 (toggles debug) or PUT /admin/loglevel"`
	Format string `yaml:"format" flag:"log-format" usage:"json, console, or auto (console on a terminal, JSON otherwise)"`
}

// NATS configures the connection to NATS, or the embedded server.
type NATS struct {
	URL       string   `yaml:"url" flag:"nats-url" usage:"NATS server URL(s), comma separated; empty runs an embedded server (server only)"`
	Listen    string   `yaml:"listen" flag:"nats-listen" usage:"client address of the embedded NATS"`
	Name      string   `yaml:"name" usage:"connection name, as NATS monitoring shows it"`
	CredsFile string   `yaml:"credsFile" usage:"NATS credentials file (JWT and NKey seed)"`
	NKeyFile  string   `yaml:"nkeyFile" usage:"NKey seed file"`
	User      string   `yaml:"user" usage:"NATS user"`
	Password  Secret   `yaml:"password" usage:"NATS password"`
	CAFile    string   `yaml:"caFile" usage:"CA certificate(s) to verify the NATS server's TLS certificate"`
	CertFile  string   `yaml:"certFile" usage:"client certificate for NATS TLS"`
	KeyFile   string   `yaml:"keyFile" usage:"client key for NATS TLS"`
	Replicas  int      `yaml:"replicas" flag:"replicas" usage:"replicas of streams and buckets: 1, or 3 on a NATS cluster"`
	Reconnect Duration `yaml:"reconnectWait" usage:"wait between reconnect attempts (jittered); reconnects go on forever"`
}

// API configures the HTTP API of `hookshot server`.
type API struct {
	Listen            string         `yaml:"listen" flag:"api-listen" usage:"address of the HTTP API (\"off\": none)"`
	TLSCert           string         `yaml:"tlsCert" flag:"tls-cert" usage:"certificate for HTTPS; reloaded when the file changes or on SIGHUP"`
	TLSKey            string         `yaml:"tlsKey" flag:"tls-key" usage:"key for HTTPS"`
	ClientCA          string         `yaml:"clientCA" flag:"tls-client-ca" usage:"CA of client certificates: enables mTLS as an alternative to bearer tokens"`
	RequireClientCert bool           `yaml:"requireClientCert" flag:"tls-require-client-cert" usage:"refuse connections without a client certificate"`
	ClientCerts       []CertIdentity `yaml:"clientCerts" flag:"-" usage:"client certificate identities (file only): [{commonName, organization, account, role}]"`
	Tokens            []Secret       `yaml:"tokens" flag:"token" usage:"API token ACCOUNT:ROLE:TOKEN or ACCOUNT:ROLE:sha256:HEX (repeat; env comma separated)"`
	TokensFile        string         `yaml:"tokensFile" flag:"tokens-file" usage:"JSON file of tokens: [{name, account, role, sha256}]"`
	MaxBodyBytes      int64          `yaml:"maxBodyBytes" usage:"largest request body"`
}

// CertIdentity maps a client certificate to an account and role: the first
// entry whose non-empty commonName and organization both match wins.
type CertIdentity struct {
	CommonName   string `yaml:"commonName"`
	Organization string `yaml:"organization"`
	Account      string `yaml:"account"`
	Role         string `yaml:"role"`
}

// Engine configures the engine.
type Engine struct {
	PairingTimeout Duration `yaml:"pairingTimeout" flag:"pairing-timeout" usage:"run a run's post stage itself when the controller has not asked this long after pre"`
}

// Worker configures the in-process or daemon worker pool.
type Worker struct {
	Enabled     bool     `yaml:"enabled" flag:"workers" usage:"run workers in this process (server: --workers=false leaves it to worker daemons)"`
	Concurrency int      `yaml:"concurrency" flag:"concurrency" usage:"hooks run at once by this process's workers"`
	AckWait     Duration `yaml:"ackWait" flag:"ack-wait" usage:"how long a job may go without a heartbeat before another worker takes it"`
	StopGrace   Duration `yaml:"stopGrace" flag:"stop-grace" usage:"on SIGTERM, how long running hooks may finish before they are canceled and handed back"`
	MaxAttempts int      `yaml:"maxAttempts" usage:"deliveries of a job before it is recorded as failed"`
	Clusters    []string `yaml:"clusters" flag:"clusters" usage:"clusters whose jobs these workers take (default: local and every configured cluster)"`
}

// Ops configures the operations listener.
type Ops struct {
	Listen string `yaml:"listen" flag:"ops-listen" usage:"address of /healthz, /readyz, /metrics and /admin/loglevel (\"off\": none)"`
}

// Default is the configuration with every default filled in.
func Default() Config {
	return Config{
		DataDir: "hookshot-data",
		Log:     Log{Level: "info", Format: "auto"},
		NATS:    NATS{Listen: "127.0.0.1:4222", Name: "hookshot", Replicas: 1, Reconnect: Duration(2 * time.Second)},
		API:     API{Listen: "127.0.0.1:8080", MaxBodyBytes: 1 << 20},
		Engine:  Engine{PairingTimeout: Duration(2 * time.Hour)},
		Workers: Worker{Enabled: true, Concurrency: 4, AckWait: Duration(30 * time.Second), StopGrace: Duration(30 * time.Second), MaxAttempts: 5},
		Ops:     Ops{Listen: "off"},
	}
}
