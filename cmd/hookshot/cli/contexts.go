package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func (f *contextsFile) save(path string) error {
	out, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600) // it holds tokens
}

func newContextCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "context", Short: "Named servers, tokens and accounts for the API commands (~/.config/hookshot/contexts.yaml)"}
	list := &cobra.Command{
		Use: "list", Short: "List the contexts; * marks the current one", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, _, err := loadContexts()
			if err != nil {
				return err
			}
			t := &table{header: []string{"CURRENT", "NAME", "SERVER", "ACCOUNT"}}
			for _, c := range f.Contexts {
				mark := ""
				if c.Name == f.Current {
					mark = "*"
				}
				t.add(mark, c.Name, c.Server, c.Account)
			}
			return (&outputFlag{format: "table"}).print(cmd.OutOrStdout(), nil, t)
		},
	}
	use := &cobra.Command{
		Use: "use NAME", Short: "Make NAME the current context", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, path, err := loadContexts()
			if err != nil {
				return err
			}
			if _, ok := f.find(args[0]); !ok {
				return fmt.Errorf("no context %q", args[0])
			}
			f.Current = args[0]
			return f.save(path)
		},
	}
	var c clientContext
	set := &cobra.Command{
		Use: "set NAME", Short: "Create or change a context (and make it current)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, path, err := loadContexts()
			if err != nil {
				return err
			}
			existing, ok := f.find(args[0])
			if !ok {
				f.Contexts = append(f.Contexts, clientContext{Name: args[0]})
				existing = &f.Contexts[len(f.Contexts)-1]
			}
			for flag, dst := range map[string]*string{"server": &existing.Server, "token": &existing.Token, "account": &existing.Account, "ca-file": &existing.CAFile} {
				if cmd.Flags().Changed(flag) {
					v, _ := cmd.Flags().GetString(flag)
					*dst = v
				}
			}
			f.Current = args[0]
			if err := f.save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "context %s saved in %s\n", args[0], path)
			return nil
		},
	}
	set.Flags().StringVar(&c.Server, "server", "", "API base URL")
	set.Flags().StringVar(&c.Token, "token", "", "bearer token")
	set.Flags().StringVar(&c.Account, "account", "", "account")
	set.Flags().StringVar(&c.CAFile, "ca-file", "", "CA of the server's certificate")
	cmd.AddCommand(list, use, set)
	return cmd
}
