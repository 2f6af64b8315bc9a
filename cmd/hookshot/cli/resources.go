package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookshot-dev/hookshot/engine/store"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/matcher"
)

// cliUser is recorded as createdBy/modifiedBy for resources written by the CLI.
const cliUser = "00000000-0000-0000-0000-000000000000"

// readJSON strictly decodes a file ("-" is stdin) into v, naming the file
// and the offending field.
func readJSON(path string, stdin io.Reader, v any) error {
	var (
		raw []byte
		err error
	)
	if path == "-" {
		raw, err = io.ReadAll(io.LimitReader(stdin, 4<<20))
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: field %s must be %s, not %s", path, te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// invalid turns a validation error into one line per field.
func invalid(err error) error {
	var me *matcher.ValidationError
	var xe *executor.ValidationError
	var lines []string
	switch {
	case errors.As(err, &me):
		for _, f := range me.Fields {
			lines = append(lines, "  "+f.Field+": "+f.Reason)
		}
	case errors.As(err, &xe):
		for _, f := range xe.Fields {
			lines = append(lines, "  "+f.Field+": "+f.Reason)
		}
	default:
		return err
	}
	return fmt.Errorf("invalid fields:\n%s", strings.Join(lines, "\n"))
}

func newSourcesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sources", Short: "Manage hook sources (scripts)"}
	var (
		cf                           clientFlags
		file, script, name, id, desc string
		private                      bool
	)
	put := &cobra.Command{
		Use:   "put",
		Short: "Create or replace a hook source from a script file (--script) or an Astra hookSource JSON (--file)",
		Example: `  hookshot sources put --name mysql-freeze --script freeze.sh
  hookshot sources put --file source.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var src executor.HookSource
			switch {
			case file != "" && script != "":
				return errors.New("give --file or --script, not both")
			case file != "":
				var body struct {
					executor.HookSource
					Metadata json.RawMessage `json:"metadata"`
				}
				if err := readJSON(file, cmd.InOrStdin(), &body); err != nil {
					return err
				}
				src = body.HookSource
			case script != "":
				text, err := os.ReadFile(script)
				if err != nil {
					return err
				}
				src = *executor.NewScriptSource(name, text)
				src.Description = desc
				if private {
					src.Private = executor.True
				}
			default:
				return errors.New("give --script FILE or --file FILE")
			}
			if id != "" {
				src.ID = id
			}
			c, err := cf.connect(cmd.Context(), "hookshot sources put")
			if err != nil {
				return err
			}
			defer c.Close()
			rec, err := c.store.SaveSource(cmd.Context(), cf.account, src, cliUser)
			if err != nil {
				return invalid(err)
			}
			return printJSON(cmd.OutOrStdout(), rec)
		},
	}
	cf.register(put)
	put.Flags().StringVarP(&file, "file", "f", "", "Astra hookSource JSON file (- for stdin)")
	put.Flags().StringVar(&script, "script", "", "script file; hookshot base64-encodes it")
	put.Flags().StringVar(&name, "name", "", "source name (with --script)")
	put.Flags().StringVar(&id, "id", "", "source id (UUIDv4); a new one when omitted, replaces when it exists")
	put.Flags().StringVar(&desc, "description", "", "description (with --script)")
	put.Flags().BoolVar(&private, "private", false, "never return the script through the API")
	cmd.AddCommand(put, listCmd("hook sources", func(c *natsClient) func(context.Context, string) ([]*store.Entry[store.SourceRecord], error) {
		return c.store.Sources.List
	}))
	return cmd
}

func newHooksCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "hooks", Short: "Manage execution hooks"}
	var (
		cf   clientFlags
		file string
		h    matcher.ExecutionHook
		crit []string
		off  bool
	)
	put := &cobra.Command{
		Use:   "put",
		Short: "Create or replace an execution hook from flags or an Astra executionHook JSON (--file)",
		Example: `  hookshot hooks put --name freeze --app 7be5ae7c-151d-4230-ac39-ac1d0b33c2a9 --action snapshot --stage pre \
      --source 50e89023-ba84-435d-bb47-1833f4c250ff --arg freeze --criteria 'containerImage=\bmysql\b'
  hookshot hooks put --file hook.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file != "" {
				var body struct {
					matcher.ExecutionHook
					Metadata           json.RawMessage `json:"metadata"`
					MatchingContainers json.RawMessage `json:"matchingContainers"`
					MatchingImages     json.RawMessage `json:"matchingImages"`
				}
				if err := readJSON(file, cmd.InOrStdin(), &body); err != nil {
					return err
				}
				h = body.ExecutionHook
			} else {
				h.Type, h.Version = matcher.MediaType, "1.3"
				if h.HookType == "" {
					h.HookType = "custom"
				}
				for _, c := range crit {
					typ, val, ok := strings.Cut(c, "=")
					if !ok {
						return fmt.Errorf("--criteria %q: want TYPE=REGEX", c)
					}
					h.MatchingCriteria = append(h.MatchingCriteria, matcher.Criterion{Type: typ, Value: val})
				}
				if off {
					h.Enabled = "false"
				}
			}
			c, err := cf.connect(cmd.Context(), "hookshot hooks put")
			if err != nil {
				return err
			}
			defer c.Close()
			rec, err := c.store.SaveHook(cmd.Context(), cf.account, h, cliUser)
			if err != nil {
				return invalid(err)
			}
			return printJSON(cmd.OutOrStdout(), rec)
		},
	}
	cf.register(put)
	f := put.Flags()
	f.StringVarP(&file, "file", "f", "", "Astra executionHook JSON file (- for stdin)")
	f.StringVar(&h.ID, "id", "", "hook id (UUIDv4); a new one when omitted, replaces when it exists")
	f.StringVar(&h.Name, "name", "", "hook name")
	f.StringVar(&h.AppID, "app", "", "app id")
	f.StringVar(&h.Action, "action", "", "snapshot, backup, restore or failover")
	f.StringVar(&h.Stage, "stage", "", "pre or post")
	f.StringVar(&h.HookSourceID, "source", "", "hook source id")
	f.StringArrayVar(&h.Arguments, "arg", nil, "argument to the script (repeat)")
	f.StringArrayVar(&crit, "criteria", nil, "TYPE=REGEX, TYPE one of containerImage, containerName, podName, podLabel, namespaceName (repeat: AND)")
	f.StringVar(&h.FailureMode, "failure-mode", "", "WARN (default) or FAIL: a failed FAIL pre hook aborts the action")
	f.IntVar(&h.TimeoutSeconds, "timeout-seconds", 0, "per-execution timeout (default 1500)")
	f.StringVar(&h.Description, "description", "", "description")
	f.BoolVar(&off, "disabled", false, "store the hook disabled")
	cmd.AddCommand(put, listCmd("execution hooks", func(c *natsClient) func(context.Context, string) ([]*store.Entry[store.HookRecord], error) {
		return c.store.Hooks.List
	}))
	return cmd
}

func newAppsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Short: "Register apps and their container inventory"}
	var (
		cf   clientFlags
		file string
	)
	put := &cobra.Command{
		Use:   "put",
		Short: "Create or replace an app from JSON: {\"id\", \"name\", \"containers\": [{namespaceName, podName, podLabels, containerName, containerImage}]}",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var app store.App
			if err := readJSON(file, cmd.InOrStdin(), &app); err != nil {
				return err
			}
			c, err := cf.connect(cmd.Context(), "hookshot apps put")
			if err != nil {
				return err
			}
			defer c.Close()
			rec, err := c.store.SaveApp(cmd.Context(), cf.account, app, cliUser)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), rec)
		},
	}
	cf.register(put)
	put.Flags().StringVarP(&file, "file", "f", "", "app JSON file (- for stdin)")
	_ = put.MarkFlagRequired("file")
	cmd.AddCommand(put, listCmd("apps", func(c *natsClient) func(context.Context, string) ([]*store.Entry[store.App], error) {
		return c.store.Apps.List
	}))
	return cmd
}

// listCmd prints every resource of one collection of the account as JSON.
func listCmd[T any](what string, coll func(*natsClient) func(context.Context, string) ([]*store.Entry[T], error)) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the account's " + what + " as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.connect(cmd.Context(), "hookshot list")
			if err != nil {
				return err
			}
			defer c.Close()
			entries, err := coll(c)(cmd.Context(), cf.account)
			if err != nil {
				return err
			}
			items := make([]T, len(entries))
			for i, e := range entries {
				items[i] = e.Value
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{"items": items})
		},
	}
	cf.register(cmd)
	return cmd
}
