package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hookshot-dev/hookshot/deploy/dockertest"
)

// TestCompose brings deploy/compose.yaml up the way deploy/README.md does
// (binaries into the build contexts, `docker-compose up -d --build`, every
// image built locally FROM scratch) and drives it through the API: an app
// 2.x on the cluster "compose" (namespace = the compose project, selector
// tier=db), a hook source and a snapshot/pre hook, a snapshot. The hook
// must have run inside the db container, and not in web. Everything is
// removed afterwards (`down -v --rmi local`, then a sweep by label).
func TestCompose(t *testing.T) {
	dockertest.RequireDocker(t)
	composeBin, err := exec.LookPath("docker-compose")
	if err != nil {
		requireTool(t, "docker-compose (apt-get install docker-compose)", err)
	}
	busybox, err := dockertest.Busybox()
	if err != nil {
		requireTool(t, "a static busybox (apt-get install busybox-static)", err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	dir := prepareCompose(t, ctx, busybox)
	t.Logf("build contexts ready in %s", time.Since(start).Round(time.Millisecond))

	labels := dockertest.Labels(t)
	project := "hscompose" + strings.ReplaceAll(dockertest.RunID(), "-", "")
	secret := randomHex(t, 16)
	c := &composeRun{
		t: t, bin: composeBin, project: project,
		files: []string{filepath.Join(dir, "compose.yaml"), writeLabelsOverride(t, dir, labels)},
		env: append(os.Environ(),
			"HOOKSHOT_API_PORT=",                              // any free port on 127.0.0.1
			"HOOKSHOT_API_TOKENS=default:admin:"+secret,       // instead of the bootstrap token
			"COMPOSE_DOCKER_CLI_BUILD=0", "DOCKER_BUILDKIT=0", // docker-py's classic builder: nothing to pull
		),
	}
	t.Cleanup(func() { c.down(labels) })

	// `up -d --build`, with the images built in parallel: about half the time.
	upStart := time.Now()
	c.run(ctx, "build", "--parallel")
	t.Logf("docker-compose build --parallel in %s", time.Since(upStart).Round(time.Millisecond))
	c.run(ctx, "up", "-d")
	t.Logf("docker-compose build and up -d in %s", time.Since(upStart).Round(time.Millisecond))

	api := &apiClient{t: t, base: "http://" + strings.TrimSpace(c.run(ctx, "port", "server", "8080")), token: secret}
	api.waitReady(ctx)
	// The worker's ops endpoint, seen from inside the project's network
	// (busybox wget in the db container).
	waitFor(t, ctx, "worker /readyz", func() error {
		out, err := c.output(ctx, "exec", "-T", "db", "wget", "-q", "-O", "-", "http://worker:9090/readyz")
		if err != nil || !strings.Contains(out, `"status":"ready"`) {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	t.Logf("server and worker ready %s after start", time.Since(start).Round(time.Millisecond))

	const acct = "/accounts/default"
	clusters := api.do(ctx, http.MethodGet, acct+"/topology/v1/clusters", nil, http.StatusOK)
	if !strings.Contains(clusters.raw, `"name":"compose"`) {
		t.Fatalf("cluster compose is not listed: %s", clusters.raw)
	}

	app := api.do(ctx, http.MethodPost, acct+"/k8s/v2/apps", map[string]any{
		"type": "application/astra-app", "version": "2.1", "name": "demo", "clusterID": "compose",
		"namespaceScopedResources": []map[string]any{{"namespace": project, "labelSelectors": []string{"tier=db"}}},
	}, http.StatusCreated)
	appID := app.str(t, "id")
	waitFor(t, ctx, "app ready", func() error {
		if s := api.do(ctx, http.MethodGet, acct+"/k8s/v2/apps/"+appID, nil, http.StatusOK).body["state"]; s != "ready" {
			return fmt.Errorf("state %v", s)
		}
		return nil
	})

	script := "#!/bin/sh\necho \"$HOOKSHOT_ACTION/$HOOKSHOT_STAGE $(hostname) $1\" > /tmp/hookshot-ran\necho ran\n"
	src := api.do(ctx, http.MethodPost, acct+"/core/v1/hookSources", map[string]any{
		"type": "application/astra-hookSource", "version": "1.0", "name": "mark", "sourceType": "script",
		"source": base64.StdEncoding.EncodeToString([]byte(script)),
	}, http.StatusCreated)
	hook := api.do(ctx, http.MethodPost, acct+"/k8s/v1/apps/"+appID+"/executionHooks", map[string]any{
		"type": "application/astra-executionHook", "version": "1.3", "name": "mark", "hookType": "custom",
		"action": "snapshot", "stage": "pre", "hookSourceID": src.str(t, "id"), "arguments": []string{"frozen"},
		"matchingCriteria": []any{},
	}, http.StatusCreated)
	if mc, _ := hook.body["matchingContainers"].([]any); len(mc) != 1 ||
		mc[0].(map[string]any)["containerName"] != "db" || mc[0].(map[string]any)["namespaceName"] != project {
		t.Fatalf("matchingContainers: want db of %s alone: %s", project, hook.raw)
	}

	snapStart := time.Now()
	snap := api.do(ctx, http.MethodPost, acct+"/k8s/v1/apps/"+appID+"/appSnaps",
		map[string]any{"type": "application/astra-appSnap", "version": "1.3"}, http.StatusCreated)
	var done response
	waitFor(t, ctx, "snapshot finished", func() error {
		done = api.do(ctx, http.MethodGet, snap.header.Get("Location"), nil, http.StatusOK)
		if s := done.body["state"]; s != "completed" && s != "failed" {
			return fmt.Errorf("state %v", s)
		}
		return nil
	})
	t.Logf("snapshot %v in %s", done.body["state"], time.Since(snapStart).Round(time.Millisecond))
	if done.body["state"] != "completed" || done.body["hookState"] != "success" {
		t.Fatalf("snapshot: %s", done.raw)
	}

	// Inside db: the file the hook wrote, naming db's own hostname.
	hostname := strings.TrimSpace(c.run(ctx, "exec", "-T", "db", "hostname"))
	if got, want := c.run(ctx, "exec", "-T", "db", "cat", "/tmp/hookshot-ran"), "snapshot/pre "+hostname+" frozen\n"; got != want {
		t.Errorf("/tmp/hookshot-ran in db = %q, want %q", got, want)
	}
	// Not in web (selector tier=db), not in the worker (it has no shell).
	if out, err := c.output(ctx, "exec", "-T", "web", "test", "!", "-e", "/tmp/hookshot-ran"); err != nil {
		t.Errorf("the hook ran in web too: %v %s", err, out)
	}
	run := api.do(ctx, http.MethodGet, acct+"/hookshot/v1/runs/"+snap.str(t, "runID"), nil, http.StatusOK)
	for _, want := range []string{`"cluster":"compose"`, `"containerName":"db"`, `"status":"succeeded"`, `"text":"ran\n"`} {
		if !strings.Contains(run.raw, want) {
			t.Errorf("run record lacks %s: %s", want, run.raw)
		}
	}
	t.Logf("whole stack test body in %s", time.Since(start).Round(time.Millisecond))
}

// requireTool skips, or fails under HOOKSHOT_REQUIRE_DOCKER=1, when a tool
// the Docker tests need is missing.
func requireTool(t *testing.T, what string, err error) {
	t.Helper()
	if os.Getenv(dockertest.EnvRequireDocker) == "1" {
		t.Fatalf("%s is required (%s=1): %v", what, dockertest.EnvRequireDocker, err)
	}
	t.Skipf("%s not available: %v", what, err)
}

// prepareCompose copies deploy/compose.yaml, deploy/Dockerfile and
// deploy/compose/ into a temporary directory of the same layout and puts
// the binaries into the build contexts as deploy/README.md does, so
// concurrent runs and the working tree do not meet.
func prepareCompose(t *testing.T, ctx context.Context, busybox string) string {
	t.Helper()
	dir := t.TempDir()
	copyFile := func(src, dst string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if fi, err := os.Stat(src); err == nil && fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		if err := os.WriteFile(dst, raw, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"compose.yaml", "Dockerfile", ".dockerignore"} {
		copyFile(f, filepath.Join(dir, f))
	}
	err := filepath.WalkDir("compose", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Base(p) {
		case ".gitignore", "nats-server", "busybox": // binaries of a hand-made build
			return nil
		}
		copyFile(p, filepath.Join(dir, p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Dockerfile", "compose/nats/Dockerfile", "compose/busybox/Dockerfile"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := dockertest.CheckNoPull(raw); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}

	goBuild := func(out, pkg string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, pkg)
		cmd.Dir = ".." // the module root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	goBuild(filepath.Join(dir, "hookshot"), "./cmd/hookshot")
	goBuild(filepath.Join(dir, "compose", "nats", "nats-server"), "github.com/nats-io/nats-server/v2")
	copyFile(busybox, filepath.Join(dir, "compose", "busybox", "busybox"))
	return dir
}

// writeLabelsOverride writes a second compose file that puts the test's
// dockertest labels on every container, built image, volume and network of
// compose.yaml, so leftovers can be found and dockertest.Main reports them.
func writeLabelsOverride(t *testing.T, dir string, labels map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var base struct {
		Version  string                    `yaml:"version"`
		Services map[string]map[string]any `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &base); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	over := map[string]any{"version": base.Version}
	services := map[string]any{}
	for name, svc := range base.Services {
		s := map[string]any{"labels": labels}
		if _, ok := svc["build"]; ok {
			s["build"] = map[string]any{"labels": labels}
		}
		services[name] = s
	}
	volumes := map[string]any{}
	for name := range base.Volumes {
		volumes[name] = map[string]any{"labels": labels}
	}
	over["services"] = services
	over["volumes"] = volumes
	over["networks"] = map[string]any{"default": map[string]any{"labels": labels}}
	out, err := yaml.Marshal(over)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "compose.labels.yaml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// composeRun runs docker-compose on one project.
type composeRun struct {
	t       *testing.T
	bin     string
	project string
	files   []string
	env     []string
}

func (c *composeRun) cmd(ctx context.Context, args ...string) *exec.Cmd {
	full := []string{"--no-ansi", "-p", c.project}
	for _, f := range c.files {
		full = append(full, "-f", f)
	}
	cmd := exec.CommandContext(ctx, c.bin, append(full, args...)...)
	cmd.Env = c.env
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// output runs docker-compose and returns its stdout, and stderr on error.
func (c *composeRun) output(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := c.cmd(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("docker-compose %s: %w", strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}

// run is output that fails the test on error.
func (c *composeRun) run(ctx context.Context, args ...string) string {
	c.t.Helper()
	out, err := c.output(ctx, args...)
	if err != nil {
		c.t.Fatalf("%v\n%s", err, tail(out, 4000))
	}
	return out
}

// down removes the project: containers, network, volumes and the images it
// built; then anything else carrying the test's label.
func (c *composeRun) down(labels map[string]string) {
	t := c.t
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if t.Failed() {
		logs, _ := c.output(ctx, "logs", "--no-color", "--tail", "60")
		t.Logf("docker-compose logs:\n%s", logs)
	}
	start := time.Now()
	if out, err := c.output(ctx, "down", "-v", "--rmi", "local", "--remove-orphans", "-t", "5"); err != nil {
		t.Errorf("%v\n%s", err, tail(out, 4000))
	}
	t.Logf("docker-compose down in %s", time.Since(start).Round(time.Millisecond))
	filter := "label=" + dockertest.LabelTest + "=" + labels[dockertest.LabelTest]
	for _, kind := range []struct{ list, rm []string }{
		{[]string{"ps", "-aq"}, []string{"rm", "-f", "-v"}},
		{[]string{"network", "ls", "-q"}, []string{"network", "rm"}},
		{[]string{"volume", "ls", "-q"}, []string{"volume", "rm", "-f"}},
		{[]string{"images", "-aq"}, []string{"rmi", "-f"}},
	} {
		out, err := exec.CommandContext(ctx, "docker", append(kind.list, "--filter", filter)...).Output()
		if err != nil {
			t.Errorf("docker %s: %v", strings.Join(kind.list, " "), err)
			continue
		}
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			t.Errorf("left after docker-compose down (%s): %v", strings.Join(kind.list, " "), ids)
			if b, err := exec.CommandContext(ctx, "docker", append(kind.rm, ids...)...).CombinedOutput(); err != nil {
				t.Errorf("docker %s: %v %s", strings.Join(kind.rm, " "), err, b)
			}
		}
	}
}

// apiClient calls the server's API with a bearer token.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r response) str(t *testing.T, key string) string {
	t.Helper()
	s, ok := r.body[key].(string)
	if !ok || s == "" {
		t.Fatalf("no %s in %s", key, r.raw)
	}
	return s
}

func (a *apiClient) do(ctx context.Context, method, path string, body any, want int) response {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	if res.StatusCode != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	return r
}

// waitReady waits for the server's /readyz (no token needed).
func (a *apiClient) waitReady(ctx context.Context) {
	a.t.Helper()
	waitFor(a.t, ctx, "server /readyz", func() error {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, a.base+"/readyz", nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%d %s", res.StatusCode, b)
		}
		return nil
	})
}

// waitFor polls cond until it returns nil, failing t after a minute.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v (last: %v)", what, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
