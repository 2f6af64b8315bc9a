package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/config"
)

func load(t *testing.T, file string, env map[string]string, args ...string) (config.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.Register(fs)
	if file != "" {
		p := filepath.Join(t.TempDir(), "hookshot.yaml")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", p)
	}
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	return config.Load(fs, func(k string) string { return env[k] })
}

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	t.Parallel()
	const file = "workers:\n  concurrency: 7\n  ackWait: 45s\nnats:\n  url: nats://file:4222\napi:\n  listen: 127.0.0.1:9000\n"
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		args  []string
		check func(c config.Config) bool
	}{
		{"default", "", nil, nil, func(c config.Config) bool {
			return c.Workers.Concurrency == 4 && c.NATS.URL == "" && c.API.Listen == "127.0.0.1:8080" && c.Workers.AckWait.D() == 30*time.Second
		}},
		{"file over default", file, nil, nil, func(c config.Config) bool {
			return c.Workers.Concurrency == 7 && c.Workers.AckWait.D() == 45*time.Second && c.NATS.URL == "nats://file:4222" && c.DataDir == "hookshot-data"
		}},
		{"env over file", file, map[string]string{"HOOKSHOT_WORKERS_CONCURRENCY": "9", "HOOKSHOT_NATS_URL": "nats://env:4222"}, nil, func(c config.Config) bool {
			return c.Workers.Concurrency == 9 && c.NATS.URL == "nats://env:4222" && c.API.Listen == "127.0.0.1:9000"
		}},
		{"flag over env", file, map[string]string{"HOOKSHOT_WORKERS_CONCURRENCY": "9"}, []string{"--concurrency", "11", "--api-listen", "off"}, func(c config.Config) bool {
			return c.Workers.Concurrency == 11 && c.API.Listen == "off" && c.NATS.URL == "nats://file:4222"
		}},
		{"lists from env and flags", "", map[string]string{"HOOKSHOT_API_TOKENS": "a:admin:secret-one-0123456789, b:viewer:secret-two-0123456789"}, nil, func(c config.Config) bool {
			return len(c.API.Tokens) == 2 && c.API.Tokens[1] == "b:viewer:secret-two-0123456789"
		}},
		{"repeated flag", "", map[string]string{"HOOKSHOT_API_TOKENS": "x:admin:ignored-0123456789"}, []string{"--token", "a:admin:1234567890123456", "--token", "b:member:1234567890123456"}, func(c config.Config) bool {
			return len(c.API.Tokens) == 2 && c.API.Tokens[0] == "a:admin:1234567890123456"
		}},
		{"bool flag", "", nil, []string{"--workers=false"}, func(c config.Config) bool { return !c.Workers.Enabled }},
		{"file only key", "api:\n  clientCerts:\n    - commonName: ci\n      account: acct\n      role: member\n", nil, nil, func(c config.Config) bool {
			return len(c.API.ClientCerts) == 1 && c.API.ClientCerts[0].Account == "acct"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, tt.file, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}

func TestBadInputNamesTheProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown key", "workers:\n  concurency: 3\n", nil, nil, "concurency"},
		{"unknown top-level key", "colour: red\n", nil, nil, "colour"},
		{"malformed value in file", "workers:\n  ackWait: soon\n", nil, nil, "soon"},
		{"malformed env", "", map[string]string{"HOOKSHOT_WORKERS_ACK_WAIT": "soon"}, nil, "HOOKSHOT_WORKERS_ACK_WAIT"},
		{"malformed int env", "", map[string]string{"HOOKSHOT_NATS_REPLICAS": "three"}, nil, "HOOKSHOT_NATS_REPLICAS"},
		{"malformed flag", "", nil, []string{"--concurrency", "many"}, "--concurrency"},
		{"out of range", "", nil, []string{"--replicas", "2"}, "nats.replicas"},
		{"half a key pair", "api:\n  tlsCert: c.pem\n", nil, nil, "api.tlsKey"},
		{"missing file", "", map[string]string{"HOOKSHOT_CONFIG": "/no/such/hookshot.yaml"}, nil, "/no/such/hookshot.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tt.file, tt.env, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Count(err.Error(), "\n") > 0 {
				t.Fatalf("err = %v, want one line naming %q", err, tt.want)
			}
		})
	}
}

func TestPrintMasksSecrets(t *testing.T) {
	t.Parallel()
	c, err := load(t, "nats:\n  user: hook\n  password: hunter2\n", nil, "--token", "acct:admin:my-very-secret-token", "--token", "acct:viewer:sha256:"+strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Print()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "hunter2") || strings.Contains(s, "my-very-secret-token") || !strings.Contains(s, "acct:admin:"+config.Masked) ||
		!strings.Contains(s, strings.Repeat("a", 64)) || !strings.Contains(s, "user: hook") {
		t.Fatalf("printed:\n%s", s)
	}
}

func TestKeysHaveFlagsAndEnv(t *testing.T) {
	t.Parallel()
	want := map[string][2]string{
		"nats.credsFile":      {"nats-creds-file", "HOOKSHOT_NATS_CREDS_FILE"},
		"nats.url":            {"nats-url", "HOOKSHOT_NATS_URL"},
		"workers.concurrency": {"concurrency", "HOOKSHOT_WORKERS_CONCURRENCY"},
		"api.tlsCert":         {"tls-cert", "HOOKSHOT_API_TLS_CERT"},
		"dataDir":             {"data-dir", "HOOKSHOT_DATA_DIR"},
		"log.level":           {"log-level", "HOOKSHOT_LOG_LEVEL"},
	}
	seenFlags := map[string]string{}
	for _, k := range config.Keys() {
		if k.Flag != "" {
			if other, dup := seenFlags[k.Flag]; dup {
				t.Errorf("flag --%s for both %s and %s", k.Flag, other, k.Path)
			}
			seenFlags[k.Flag] = k.Path
		}
		if k.Flag == "" && k.Path != "api.clientCerts" && k.Path != "clusters" {
			t.Errorf("key %s has no flag", k.Path)
		}
		if w, ok := want[k.Path]; ok && (k.Flag != w[0] || k.Env != w[1]) {
			t.Errorf("%s: flag %q env %q, want %q %q", k.Path, k.Flag, k.Env, w[0], w[1])
		}
		if k.Usage == "" {
			t.Errorf("%s has no usage", k.Path)
		}
	}
}

// docs/configuration.md lists every key with its flag and variable.
func TestDocumentationListsEveryKey(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range config.Keys() {
		for _, want := range []string{"`" + k.Path + "`", k.Flag, k.Env} {
			if want != "" && !strings.Contains(string(doc), want) {
				t.Errorf("docs/configuration.md does not mention %s (key %s)", want, k.Path)
			}
		}
	}
}
