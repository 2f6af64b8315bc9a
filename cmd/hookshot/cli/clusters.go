package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/client"
)

func init() { extraCommands = append(extraCommands, newClustersCmd) }

// clusterKind is the clusters of the server's configuration, read-only.
var clusterKind = &resourceKind{
	name: "clusters", singular: "cluster", mediaType: "application/astra-cluster", version: "1.5",
	collection: func(c *client.Client, _ string) string { return c.AccountPath("/topology/v1/clusters") },
	columns:    []string{"ID", "NAME", "TYPE", "STATE", "IN-USE", "DETAIL"},
	row: func(m map[string]any) []string {
		unready, _ := m["stateUnready"].([]any)
		var detail []string
		for _, u := range unready {
			detail = append(detail, str(u))
		}
		return []string{str(m["id"]), str(m["name"]), str(m["clusterType"]), str(m["state"]), str(m["inUse"]), strings.Join(detail, "; ")}
	},
}

func newClustersCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{Use: "clusters", Short: "Show the clusters apps live in (configured on the server; read-only), through the API"}
	af.register(cmd)

	cmd.AddCommand(clusterKind.listCmd(&af), clusterKind.getCmd(&af))
	return cmd
}
