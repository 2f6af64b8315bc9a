package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/internal/api"
)

func newTokensCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Manage API tokens"}
	var (
		cf   clientFlags
		role string
		name string
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API token for an account and role; the secret is printed once and stored only as its SHA-256",
		Example: `  hookshot tokens create --account payroll --role member --name ci
  hookshot tokens create --account payroll --role viewer --name dashboards`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := api.ParseRole(role)
			if err != nil {
				return err
			}
			c, err := cf.connect(cmd.Context(), "hookshot tokens create")
			if err != nil {
				return err
			}
			defer c.Close()
			tokens, err := api.NewTokens(cmd.Context(), c.js, nil)
			if err != nil {
				return err
			}
			secret, err := tokens.Create(cmd.Context(), name, cf.account, r)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	cf.register(create)
	create.Flags().StringVar(&role, "role", "member", "viewer, member or admin")
	create.Flags().StringVar(&name, "name", "cli", "a name for the token, shown in the server's logs")
	cmd.AddCommand(create)
	return cmd
}
