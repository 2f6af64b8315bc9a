package cli

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hookshot-dev/hookshot/client"
)

// clientContext is one named server in the CLI's contexts file.
type clientContext struct {
	Name    string `yaml:"name"`
	Server  string `yaml:"server"`
	Token   string `yaml:"token"`
	Account string `yaml:"account"`
	CAFile  string `yaml:"caFile,omitempty"`
}

// contextsFile is $XDG_CONFIG_HOME/hookshot/contexts.yaml (or
// ~/.config/hookshot/contexts.yaml); HOOKSHOT_CONTEXTS overrides it.
type contextsFile struct {
	Current  string          `yaml:"current"`
	Contexts []clientContext `yaml:"contexts"`
}

func contextsPath() (string, error) {
	if p := os.Getenv("HOOKSHOT_CONTEXTS"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "hookshot", "contexts.yaml"), nil
}

func loadContexts() (*contextsFile, string, error) {
	path, err := contextsPath()
	if err != nil {
		return nil, "", err
	}
	f := &contextsFile{}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, path, nil
	}
	if err != nil {
		return nil, path, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	return f, path, nil
}

func (f *contextsFile) find(name string) (*clientContext, bool) {
	for i := range f.Contexts {
		if f.Contexts[i].Name == name {
			return &f.Contexts[i], true
		}
	}
	return nil, false
}

// apiFlags are the flags of every command that talks to the HTTP API:
// flags > environment (HOOKSHOT_SERVER, HOOKSHOT_TOKEN, HOOKSHOT_ACCOUNT,
// HOOKSHOT_CA_FILE) > the current (or --context) context > defaults.
type apiFlags struct {
	server, token, account, caFile, context string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.server, "server", "", "API base URL (env HOOKSHOT_SERVER; default http://127.0.0.1:8080)")
	fs.StringVar(&f.token, "token", "", "bearer token (env HOOKSHOT_TOKEN)")
	fs.StringVar(&f.account, "account", "", "account (env HOOKSHOT_ACCOUNT; default \"default\")")
	fs.StringVar(&f.caFile, "ca-file", "", "CA that signed the server's certificate (env HOOKSHOT_CA_FILE)")
	fs.StringVar(&f.context, "context", "", "named context of the contexts file (hookshot context)")
}

// client builds the API client from flags, environment and context.
func (f *apiFlags) client() (*client.Client, error) {
	file, _, err := loadContexts()
	if err != nil {
		return nil, err
	}
	ctx := &clientContext{}
	if name := cmp.Or(f.context, os.Getenv("HOOKSHOT_CONTEXT"), file.Current); name != "" {
		c, ok := file.find(name)
		if !ok {
			return nil, fmt.Errorf("no context %q (hookshot context list)", name)
		}
		ctx = c
	}
	return client.New(client.Config{
		Server:  cmp.Or(f.server, os.Getenv("HOOKSHOT_SERVER"), ctx.Server, "http://127.0.0.1:8080"),
		Token:   cmp.Or(f.token, os.Getenv("HOOKSHOT_TOKEN"), ctx.Token),
		Account: cmp.Or(f.account, os.Getenv("HOOKSHOT_ACCOUNT"), ctx.Account, "default"),
		CAFile:  cmp.Or(f.caFile, os.Getenv("HOOKSHOT_CA_FILE"), ctx.CAFile),
	})
}
