package cli

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// setIfChanged copies the flags the user gave into body under their field.
func setIfChanged(cmd *cobra.Command, body map[string]any, fields map[string]string) {
	for flag, field := range fields {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
			body[field] = f.Value.String()
		}
	}
}

func newSourcesCmd() *cobra.Command {
	return resourceCmd(kinds["sources"], "Manage hook sources (scripts), through the API",
		func(cmd *cobra.Command) func(*cobra.Command, map[string]any, bool) error {
			cmd.Flags().String("name", "", "source name")
			cmd.Flags().String("script", "", "script file; hookshot base64-encodes it")
			cmd.Flags().String("description", "", "description")
			if strings.HasPrefix(cmd.Use, "update") {
				cmd.Flags().String("private", "", `"true": never return the script through the API`)
			}
			return func(cmd *cobra.Command, body map[string]any, create bool) error {
				setIfChanged(cmd, body, map[string]string{"name": "name", "description": "description", "private": "private"})
				if p, _ := cmd.Flags().GetString("script"); p != "" {
					b, err := os.ReadFile(p)
					if err != nil {
						return err
					}
					body["source"] = base64.StdEncoding.EncodeToString(b)
				}
				if create {
					if _, ok := body["sourceType"]; !ok {
						body["sourceType"] = "script"
					}
				}
				return nil
			}
		})
}

func newHooksCmd() *cobra.Command {
	return resourceCmd(kinds["hooks"], "Manage execution hooks, through the API",
		func(cmd *cobra.Command) func(*cobra.Command, map[string]any, bool) error {
			f := cmd.Flags()
			f.String("name", "", "hook name")
			f.String("app", "", "app name or id")
			f.String("action", "", "snapshot, backup, restore or failover")
			f.String("stage", "", "pre or post")
			f.String("source", "", "hook source name or id")
			f.StringArray("arg", nil, "argument to the script (repeat)")
			f.StringArray("criteria", nil, "TYPE=REGEX, TYPE one of containerImage, containerName, podName, podLabel, namespaceName (repeat: AND)")
			f.String("failure-mode", "", "WARN (default) or FAIL: a failed FAIL pre hook aborts the action")
			f.Int("timeout-seconds", 0, "per-execution timeout (default 1500)")
			f.String("description", "", "description")
			f.String("enabled", "", `"true" or "false"`)
			f.String("hook-type", "", "custom (default) or netapp (admins only)")
			return func(cmd *cobra.Command, body map[string]any, create bool) error {
				setIfChanged(cmd, body, map[string]string{"name": "name", "app": "appID", "action": "action", "stage": "stage",
					"source": "hookSourceID", "failure-mode": "failureMode", "description": "description", "enabled": "enabled", "hook-type": "hookType"})
				if cmd.Flags().Changed("arg") {
					args, _ := cmd.Flags().GetStringArray("arg")
					body["arguments"] = args
				}
				if cmd.Flags().Changed("timeout-seconds") {
					n, _ := cmd.Flags().GetInt("timeout-seconds")
					body["timeoutSeconds"] = n
				}
				if cmd.Flags().Changed("criteria") {
					crit, _ := cmd.Flags().GetStringArray("criteria")
					list := []map[string]string{}
					for _, c := range crit {
						typ, val, ok := strings.Cut(c, "=")
						if !ok {
							return fmt.Errorf("--criteria %q: want TYPE=REGEX", c)
						}
						list = append(list, map[string]string{"type": typ, "value": val})
					}
					body["matchingCriteria"] = list
				}
				if _, ok := body["hookType"]; !ok && create {
					body["hookType"] = "custom"
				}
				return nil
			}
		})
}

// appsV2 is the collection of Astra apps 2.x, created in appV2Version.
const (
	appsV2       = "/k8s/v2/apps"
	appV2Version = "2.2"
)

