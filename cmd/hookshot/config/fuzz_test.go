package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/config"
)

// FuzzConfigFile loads arbitrary configuration files: never a panic, and a
// configuration that loads is valid and prints.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("workers:\n  concurrency: 7\n  ackWait: 45s\nnats:\n  url: nats://a:4222\n"))
	f.Add([]byte("api:\n  clientCerts:\n    - {commonName: ci, account: a, role: member}\n  tokens: [\"a:admin:0123456789abcdef\"]\n"))
	f.Add([]byte("colour: red\n"))
	f.Add([]byte("workers: [1, 2]\n"))
	f.Add([]byte("&a [*a, *a]"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fs := pflag.NewFlagSet("fuzz", pflag.ContinueOnError)
		config.Register(fs)
		if err := fs.Parse([]string{"--config", p}); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(fs, func(string) string { return "" })
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted an invalid configuration: %v", err)
		}
		if _, err := c.Print(); err != nil {
			t.Fatalf("print: %v", err)
		}
	})
}
