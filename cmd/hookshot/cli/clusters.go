package cli

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/client"
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

	var (
		out    outputFlag
		filter []string
		limit  int
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the clusters and their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			for _, f := range filter {
				q.Add("filter", f)
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			res, err := clusterKind.listAll(cmd.Context(), c, "", q, limit)
			if err != nil {
				return err
			}
			t := &table{header: clusterKind.columns}
			for _, it := range res.Items {
				t.add(clusterKind.row(it)...)
			}
			return out.print(cmd.OutOrStdout(), res, t)
		},
	}
	out.register(list, "table")
	list.Flags().StringArrayVar(&filter, "filter", nil, `filter "field op 'value'" (ops eq, lt, gt, lte, gte, in; repeat: AND)`)
	list.Flags().IntVar(&limit, "limit", 0, "at most this many")

	var getOut outputFlag
	get := &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one cluster",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			at, err := clusterKind.locate(cmd.Context(), c, "", a[0])
			if err != nil {
				return err
			}
			var item map[string]any
			if _, err := c.Do(cmd.Context(), http.MethodGet, at, nil, &item); err != nil {
				return err
			}
			t := &table{header: clusterKind.columns}
			t.add(clusterKind.row(item)...)
			return getOut.print(cmd.OutOrStdout(), item, t)
		},
	}
	getOut.register(get, "yaml")
	cmd.AddCommand(list, get)
	return cmd
}
