package deploy_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/hookshot-dev/hookshot/deploy/dockertest"
)

// TestMain disables Ryuk before any testcontainers-go call (.ci/run exports
// TESTCONTAINERS_RYUK_DISABLED=true as well), keeps the built image for the
// whole package and removes it, plus anything leaked, when the tests are done.
func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

// TestContainerVersion is the container smoke test: the image built from
// deploy/Dockerfile runs `hookshot version` as a non-root user and exits 0.
func TestContainerVersion(t *testing.T) {
	dockertest.RequireDocker(t)
	start := time.Now()
	image := dockertest.BuildHookshotImage(t)
	t.Logf("image %s ready after %s", image, time.Since(start).Round(time.Millisecond))

	ctx := t.Context()
	labels := dockertest.Labels(t)
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	// Registered before the container's cleanup, so it runs after it.
	t.Cleanup(func() { assertNoContainers(t, cli, labels) })

	runStart := time.Now()
	ctr, err := testcontainers.Run(ctx, image,
		testcontainers.WithLogger(tclog.TestLogger(t)),
		testcontainers.WithCmd("version"),
		testcontainers.WithLabels(labels),
		testcontainers.WithWaitStrategyAndDeadline(time.Minute,
			wait.ForExit().WithExitTimeout(30*time.Second)),
	)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatalf("run container: %v", err)
	}
	t.Logf("container ran to exit in %s", time.Since(runStart).Round(time.Millisecond))

	state, err := ctr.State(ctx)
	if err != nil {
		t.Fatalf("container state: %v", err)
	}
	if state.Running || state.ExitCode != 0 || state.OOMKilled {
		t.Errorf("container state = %s, exit code %d (running=%v, oom=%v), want exited with 0",
			state.Status, state.ExitCode, state.Running, state.OOMKilled)
	}

	rc, err := ctr.Logs(ctx)
	if err != nil {
		t.Fatalf("container logs: %v", err)
	}
	raw, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil {
		t.Fatalf("read container logs: %v", err)
	}
	logs := string(raw)
	t.Logf("container output: %q", logs)
	if !strings.Contains(logs, "hookshot ") {
		t.Errorf("logs %q do not contain %q", logs, "hookshot ")
	}
	if !strings.Contains(logs, runtime.Version()) {
		t.Errorf("logs %q do not contain the Go version %q", logs, runtime.Version())
	}
	if want := fmt.Sprintf("hookshot %s (%s)\n", dockertest.Version, runtime.Version()); logs != want {
		t.Errorf("logs = %q, want exactly %q (binary built by dockertest)", logs, want)
	}

	inspect, err := ctr.Inspect(ctx)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	if u := inspect.Config.User; u == "" || strings.HasPrefix(u, "0:") || u == "0" || u == "root" {
		t.Errorf("container user = %q, want a non-root numeric user", u)
	}
	if ep := inspect.Config.Entrypoint; len(ep) != 1 || ep[0] != "/hookshot" {
		t.Errorf("entrypoint = %q, want [/hookshot]", ep)
	}

	if err := testcontainers.TerminateContainer(ctr); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	assertNoContainers(t, cli, labels)
}

// TestImageIsShared checks that the image is built once per process and reused.
func TestImageIsShared(t *testing.T) {
	dockertest.RequireDocker(t)
	a := dockertest.BuildHookshotImage(t)
	b := dockertest.BuildHookshotImage(t)
	if a != b {
		t.Fatalf("BuildHookshotImage returned %q then %q, want the cached image", a, b)
	}
	if !strings.HasPrefix(a, dockertest.ImageRepo+":") {
		t.Errorf("image %q is not in %s", a, dockertest.ImageRepo)
	}
}

// assertNoContainers fails t if any container, running or not, carries the
// test's unique label.
func assertNoContainers(t *testing.T, cli *testcontainers.DockerClient, labels map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := dockertest.LabelTest
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", key+"="+labels[key]),
	})
	if err != nil {
		t.Errorf("list containers: %v", err)
		return
	}
	for _, c := range res.Items {
		t.Errorf("container %s (%v, state %s) with %s=%q still exists", c.ID[:12], c.Names, c.State, key, labels[key])
	}
}
