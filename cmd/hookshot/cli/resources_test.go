package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
)

// Every resource command against a real server, through the API.
func TestResourceCommands(t *testing.T) {
	_, apiURL := startServerWithAPI(t)
	dir := t.TempDir()
	api := []string{"--server", apiURL, "--token", testToken}
	ctx := context.Background()
	do := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, ctx, append(args, api...)...)
	}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errOut := do(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	idOf := func(out string) string {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("not JSON: %s", out)
		}
		return m["id"].(string)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Apps.
	inv := write("inv.json", `[{"namespaceName":"prod","podName":"db-0","containerName":"mysql","containerImage":"mysql:8.4","podLabels":[{"name":"app","value":"db"}]},
	  {"namespaceName":"prod","podName":"web-0","containerName":"web","containerImage":"nginx:1.27"}]`)
	app := idOf(ok("apps", "create", "--name", "payroll", "--containers", inv, "-o", "json"))
	if out := ok("apps", "list"); !strings.Contains(out, "payroll") || !strings.Contains(out, "CONTAINERS") {
		t.Fatalf("apps list:\n%s", out)
	}

	// Sources: from a YAML file with the script inline, base64-encoded for us.
	srcFile := write("source.yaml", "name: freeze\ndescription: first\nsourceType: script\nscript: |\n  #!/bin/sh\n  echo frozen\n")
	src := idOf(ok("sources", "create", "-f", srcFile, "-o", "json"))
	ok("sources", "update", "freeze", "--description", "second") // by name
	if out := ok("sources", "get", src, "-o", "json"); !strings.Contains(out, `"description": "second"`) || !strings.Contains(out, `"source": "IyEvYmluL3NoCmVjaG8gZnJvemVuCg=="`) {
		t.Fatalf("source after update:\n%s", out)
	}

	// Hooks, with criteria; matchingContainers computed from the app.
	hook := idOf(ok("hooks", "create", "--name", "freeze", "--app", app, "--action", "snapshot", "--stage", "pre", "--source", src,
		"--arg", "hard", "--criteria", `containerImage=\bmysql\b`, "--failure-mode", "FAIL", "-o", "json"))
	if out := ok("hooks", "list", "--filter", "stage eq 'pre'"); !strings.Contains(out, "freeze") || !strings.Contains(out, "FAIL") {
		t.Fatalf("hooks list:\n%s", out)
	}
	if out := ok("hooks", "list", "--filter", "stage eq 'post'", "-o", "json"); strings.Contains(out, "freeze") {
		t.Fatalf("filter not applied:\n%s", out)
	}
	ok("hooks", "update", "freeze", "--enabled", "false")
	if out := ok("hooks", "get", "freeze", "-o", "yaml"); !strings.Contains(out, "enabled: \"false\"") || !strings.Contains(out, "containerName: mysql") {
		t.Fatalf("hook after update:\n%s", out)
	}

	// Errors come from the server's problem, every field named, exit 1.
	code, _, errOut := do("hooks", "create", "--name", "bad", "--app", "nope", "--action", "restore", "--stage", "pre", "--source", src, "--criteria", "podName=(")
	if code != cli.ExitError || !strings.Contains(errOut, "Invalid JSON resource (400)") || !strings.Contains(errOut, "appID:") || !strings.Contains(errOut, "matchingCriteria[0].value:") {
		t.Fatalf("bad hook: %d %s", code, errOut)
	}
	code, _, errOut = do("sources", "delete", "freeze")
	if code != cli.ExitError || !strings.Contains(errOut, "Hook source referenced by execution hook (403)") {
		t.Fatalf("delete a used source: %d %s", code, errOut)
	}
	if code, _, errOut := do("hooks", "get", "no-such-hook"); code != cli.ExitError || !strings.Contains(errOut, `no hook named "no-such-hook"`) {
		t.Fatalf("unknown name: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, ctx, "hooks", "list", "--server", apiURL, "--token", "wrong-token-0123456789"); code != cli.ExitError || !strings.Contains(errOut, "Invalid bearer token (401)") {
		t.Fatalf("bad token: %d %s", code, errOut)
	}

	// Overrides of a netapp hook (an admin token makes one).
	netapp := idOf(ok("hooks", "create", "--name", "netapp-freeze", "--hook-type", "netapp", "--app", app, "--action", "snapshot", "--stage", "pre", "--source", src, "-o", "json"))
	ov := idOf(ok("overrides", "create", app, "--hook", netapp, "--enabled", "false", "-o", "json"))
	if out := ok("overrides", "list", app); !strings.Contains(out, ov) || !strings.Contains(out, "false") {
		t.Fatalf("overrides list:\n%s", out)
	}
	ok("overrides", "update", app, ov, "--enabled", "true")
	ok("overrides", "delete", app, ov)

	// Deletes, by name and by id.
	ok("hooks", "delete", "freeze")
	ok("hooks", "delete", netapp)
	ok("sources", "delete", src)
	ok("apps", "delete", "payroll")
	if out := ok("hooks", "list", "-o", "json"); strings.Contains(out, hook) {
		t.Fatalf("deleted hook still listed:\n%s", out)
	}
}

// Contexts: a named server, token and account in the contexts file.
func TestContexts(t *testing.T) {
	_, apiURL := startServerWithAPI(t)
	file := filepath.Join(t.TempDir(), "contexts.yaml")
	t.Setenv("HOOKSHOT_CONTEXTS", file)
	if err := os.WriteFile(file, []byte("current: local\ncontexts:\n  - name: local\n    server: "+apiURL+"\n    token: "+testToken+"\n    account: default\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, context.Background(), "sources", "list"); code != 0 || !strings.Contains(out, "NAME") {
		t.Fatalf("with the current context: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, context.Background(), "sources", "list", "--context", "prod"); code != cli.ExitError || !strings.Contains(errOut, `no context "prod"`) {
		t.Fatalf("unknown context: %d %s", code, errOut)
	}
	// context set / use / list manage the file.
	if code, _, errOut := run(t, context.Background(), "context", "set", "broken", "--server", "http://127.0.0.1:1"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := run(t, context.Background(), "sources", "list"); code != cli.ExitError || !strings.Contains(errOut, "cannot reach the Hookshot API") {
		t.Fatalf("after switching to a broken context: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, context.Background(), "context", "use", "local"); code != 0 {
		t.Fatal(errOut)
	}
	if code, out, _ := run(t, context.Background(), "context", "list"); code != 0 || !strings.Contains(out, "*        local") && !strings.Contains(out, "*") {
		t.Fatalf("context list: %s", out)
	}
	if code, _, _ := run(t, context.Background(), "sources", "list"); code != 0 {
		t.Fatal("back on the local context")
	}
}

// The certificate commands write files the server and clients can use.
func TestCertsCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if code, out, errOut := run(t, ctx, "certs", "self-signed", "--dir", dir, "--host", "localhost,127.0.0.1"); code != 0 || !strings.Contains(out, filepath.Join(dir, "cert.pem")) {
		t.Fatalf("self-signed: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, ctx, "certs", "ca", "--dir", dir, "--cn", "clients"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := run(t, ctx, "certs", "client", "--ca-cert", filepath.Join(dir, "ca.pem"), "--ca-key", filepath.Join(dir, "ca-key.pem"), "--cn", "ci", "--dir", dir)
	if code != 0 {
		t.Fatal(errOut)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		path := strings.TrimSpace(line[strings.Index(line, ":")+1:])
		pair, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(pair), "-----BEGIN ") {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if code, _, errOut := run(t, ctx, "certs", "client", "--ca-cert", filepath.Join(dir, "missing.pem"), "--ca-key", filepath.Join(dir, "ca-key.pem"), "--cn", "ci", "--dir", dir); code != cli.ExitError || !strings.Contains(errOut, "missing.pem") {
		t.Fatalf("missing CA: %d %s", code, errOut)
	}
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// The list tables, golden: ids replaced by a placeholder of the same width
// (so alignment is still checked), rows in name order.
func TestListTablesGolden(t *testing.T) {
	_, apiURL := startServerWithAPI(t)
	dir := t.TempDir()
	api := []string{"--server", apiURL, "--token", testToken}
	ctx := context.Background()
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, ctx, append(args, api...)...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
		return out
	}
	inv := filepath.Join(dir, "inv.json")
	_ = os.WriteFile(inv, []byte(`[{"namespaceName":"prod","podName":"db-0","containerName":"mysql","containerImage":"mysql:8.4"},{"namespaceName":"prod","podName":"web-0","containerName":"web","containerImage":"nginx:1.27"}]`), 0o600)
	app := uuidPattern.FindString(mustRun("apps", "create", "--name", "payroll", "--containers", inv, "-o", "json"))
	mustRun("apps", "create", "--name", "billing")
	script := filepath.Join(dir, "s.sh")
	_ = os.WriteFile(script, []byte("exit 0\n"), 0o600)
	src := uuidPattern.FindString(mustRun("sources", "create", "--name", "quiesce", "--script", script, "--description", "quiesce the database", "-o", "json"))
	mustRun("hooks", "create", "--name", "freeze", "--app", app, "--action", "snapshot", "--stage", "pre", "--source", src, "--criteria", `containerImage=\bmysql\b`, "--failure-mode", "FAIL")
	mustRun("hooks", "create", "--name", "flush", "--app", app, "--action", "backup", "--stage", "pre", "--source", src)
	var all []string
	for _, kind := range []string{"apps", "sources", "hooks"} {
		out := uuidPattern.ReplaceAllString(mustRun(kind, "list"), "________-____-____-____-____________")
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		rows := lines[1:]
		sort.Slice(rows, func(i, j int) bool { return strings.Fields(rows[i])[1] < strings.Fields(rows[j])[1] })
		all = append(all, "$ hookshot "+kind+" list", lines[0])
		all = append(all, rows...)
	}
	golden(t, "lists.golden", strings.Join(all, "\n")+"\n")
}
