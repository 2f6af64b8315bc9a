package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hookshot-dev/hookshot/client"
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
	// others are further collections of the kind beside collection
	// (account-relative: apps 2.x beside static apps). list merges them;
	// get, update and delete find a resource in whichever holds it.
	others []string
	// createIn is where a new resource goes, from its body; nil: collection.
	createIn func(c *client.Client, body map[string]any) string
	// adapt fits a body to the collection it is sent to (a version); nil: as is.
	adapt func(collection string, body map[string]any)
}

// collections are every collection of the kind.
func (k *resourceKind) collections(c *client.Client, app string) []string {
	out := []string{k.collection(c, app)}
	for _, o := range k.others {
		out = append(out, c.AccountPath(o))
	}
	return out
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
		collection: func(c *client.Client, _ string) string { return c.AccountPath(appCollections[0]) },
		others:     appCollections[1:],
		createIn: func(c *client.Client, body map[string]any) string {
			if _, ok := body["clusterID"]; ok {
				return c.AccountPath(appsV2)
			}
			return c.AccountPath(appCollections[0])
		},
		adapt: func(collection string, body map[string]any) {
			if strings.HasSuffix(collection, appsV2) && body["version"] == "1.0" {
				body["version"] = appV2Version
			}
		},
		columns: []string{"ID", "NAME", "CLUSTER", "NAMESPACES", "STATE", "CONTAINERS"},
		row:     appRow,
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

// errNoSuchResource: no resource has the name or id looked for.
var errNoSuchResource = errors.New("not found")

// locate turns a name or id into the resource's path (its collection's
// path, "/", its id).
func (k *resourceKind) locate(ctx context.Context, c *client.Client, app, ref string) (string, error) {
	cols := k.collections(c, app)
	if uuidRE.MatchString(ref) {
		if len(cols) == 1 {
			return cols[0] + "/" + ref, nil
		}
		for _, col := range cols {
			_, err := c.Do(ctx, http.MethodGet, col+"/"+ref, nil, nil)
			if err == nil {
				return col + "/" + ref, nil
			}
			if !isNotFound(err) {
				return "", err
			}
		}
		return "", fmt.Errorf("no %s with id %s: %w", k.singular, ref, errNoSuchResource)
	}
	var found []string
	q := "?filter=" + url.QueryEscape("name eq '"+strings.ReplaceAll(ref, "'", "''")+"'")
	// A list may miss a resource that changes while it is read (the store
	// lists KV keys through a consumer): look twice before saying there is
	// none.
	for try := 0; try < 2 && len(found) == 0; try++ {
		if try > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		f, err := k.findByName(ctx, c, cols, q)
		if err != nil {
			return "", err
		}
		found = f
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no %s named %q: %w", k.singular, ref, errNoSuchResource)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("%d %ss named %q: give the id", len(found), k.singular, ref)
	}
}

// findByName lists the collections with the name query q and returns the
// path of each resource found.
func (k *resourceKind) findByName(ctx context.Context, c *client.Client, cols []string, q string) ([]string, error) {
	var found []string
	for i, col := range cols {
		var list struct{ Items []map[string]any }
		if _, err := c.Do(ctx, http.MethodGet, col+q, nil, &list); err != nil {
			if i > 0 && isNotFound(err) {
				continue // a server without this collection
			}
			return nil, err
		}
		for _, it := range list.Items {
			found = append(found, col+"/"+str(it["id"]))
		}
	}
	return found, nil
}

// listAll lists every collection of the kind with query q and merges the
// items in id order, at most limit of them (0: all).
func (k *resourceKind) listAll(ctx context.Context, c *client.Client, app string, q url.Values, limit int) (listAnswer, error) {
	var res listAnswer
	for i, col := range k.collections(c, app) {
		path := col
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		var one listAnswer
		if _, err := c.Do(ctx, http.MethodGet, path, nil, &one); err != nil {
			if i > 0 && isNotFound(err) {
				continue // a server without this collection
			}
			return res, err
		}
		if i == 0 {
			res = one
			continue
		}
		res.Items = append(res.Items, one.Items...)
		slices.SortStableFunc(res.Items, func(a, b map[string]any) int { return strings.Compare(str(a["id"]), str(b["id"])) })
		if limit > 0 && len(res.Items) > limit {
			res.Items = res.Items[:limit]
		}
		if res.Metadata != nil {
			res.Metadata["count"] = len(res.Items)
			delete(res.Metadata, "continue")
		}
	}
	return res, nil
}

// listAnswer is a list as the API answers it.
type listAnswer struct {
	Items    []map[string]any `json:"items"`
	Metadata map[string]any   `json:"metadata"`
}

// resourceCmd builds get, list, create, update and delete for kind k;
// build turns the create/update flags into a body.
func resourceCmd(k *resourceKind, short string, flags func(*cobra.Command) func(cmd *cobra.Command, body map[string]any, create bool) error) *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{Use: k.name, Short: short}
	af.register(cmd)
	args := cobra.ExactArgs(1)
	use, refArgs, refUse := k.use, k.refArgs(), k.refUse
	list, get := k.listCmd(&af), k.getCmd(&af)

	// onOne sends method to the resource the arguments name (id or name).
	onOne := func(cmd *cobra.Command, a []string, method string, body map[string]any, done string) error {
		c, at, err := k.target(cmd.Context(), &af, a)
		if err != nil {
			return err
		}
		if body != nil && k.adapt != nil {
			k.adapt(path.Dir(at), body)
		}
		if _, err := c.Do(cmd.Context(), method, at, body, nil); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s\n", k.singular, path.Base(at), done)
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
		unresolved, err := resolveRefs(cmd.Context(), c, body)
		if err != nil {
			return err
		}
		app, err := k.appIn(cmd.Context(), c, a)
		if err != nil {
			return err
		}
		into := k.collection(c, app)
		if k.createIn != nil {
			into = k.createIn(c, body)
		}
		if k.adapt != nil {
			k.adapt(into, body)
		}
		var item map[string]any
		if _, err := c.Do(cmd.Context(), http.MethodPost, into, body, &item); err != nil {
			return withNotes(err, unresolved)
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
		c, err := af.client()
		if err != nil {
			return err
		}
		unresolved, err := resolveRefs(cmd.Context(), c, body)
		if err != nil {
			return err
		}
		return withNotes(onOne(cmd, a, http.MethodPut, body, "updated"), unresolved)
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

// target is the client and the path of the resource a command's arguments
// name (by id or name).
func (k *resourceKind) target(ctx context.Context, af *apiFlags, a []string) (*client.Client, string, error) {
	c, err := af.client()
	if err != nil {
		return nil, "", err
	}
	app, err := k.appIn(ctx, c, a)
	if err != nil {
		return nil, "", err
	}
	at, err := k.locate(ctx, c, app, lastArg(a))
	return c, at, err
}

// appIn is the id of the app a command of an app-scoped kind names (its
// first argument, the app's name or id, as every command that takes an app
// takes either); "" for other kinds. An unknown app is `app "x" not found`,
// not the collection's 404.
func (k *resourceKind) appIn(ctx context.Context, c *client.Client, a []string) (string, error) {
	if !k.appScoped || len(a) == 0 {
		return "", nil
	}
	return resolveApp(ctx, c, a[0])
}

// lastArg is the resource a command names: its last argument.
func lastArg(a []string) string { return a[len(a)-1] }

func (k *resourceKind) use(verb string) string {
	if k.appScoped {
		return verb + " APP"
	}
	return verb
}

func (k *resourceKind) refArgs() cobra.PositionalArgs {
	if k.appScoped {
		return cobra.ExactArgs(2)
	}
	return cobra.ExactArgs(1)
}

func (k *resourceKind) refUse(verb string) string {
	if k.appScoped {
		return verb + " APP ID"
	}
	return verb + " ID|NAME"
}

// listCmd is the kind's list command (with --filter and --limit).
func (k *resourceKind) listCmd(af *apiFlags) *cobra.Command {
	use := k.use
	args := cobra.ExactArgs(1)
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
			app, err := k.appIn(cmd.Context(), c, a)
			if err != nil {
				return err
			}
			res, err := k.listAll(cmd.Context(), c, app, q, limit)
			if err != nil {
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
	return list
}

// getCmd is the kind's get command (by id or name).
func (k *resourceKind) getCmd(af *apiFlags) *cobra.Command {
	var getOut outputFlag
	get := &cobra.Command{
		Use:   k.refUse("get"),
		Short: "Show one " + k.singular,
		Args:  k.refArgs(),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, at, err := k.target(cmd.Context(), af, a)
			if err != nil {
				return err
			}
			var item map[string]any
			if _, err := c.Do(cmd.Context(), http.MethodGet, at, nil, &item); err != nil {
				return err
			}
			t := &table{header: k.columns}
			t.add(k.row(item)...)
			return getOut.print(cmd.OutOrStdout(), item, t)
		},
	}
	getOut.register(get, "yaml")
	return get
}

// resolveRefs turns the names a body gives for the resources it refers to
// (an app, a hook source, an execution hook) into their ids, so every flag
// that takes an id takes a name too. A name that matches nothing is left
// as it is, for the server to refuse along with every other bad field; what
// the lookup found is returned, to be added to that answer.
func resolveRefs(ctx context.Context, c *client.Client, body map[string]any) (unresolved []string, err error) {
	for _, ref := range []struct {
		field   string
		resolve func(string) (string, error)
	}{
		{"appID", func(ref string) (string, error) { return resolveApp(ctx, c, ref) }},
		{"hookSourceID", func(ref string) (string, error) { return kinds["sources"].idOf(ctx, c, ref) }},
		{"executionHookID", func(ref string) (string, error) { return kinds["hooks"].idOf(ctx, c, ref) }},
	} {
		name, ok := body[ref.field].(string)
		if !ok || name == "" || uuidRE.MatchString(name) {
			continue
		}
		id, err := ref.resolve(name)
		var ae *client.APIError
		switch {
		case err == nil:
			body[ref.field] = id
		case errors.As(err, &ae):
			return nil, err // the server's trouble, not the name's
		default:
			unresolved = append(unresolved, ref.field+": "+err.Error())
		}
	}
	return unresolved, nil
}

// withNotes adds what the name lookups found to a command's error.
func withNotes(err error, notes []string) error {
	if err == nil || len(notes) == 0 {
		return err
	}
	return fmt.Errorf("%w\n  %s", err, strings.Join(notes, "\n  "))
}

// idOf turns a name or id of a resource of an account-wide kind into its id.
func (k *resourceKind) idOf(ctx context.Context, c *client.Client, ref string) (string, error) {
	p, err := k.locate(ctx, c, "", ref)
	if err != nil {
		return "", err
	}
	return path.Base(p), nil
}