// appRow is a line of the apps table, for either kind: a static app's
// cluster is local and it has no state; an app 2.x's containers are
// discovered, so it has no count.
func appRow(m map[string]any) []string {
	if _, ok := m["clusterID"]; !ok {
		var namespaces []string
		list, _ := m["containers"].([]any)
		for _, c := range list {
			ns := str(c.(map[string]any)["namespaceName"])
			if !slices.Contains(namespaces, ns) {
				namespaces = append(namespaces, ns)
			}
		}
		return []string{str(m["id"]), str(m["name"]), "local", cmp.Or(strings.Join(namespaces, ","), "-"), "-", count(m["containers"])}
	}
	var namespaces []string
	list, _ := m["namespaces"].([]any)
	for _, ns := range list {
		namespaces = append(namespaces, str(ns))
	}
	return []string{str(m["id"]), str(m["name"]), cmp.Or(str(m["clusterName"]), str(m["clusterID"])), strings.Join(namespaces, ","), str(m["state"]), "-"}
}

// scopesFlag collects --namespace and --selector in command-line order:
// each --selector belongs to the --namespace before it.
type scopesFlag struct{ scopes []map[string]any }

type namespaceValue struct{ f *scopesFlag }

func (v namespaceValue) String() string { return "" }
func (v namespaceValue) Type() string   { return "string" }
func (v namespaceValue) Set(ns string) error {
	v.f.scopes = append(v.f.scopes, map[string]any{"namespace": ns})
	return nil
}

type selectorValue struct{ f *scopesFlag }

func (v selectorValue) String() string { return "" }
func (v selectorValue) Type() string   { return "string" }
func (v selectorValue) Set(sel string) error {
	if len(v.f.scopes) == 0 {
		return errors.New("give a --namespace before its --selector")
	}
	last := v.f.scopes[len(v.f.scopes)-1]
	sels, _ := last["labelSelectors"].([]string)
	last["labelSelectors"] = append(sels, sel)
	return nil
}

func newAppsCmd() *cobra.Command {
	return resourceCmd(kinds["apps"], "Register apps: static ones with their container inventory, or Astra apps 2.x of a cluster, through the API",
		func(cmd *cobra.Command) func(*cobra.Command, map[string]any, bool) error {
			scopes := &scopesFlag{}
			f := cmd.Flags()
			f.String("name", "", "app name")
			f.String("containers", "", `static app: JSON file [{"namespaceName","podName","containerName","containerImage","podLabels":[{"name","value"}]}]`)
			f.String("cluster", "", "app 2.x: the cluster (name or id; hookshot clusters list) whose containers are discovered")
			f.Var(namespaceValue{scopes}, "namespace", "app 2.x: a namespace of the app (repeat)")
			f.Var(selectorValue{scopes}, "selector", "app 2.x: a Kubernetes label selector for the --namespace before it, e.g. 'app.kubernetes.io/name=mysql' (repeat: any one matches)")
			return func(cmd *cobra.Command, body map[string]any, create bool) error {
				setIfChanged(cmd, body, map[string]string{"name": "name", "cluster": "clusterID"})
				containers, _ := cmd.Flags().GetString("containers")
				_, discovered := body["clusterID"]
				switch {
				case containers != "" && (discovered || len(scopes.scopes) > 0):
					return errors.New("--containers makes a static app; --cluster, --namespace and --selector an app 2.x: give one or the other")
				case create && discovered && len(scopes.scopes) == 0 && body["namespaceScopedResources"] == nil:
					return errors.New("--cluster needs at least one --namespace")
				case create && !discovered && len(scopes.scopes) > 0:
					return errors.New("--namespace needs --cluster (the cluster the namespaces are in)")
				}
				if len(scopes.scopes) > 0 {
					body["namespaceScopedResources"] = scopes.scopes
				}
				if containers != "" {
					b, err := os.ReadFile(containers)
					if err != nil {
						return err
					}
					var cs []any
					if err := json.Unmarshal(b, &cs); err != nil {
						return fmt.Errorf("--containers %s: %w", containers, err)
					}
					body["containers"] = cs
				}
				return nil
			}
		})
}

func newOverridesCmd() *cobra.Command {
	return resourceCmd(kinds["overrides"], "Enable or disable a netapp hook for one app, through the API",
		func(cmd *cobra.Command) func(*cobra.Command, map[string]any, bool) error {
			cmd.Flags().String("hook", "", "execution hook id (a netapp hook of the app)")
			cmd.Flags().String("enabled", "", `"true" or "false"`)
			return func(cmd *cobra.Command, body map[string]any, _ bool) error {
				setIfChanged(cmd, body, map[string]string{"hook": "executionHookID", "enabled": "enabled"})
				return nil
			}
		})
}
