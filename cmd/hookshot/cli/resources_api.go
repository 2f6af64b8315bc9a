package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/client"
)

// A resource kind of the API, as the resource commands see it.
type resourceKind struct {
	name       string // sources
	singular   string // source
	collection func(c *client.Client, app string) string
	mediaType  string
	version    string
	appScoped  bool // the path needs an app (overrides)
	columns    []string
	row        func(item map[string]any) []string
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func count(v any) string {
	list, _ := v.([]any)
	return strconv.Itoa(len(list))
}

var kinds = map[string]*resourceKind{
	"sources": {
		name: "sources", singular: "source", mediaType: "application/astra-hookSource", version: "1.0",
		collection: func(c *client.Client, _ string) string { return c.AccountPath("/core/v1/hookSources") },
		columns:    []string{"ID", "NAME", "PRIVATE", "PRELOADED", "CHECKSUM", "DESCRIPTION"},
		row: func(m map[string]any) []string {
			return []string{str(m["id"]), str(m["name"]), str(m["private"]), str(m["preloaded"]), str(m["sourceMD5Checksum"]), str(m["description"])}
		},
	},
	"hooks": {
		name: "hooks", singular: "hook", mediaType: "application/astra-executionHook", version: "1.3",
		collection: func(c *client.Client, _ string) string { return c.AccountPath("/core/v1/executionHooks") },
		columns:    []string{"ID", "NAME", "APP", "STAGE", "ENABLED", "TYPE", "FAILURE", "MATCHING"},
		row: func(m map[string]any) []string {
			mode := str(m["failureMode"])
			if mode == "" {
				mode = "WARN"
			}
			return []string{str(m["id"]), str(m["name"]), str(m["appID"]), str(m["action"]) + "/" + str(m["stage"]),
				str(m["enabled"]), str(m["hookType"]), mode, count(m["matchingContainers"])}
		},
	},
	"apps": {
		name: "apps", singular: "app", mediaType: "application/astra-app", version: "1.0",
		collection: func(c *client.Client, _ string) string { return c.AccountPath("/k8s/v1/apps") },
		columns:    []string{"ID", "NAME", "CONTAINERS"},
		row:        func(m map[string]any) []string { return []string{str(m["id"]), str(m["name"]), count(m["containers"])} },
	},
	"overrides": {
		name: "overrides", singular: "override", mediaType: "application/astra-executionHookOverride", version: "1.0", appScoped: true,
		collection: func(c *client.Client, app string) string {
			return c.AccountPath("/k8s/v1/apps/" + url.PathEscape(app) + "/executionHookOverrides")
		},
		columns: []string{"ID", "APP", "HOOK", "ENABLED"},
		row: func(m map[string]any) []string {
			return []string{str(m["id"]), str(m["appID"]), str(m["executionHookID"]), str(m["enabled"])}
		},
	},
}

// resolve turns a name or id into the resource's id.
func (k *resourceKind) resolve(ctx context.Context, c *client.Client, app, ref string) (string, error) {
	if uuidRE.MatchString(ref) {
		return ref, nil
	}
	var list struct{ Items []map[string]any }
	q := "?filter=" + url.QueryEscape("name eq '"+strings.ReplaceAll(ref, "'", "''")+"'")
	if _, err := c.Do(ctx, http.MethodGet, k.collection(c, app)+q, nil, &list); err != nil {
		return "", err
	}
	switch len(list.Items) {
	case 0:
		return "", fmt.Errorf("no %s named %q", k.singular, ref)
	case 1:
		return str(list.Items[0]["id"]), nil
	default:
		return "", fmt.Errorf("%d %ss named %q: give the id", len(list.Items), k.singular, ref)
	}
}

// resourceCmd builds get, list, create, update and delete for kind k;
// build turns the create/update flags into a body.
func resourceCmd(k *resourceKind, short string, flags func(*cobra.Command) func(cmd *cobra.Command, body map[string]any, create bool) error) *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{Use: k.name, Short: short}
	af.register(cmd)
	args := cobra.ExactArgs(1)
	use := func(verb string) string {
		if k.appScoped {
			return verb + " APP_ID"
		}
		return verb
	}
	appOf := func(a []string) string {
		if k.appScoped && len(a) > 0 {
			return a[0]
		}
		return ""
	}
	refArgs := cobra.ExactArgs(1)
	if k.appScoped {
		refArgs = cobra.ExactArgs(2)
	}
	refUse := func(verb string) string {
		if k.appScoped {
			return verb + " APP_ID ID"
		}
		return verb + " ID|NAME"
	}
	ref := func(a []string) string { return a[len(a)-1] }

	var (
		out    outputFlag
		filter []string
		limit  int
	)
	list := &cobra.Command{
		Use:   use("list"),
		Short: "List " + k.name,
		Args: func(c *cobra.Command, a []string) error {
			if k.appScoped {
				return args(c, a)
			}
			return cobra.NoArgs(c, a)
		},
		RunE: func(cmd *cobra.Command, a []string) error {
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
			path := k.collection(c, appOf(a))
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var res struct {
				Items    []map[string]any `json:"items"`
				Metadata map[string]any   `json:"metadata"`
			}
			if _, err := c.Do(cmd.Context(), http.MethodGet, path, nil, &res); err != nil {
				return err
			}
			t := &table{header: k.columns}
			for _, it := range res.Items {
				t.add(k.row(it)...)
			}
			return out.print(cmd.OutOrStdout(), res, t)
		},
	}
	out.register(list, "table")
	list.Flags().StringArrayVar(&filter, "filter", nil, `filter "field op 'value'" (ops eq, lt, gt, lte, gte, in; repeat: AND)`)
	list.Flags().IntVar(&limit, "limit", 0, "at most this many")

	var getOut outputFlag
	get := &cobra.Command{
		Use:   refUse("get"),
		Short: "Show one " + k.singular,
		Args:  refArgs,
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			id, err := k.resolve(cmd.Context(), c, appOf(a), ref(a))
			if err != nil {
				return err
			}
			var item map[string]any
			if _, err := c.Do(cmd.Context(), http.MethodGet, k.collection(c, appOf(a))+"/"+id, nil, &item); err != nil {
				return err
			}
			t := &table{header: k.columns}
			t.add(k.row(item)...)
			return getOut.print(cmd.OutOrStdout(), item, t)
		},
	}
	getOut.register(get, "yaml")

	// onOne sends method to the resource the arguments name (id or name).
	onOne := func(cmd *cobra.Command, a []string, method string, body any, done string) error {
		c, err := af.client()
		if err != nil {
			return err
		}
		id, err := k.resolve(cmd.Context(), c, appOf(a), ref(a))
		if err != nil {
			return err
		}
		if _, err := c.Do(cmd.Context(), method, k.collection(c, appOf(a))+"/"+id, body, nil); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s\n", k.singular, id, done)
		return nil
	}

	var (
		file      string
		createOut outputFlag
	)
	create := &cobra.Command{
		Use:   use("create"),
		Short: "Create a " + k.singular + " from flags, or from a YAML or JSON file (-f)",
		Args: func(c *cobra.Command, a []string) error {
			if k.appScoped {
				return args(c, a)
			}
			return cobra.NoArgs(c, a)
		},
	}
	build := flags(create)
	create.RunE = func(cmd *cobra.Command, a []string) error {
		body, err := bodyOf(file, k, cmd.InOrStdin())
		if err != nil {
			return err
		}
		if err := build(cmd, body, true); err != nil {
			return err
		}
		c, err := af.client()
		if err != nil {
			return err
		}
		var item map[string]any
		if _, err := c.Do(cmd.Context(), http.MethodPost, k.collection(c, appOf(a)), body, &item); err != nil {
			return err
		}
		t := &table{header: k.columns}
		t.add(k.row(item)...)
		return createOut.print(cmd.OutOrStdout(), item, t)
	}
	create.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file with the "+k.singular+" (- for stdin)")
	createOut.register(create, "table")

	var updFile string
	update := &cobra.Command{
		Use:   refUse("update"),
		Short: "Change a " + k.singular + ": only the fields given change",
		Args:  refArgs,
	}
	updBuild := flags(update)
	update.RunE = func(cmd *cobra.Command, a []string) error {
		body, err := bodyOf(updFile, k, cmd.InOrStdin())
		if err != nil {
			return err
		}
		if err := updBuild(cmd, body, false); err != nil {
			return err
		}
		return onOne(cmd, a, http.MethodPut, body, "updated")
	}
	update.Flags().StringVarP(&updFile, "file", "f", "", "YAML or JSON file with the fields to change (- for stdin)")

	del := &cobra.Command{
		Use:   refUse("delete"),
		Short: "Delete a " + k.singular,
		Args:  refArgs,
		RunE: func(cmd *cobra.Command, a []string) error {
			return onOne(cmd, a, http.MethodDelete, nil, "deleted")
		},
	}
	cmd.AddCommand(list, get, create, update, del)
	return cmd
}

// bodyOf starts a request body from a file (YAML or JSON) or empty, with
// the kind's media type and version; flags are added by the caller.
func bodyOf(file string, k *resourceKind, stdin io.Reader) (map[string]any, error) {
	body := map[string]any{}
	if file != "" {
		var raw []byte
		var err error
		if file == "-" {
			raw, err = io.ReadAll(io.LimitReader(stdin, 4<<20))
		} else {
			raw, err = os.ReadFile(file)
		}
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(raw, &body); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		// A script given as text or as a file is base64-encoded here.
		if s, ok := body["script"].(string); ok {
			body["source"] = base64.StdEncoding.EncodeToString([]byte(s))
			delete(body, "script")
		}
		if p, ok := body["scriptFile"].(string); ok {
			if !filepath.IsAbs(p) && file != "-" {
				p = filepath.Join(filepath.Dir(file), p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("%s: scriptFile: %w", file, err)
			}
			body["source"] = base64.StdEncoding.EncodeToString(b)
			delete(body, "scriptFile")
		}
	}
	if _, ok := body["type"]; !ok {
		body["type"] = k.mediaType
	}
	if _, ok := body["version"]; !ok {
		body["version"] = k.version
	}
	return body, nil
}
