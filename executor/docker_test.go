//go:build unix

package executor

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/hookshot-dev/hookshot/deploy/dockertest"
)

// dockerApp is a compose-labelled project of containers for hooks to run in.
type dockerApp struct {
	cli     *client.Client
	project string
	runner  *ContainerRunner
	ex      *DockerExecer
}

func newDockerApp(t testing.TB) *dockerApp {
	t.Helper()
	cli := dockertest.Client(t)
	ex := NewDockerExecer(cli)
	r, err := NewContainerRunner(ex, ContainerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &dockerApp{cli: cli, project: "shop-" + hex.EncodeToString(b[:]), runner: r, ex: ex}
}

// start starts a container of the app for service and returns its target.
func (a *dockerApp) start(t testing.TB, image, service, tier string, opts ...dockertest.ContainerOption) Target {
	t.Helper()
	labels := dockertest.Labels(t)
	labels["com.docker.compose.project"] = a.project
	labels["com.docker.compose.service"] = service
	labels["app"], labels["tier"] = "shop", tier
	name := a.project + "-" + service + "-1"
	dockertest.StartContainer(t, a.cli, image, name, labels, opts...)
	return Target{Cluster: "docker", Namespace: a.project, Pod: name, Container: service}
}

// bareExec runs argv in a container with nothing but the moby client, and
// returns its stdout and exit code: the reference the runner's results are
// checked (and benchmarked) against.
func bareExec(ctx context.Context, cli *client.Client, name string, argv ...string) (string, int, error) {
	out, _, code, err := dockertest.Exec(ctx, cli, name, argv...)
	return out, code, err
}

// readFile reads a file out of a container through the engine's archive
// API, not through an exec.
func readFile(t *testing.T, cli *client.Client, name, path string) string {
	t.Helper()
	res, err := cli.CopyFromContainer(t.Context(), name, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		t.Fatalf("copy %s from %s: %v", path, name, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func randomName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func TestDockerContainerRunner(t *testing.T) {
	t.Parallel()
	image, noShell := dockertest.BuildTargetImage(t), dockertest.BuildNoShellImage(t)
	app := newDockerApp(t)
	db := app.start(t, image, "db", "data")
	web := app.start(t, noShell, "web", "front")
	cache := app.start(t, image, "cache", "cache", func(_ *container.Config, h *container.HostConfig) {
		h.ReadonlyRootfs, h.IpcMode = true, "none" // no writable /tmp, no /dev/shm
	})
	run := func(t *testing.T, ctx context.Context, spec Spec) Outcome {
		t.Helper()
		if spec.Timeout == 0 {
			spec.Timeout = testDeadline
		}
		return runIn(t, ctx, app.runner, spec)
	}

	t.Run("file, arguments and environment", func(t *testing.T) {
		t.Parallel()
		path := "/tmp/" + randomName("hook-out-")
		out := run(t, t.Context(), Spec{
			Target: db,
			Script: []byte(`#!/bin/sh
printf '%s|%s|%s|%s|%s\n' "$#" "$1" "$2" "$HOOKSHOT_RUN_ID" "$HOOKSHOT_CONTAINER_NAME" > "$3"
echo "wrote $3 as $(id -u) in $(pwd)"
`),
			Args: []string{"hard", "two words", path},
			Env:  map[string]string{"HOOKSHOT_RUN_ID": "run-1", "HOOKSHOT_CONTAINER_NAME": "db"},
		})
		if !out.Succeeded() || !regexp.MustCompile(`^wrote /tmp/hook-out-\w+ as 0 in /tmp/hookshot-[0-9a-f]{32}\n$`).MatchString(out.Stdout.Text) || out.Stderr.Text != "" {
			t.Fatalf("outcome = %+v", out)
		}
		if got := readFile(t, app.cli, db.Pod, path); got != "3|hard|two words|run-1|db\n" {
			t.Fatalf("file = %q", got)
		}
	})

	t.Run("exit codes", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			script string
			want   int
		}{{"exit 0", 0}, {"echo failing >&2; exit 3", 3}} {
			out := run(t, t.Context(), Spec{Target: db, Script: []byte(tt.script)})
			if out.ExitCode != tt.want || out.Succeeded() != (tt.want == 0) || out.Signal != "" || out.StartError != "" {
				t.Fatalf("%q: outcome = %+v", tt.script, out)
			}
			if tt.want == 3 && (out.Stderr.Text != "failing\n" || out.Reason() != "exit code 3") {
				t.Fatalf("stderr %q, reason %q", out.Stderr.Text, out.Reason())
			}
		}
	})

	t.Run("shebang", func(t *testing.T) {
		t.Parallel()
		out := run(t, t.Context(), Spec{Target: db, Script: []byte("#!/bin/busybox ash\necho \"ash $1\"\n"), Args: []string{"x"}})
		if !out.Succeeded() || out.Stdout.Text != "ash x\n" {
			t.Fatalf("outcome = %+v", out)
		}
		out = run(t, t.Context(), Spec{Target: db, Script: []byte("#!/usr/bin/python3\nprint(1)\n")})
		if out.StartError != `interpreter "/usr/bin/python3" not found in the container` {
			t.Fatalf("outcome = %+v", out)
		}
	})

	t.Run("timeout kills the process tree", func(t *testing.T) {
		t.Parallel()
		// Unique sleep durations tell this hook's processes from others'.
		out := run(t, t.Context(), Spec{
			Target:    db,
			Script:    []byte("sleep 1001 & (trap '' TERM; exec sleep 1002) & sleep 1003; wait"),
			Timeout:   time.Second,
			KillGrace: testDeadline, // SIGTERM must do
		})
		if !out.TimedOut || out.Signal != "terminated" || out.ExitCode != -1 || out.Duration > testDeadline/2 {
			t.Fatalf("outcome = %+v", out)
		}
		if ps := psOf(t, app.cli, db.Pod); regexp.MustCompile(`sleep 100[123]\b`).MatchString(ps) {
			t.Fatalf("processes left in the container:\n%s", ps)
		}
	})

	t.Run("kill after grace", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		out := run(t, ctx, Spec{
			Target:    db,
			Script:    []byte(`echo "$0"; trap 'echo TERM' TERM; sleep 2001 & while :; do sleep 1; done`),
			KillGrace: 500 * time.Millisecond,
		})
		if !out.Canceled || out.TimedOut || out.Signal != "killed" || !strings.HasSuffix(out.Stdout.Text, "TERM\n") {
			t.Fatalf("outcome = %+v", out)
		}
		if ps := psOf(t, app.cli, db.Pod); strings.Contains(ps, "sleep 2001") {
			t.Fatalf("processes left in the container:\n%s", ps)
		}
		// The bootstrap died of SIGKILL; the kill exec removed its directory.
		dir := strings.TrimSuffix(strings.SplitN(out.Stdout.Text, "\n", 2)[0], "/hook")
		if got, code, err := bareExec(t.Context(), app.cli, db.Pod, "ls", "-d", dir); err != nil || code == 0 {
			t.Fatalf("run directory %s left behind: %q %d %v", dir, got, code, err)
		}
	})

	t.Run("10 MB of output stays bounded", func(t *testing.T) {
		t.Parallel()
		const total = 10 << 20
		out := run(t, t.Context(), Spec{Target: db, Script: []byte("head -c 10485760 /dev/zero | tr '\\0' x")})
		checkLargeOutput(t, out, total, DefaultOutputLimit)
	})

	t.Run("no shell", func(t *testing.T) {
		t.Parallel()
		out := run(t, t.Context(), Spec{Target: web, Script: []byte("echo hi")})
		if want := "container " + web.Pod + "/web has no shell: /bin/sh not found"; out.StartError != want || out.Succeeded() {
			t.Fatalf("StartError = %q, want %q (%+v)", out.StartError, want, out)
		}
	})

	t.Run("no writable temporary directory", func(t *testing.T) {
		t.Parallel()
		out := run(t, t.Context(), Spec{Target: cache, Script: []byte("echo hi")})
		if !strings.HasPrefix(out.StartError, "no writable temporary directory in the container") || out.Stdout.Text != "" {
			t.Fatalf("outcome = %+v", out)
		}
	})

	t.Run("unknown container", func(t *testing.T) {
		t.Parallel()
		target := Target{Cluster: "docker", Namespace: app.project, Pod: app.project + "-nope-1", Container: "nope"}
		out := run(t, t.Context(), Spec{Target: target, Script: []byte("echo hi")})
		if want := "container " + target.Pod + "/nope not found"; out.StartError != want {
			t.Fatalf("StartError = %q, want %q", out.StartError, want)
		}
		if _, err := app.ex.Exec(t.Context(), target, []string{"true"}, nil, io.Discard, io.Discard); !errors.Is(err, ErrContainerNotFound) {
			t.Fatalf("Exec error = %v, want ErrContainerNotFound", err)
		}
		if running, err := app.ex.Running(t.Context(), target); running || err != nil {
			t.Fatalf("Running = %v, %v", running, err)
		}
	})

	t.Run("stopped mid-hook", func(t *testing.T) {
		t.Parallel()
		target := app.start(t, image, "worker", "back")
		wait := app.startSleepingHook(t, target, "echo started; ")
		zero := 0
		if _, err := app.cli.ContainerStop(t.Context(), target.Pod, client.ContainerStopOptions{Timeout: &zero}); err != nil {
			t.Fatal(err)
		}
		out := wait()
		want := "container " + target.Pod + "/worker stopped while the hook ran"
		if out.Aborted != want || out.Succeeded() || out.ExitCode != -1 || out.Stdout.Text != "started\n" {
			t.Fatalf("outcome = %+v, want Aborted %q", out, want)
		}
		out = run(t, t.Context(), Spec{Target: target, Script: []byte("echo hi")})
		if want := "container " + target.Pod + "/worker is not running"; out.StartError != want {
			t.Fatalf("StartError = %q, want %q", out.StartError, want)
		}
	})

	t.Run("removed mid-hook", func(t *testing.T) {
		t.Parallel()
		target := app.start(t, image, "queue", "back")
		wait := app.startSleepingHook(t, target, "")
		if _, err := app.cli.ContainerRemove(t.Context(), target.Pod, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		out := wait()
		if out.Succeeded() || !regexp.MustCompile(`^container \S+/queue (no longer exists|stopped while the hook ran)$`).MatchString(out.Aborted) {
			t.Fatalf("outcome = %+v", out)
		}
	})

	t.Run("running", func(t *testing.T) {
		t.Parallel()
		if running, err := app.ex.Running(t.Context(), db); !running || err != nil {
			t.Fatalf("Running = %v, %v", running, err)
		}
	})
}

// startSleepingHook runs prefix and then a sleep as a hook in target, and
// returns once the hook is sleeping; the function it returns waits for the
// outcome.
func (a *dockerApp) startSleepingHook(t *testing.T, target Target, prefix string) func() Outcome {
	t.Helper()
	wait := runInAsync(t, t.Context(), a.runner, Spec{Target: target, Script: []byte(prefix + ": > /tmp/started; sleep 100")})
	waitFor(t, "the hook to start", func() bool {
		_, code, err := bareExec(t.Context(), a.cli, target.Pod, "test", "-e", "/tmp/started")
		return err == nil && code == 0
	})
	return wait
}

// psOf lists the processes of a container.
func psOf(t *testing.T, cli *client.Client, name string) string {
	t.Helper()
	out, code, err := bareExec(t.Context(), cli, name, "ps", "-o", "pid,pgid,args")
	if err != nil || code != 0 {
		t.Fatalf("ps in %s: %q %d %v", name, out, code, err)
	}
	return out
}

// BenchmarkDockerHook compares a trivial hook through ContainerRunner and
// DockerExecer (bootstrap, script over stdin, capture) with a bare exec of
// the same script through the moby client.
func BenchmarkDockerHook(b *testing.B) {
	app := newDockerApp(b)
	target := app.start(b, dockertest.BuildTargetImage(b), "db", "data")
	ctx := context.Background()
	var hook, bare time.Duration
	for b.Loop() {
		t0 := time.Now()
		out, err := app.runner.Run(ctx, Spec{Target: target, Script: []byte("echo ok")})
		t1 := time.Now()
		got, code, berr := bareExec(ctx, app.cli, target.Pod, "sh", "-c", "echo ok")
		t2 := time.Now()
		if err != nil || !out.Succeeded() || out.Stdout.Text != "ok\n" || berr != nil || code != 0 || got != "ok\n" {
			b.Fatalf("runner: %+v %v; bare: %q %d %v", out, err, got, code, berr)
		}
		hook += t1.Sub(t0)
		bare += t2.Sub(t1)
	}
	b.ReportMetric(float64(hook.Microseconds())/float64(b.N), "µs/hook")
	b.ReportMetric(float64(bare.Microseconds())/float64(b.N), "µs/bare-exec")
	b.ReportMetric(float64(hook)/float64(bare), "hook/bare")
}

// TestDockerExecerUnreachable: an engine that does not answer is the
// runner's trouble, an error of Run, not a hook outcome.
func TestDockerExecerUnreachable(t *testing.T) {
	t.Parallel()
	cli, err := client.New(client.WithHost("unix:///nonexistent/docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ex := NewDockerExecer(cli)
	r, err := NewContainerRunner(ex, ContainerConfig{KillTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Cluster: "docker", Namespace: "shop", Pod: "shop-db-1", Container: "db"}
	out, err := r.Run(t.Context(), Spec{Target: target, Script: []byte("echo hi")})
	if err == nil || !strings.Contains(err.Error(), "shop-db-1") || errors.Is(err, ErrContainerNotFound) || out.Succeeded() {
		t.Fatalf("Run = %+v, %v; want an error naming the container", out, err)
	}
	if _, err := ex.Running(t.Context(), target); err == nil {
		t.Fatal("Running on an unreachable engine: no error")
	}
}
