package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// outputFlag is -o table|json|yaml|id.
type outputFlag struct{ format string }

func (o *outputFlag) register(cmd *cobra.Command, def string) {
	cmd.Flags().StringVarP(&o.format, "output", "o", def, "output format: table, json, yaml, or id (the id of each resource, one a line, for scripts)")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"table", "json", "yaml", "id"}, cobra.ShellCompDirectiveNoFileComp
	})
}

// table is rows under a header, printed aligned.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// print writes v (json, yaml) or t (table) to w.
func (o *outputFlag) print(w io.Writer, v any, t *table) error {
	switch o.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		// Through JSON, so field names are the API's.
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(raw, &generic); err != nil {
			return err
		}
		out, err := yaml.Marshal(generic)
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	case "table", "":
		if t == nil {
			return fmt.Errorf("-o table is not available here; use json or yaml")
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(t.header, "\t"))
		for _, r := range t.rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		return tw.Flush()
	case "id":
		ids := idsOf(v)
		if ids == nil {
			return fmt.Errorf("-o id is not available here; use json or yaml")
		}
		for _, id := range ids {
			fmt.Fprintln(w, id)
		}
		return nil
	default:
		return fmt.Errorf("-o %q: must be table, json, yaml or id", o.format)
	}
}

// idsOf is the "id" of a resource, or of each resource of a list (a slice,
// or an API list's items), or nil when v has none.
func idsOf(v any) []string {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var one struct {
		ID    string            `json:"id"`
		RunID string            `json:"runID"` // runs are named by their run ID
		Items []json.RawMessage `json:"items"`
	}
	if json.Unmarshal(raw, &one) == nil {
		if id := cmp.Or(one.ID, one.RunID); id != "" {
			return []string{id}
		}
		if one.Items != nil {
			raw, _ = json.Marshal(one.Items)
		}
	}
	var many []struct {
		ID    string `json:"id"`
		RunID string `json:"runID"`
	}
	if json.Unmarshal(raw, &many) != nil {
		return nil
	}
	out := []string{}
	for _, m := range many {
		if id := cmp.Or(m.ID, m.RunID); id != "" {
			out = append(out, id)
		}
	}
	return out
}
