package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/internal/tlsreload"
)

func newCertsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "certs", Short: "Generate certificates for local trials of HTTPS and mTLS"}
	var (
		dir      string
		hosts    []string
		validFor time.Duration
		cn       string
		orgs     []string
		caCert   string
		caKey    string
	)
	printFiles := func(cmd *cobra.Command, cert, key string) {
		fmt.Fprintf(cmd.OutOrStdout(), "certificate: %s\nkey:         %s\n", cert, key)
	}
	selfSigned := &cobra.Command{
		Use:     "self-signed",
		Short:   "A self-signed server certificate for the API (--tls-cert, --tls-key)",
		Example: "  hookshot certs self-signed --dir ./tls && hookshot server --tls-cert tls/cert.pem --tls-key tls/key.pem",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cert, key, err := tlsreload.GenerateSelfSigned(dir, hosts, validFor)
			if err != nil {
				return err
			}
			printFiles(cmd, cert, key)
			return nil
		},
	}
	selfSigned.Flags().StringSliceVar(&hosts, "host", []string{"localhost", "127.0.0.1", "::1"}, "DNS names and IPs the certificate is for")
	ca := &cobra.Command{
		Use:   "ca",
		Short: "A CA that signs client certificates (--tls-client-ca)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cert, key, err := tlsreload.GenerateCA(dir, cn, validFor)
			if err != nil {
				return err
			}
			printFiles(cmd, cert, key)
			return nil
		},
	}
	ca.Flags().StringVar(&cn, "cn", "hookshot clients CA", "the CA's common name")
	client := &cobra.Command{
		Use:     "client",
		Short:   "A client certificate signed by the CA; api.clientCerts maps its CN or O to an account and role",
		Example: "  hookshot certs client --ca-cert tls/ca.pem --ca-key tls/ca-key.pem --cn backup-controller --dir tls",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cert, key, err := tlsreload.GenerateClientCert(caCert, caKey, cn, orgs, dir)
			if err != nil {
				return err
			}
			printFiles(cmd, cert, key)
			return nil
		},
	}
	client.Flags().StringVar(&cn, "cn", "", "the client's common name")
	client.Flags().StringSliceVar(&orgs, "org", nil, "the client's organizations")
	client.Flags().StringVar(&caCert, "ca-cert", "", "the CA certificate")
	client.Flags().StringVar(&caKey, "ca-key", "", "the CA key")
	for _, c := range []*cobra.Command{selfSigned, ca, client} {
		c.Flags().StringVar(&dir, "dir", ".", "where the files are written")
		cmd.AddCommand(c)
	}
	for _, c := range []*cobra.Command{selfSigned, ca} {
		c.Flags().DurationVar(&validFor, "valid-for", 365*24*time.Hour, "validity")
	}
	return cmd
}
