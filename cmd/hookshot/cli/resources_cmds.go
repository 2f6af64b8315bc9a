package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
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
			f.String("app", "", "app id")
			f.String("action", "", "snapshot, backup, restore or failover")
			f.String("stage", "", "pre or post")
			f.String("source", "", "hook source id")
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

func newAppsCmd() *cobra.Command {
	return resourceCmd(kinds["apps"], "Register apps and their container inventory, through the API",
		func(cmd *cobra.Command) func(*cobra.Command, map[string]any, bool) error {
			cmd.Flags().String("name", "", "app name")
			cmd.Flags().String("containers", "", `JSON file: [{"namespaceName","podName","containerName","containerImage","podLabels":[{"name","value"}]}]`)
			return func(cmd *cobra.Command, body map[string]any, _ bool) error {
				setIfChanged(cmd, body, map[string]string{"name": "name"})
				if p, _ := cmd.Flags().GetString("containers"); p != "" {
					b, err := os.ReadFile(p)
					if err != nil {
						return err
					}
					var cs []any
					if err := json.Unmarshal(b, &cs); err != nil {
						return fmt.Errorf("--containers %s: %w", p, err)
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
