// Package dockertest provides helpers for tests that run Hookshot in Docker
// containers through testcontainers-go.
//
// It is an ordinary (non-test) package so container smoke, fault and cluster
// tests in any package can share it. The rules it enforces:
//
//   - Nothing is ever pulled. The Hookshot image is built locally FROM scratch
//     (deploy/Dockerfile) around a static binary compiled by the test itself, and
//     the Dockerfile is rejected if it names any other base image.
//   - Ryuk, the testcontainers reaper, is disabled (its image would have to be
//     pulled). Tests therefore remove everything they create themselves:
//     containers with [testcontainers.CleanupContainer] /
//     [testcontainers.TerminateContainer], and the image with [Cleanup].
//   - Without Docker the tests skip, unless HOOKSHOT_REQUIRE_DOCKER=1 (CI), in
//     which case they fail.
//
// Typical use:
//
//	func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		dockertest.RequireDocker(t)
//		image := dockertest.BuildHookshotImage(t)
//		ctr, err := testcontainers.Run(t.Context(), image,
//			testcontainers.WithLabels(dockertest.Labels(t)), ...)
//		testcontainers.CleanupContainer(t, ctr)
//		...
//	}
package dockertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

const (
	// EnvRequireDocker turns "Docker unavailable" from a skip into a failure
	// when set to "1". CI sets it so container tests cannot silently vanish.
	EnvRequireDocker = "HOOKSHOT_REQUIRE_DOCKER"

	// EnvRyukDisabled is the testcontainers-go switch for the reaper container.
	// testcontainers-go only honours the exact value "true", and reads it once
	// per process. .ci/run exports it; RequireDocker and Main also set it when it
	// is unset, because the reaper image cannot be pulled here.
	EnvRyukDisabled = "TESTCONTAINERS_RYUK_DISABLED"

	// LabelManaged ("true") is put on every image built by this package and, by
	// inheritance, on every container started from it.
	LabelManaged = "dev.hookshot.dockertest"
	// LabelRun identifies the test process (one random ID per process) that
	// created an image, container or network. [Cleanup] sweeps by it.
	LabelRun = "dev.hookshot.dockertest.run"
	// LabelTest is set by [Labels] to a value unique to one test invocation.
	LabelTest = "dev.hookshot.dockertest.test"

	// ImageRepo is the repository of the images built by BuildHookshotImage.
	// The explicit "localhost/" registry means the name can never be rewritten
	// by testcontainers' Docker Hub prefix substitutor
	// (TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX) into something that gets pulled.
	ImageRepo = "localhost/hookshot-dockertest"

	// Version is stamped into the test binary (cli.Version) so tests can tell
	// the freshly built binary from any other hookshot build.
	Version = "v0.0.0-dockertest"

	versionVar = "github.com/hookshot-dev/hookshot/cmd/hookshot/cli.Version"

	probeTimeout   = 20 * time.Second
	buildTimeout   = 5 * time.Minute
	cleanupTimeout = time.Minute
)

// runID is unique per test process; it tags images and labels resources.
var runID = func() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}()

// RunID returns the identifier of this test process, the value of [LabelRun]
// on everything it creates.
func RunID() string { return runID }

// ---------------------------------------------------------------------------
// Docker availability

type probeResult struct {
	desc string
	err  error
}

var probe = sync.OnceValue(func() probeResult {
	desc, err := probeDocker()
	return probeResult{desc, err}
})

// RequireDocker skips t when no usable Docker engine is reachable, or fails it
// when HOOKSHOT_REQUIRE_DOCKER=1. It also makes sure Ryuk is disabled before any
// testcontainers-go call. The probe runs once per process.
//
// An explicitly set DOCKER_HOST is honoured strictly: if it does not answer,
// Docker counts as unavailable (testcontainers-go itself would quietly fall back
// to /var/run/docker.sock).
func RequireDocker(t testing.TB) {
	t.Helper()
	disableRyuk()
	p := probe()
	if p.err != nil {
		if os.Getenv(EnvRequireDocker) == "1" {
			t.Fatalf("Docker is required (%s=1) but not usable: %v", EnvRequireDocker, p.err)
		}
		t.Skipf("Docker not usable, skipping (set %s=1 to fail instead): %v", EnvRequireDocker, p.err)
	}
	if !testcontainers.ReadConfig().RyukDisabled {
		if v, ok := os.LookupEnv(EnvRyukDisabled); ok && v != "true" {
			t.Logf("warning: %s=%q: testcontainers-go will try to start (and pull) the Ryuk reaper", EnvRyukDisabled, v)
		} else {
			t.Fatalf("testcontainers-go read its configuration before %s=true was set; "+
				"call dockertest.Main from TestMain or export %s=true", EnvRyukDisabled, EnvRyukDisabled)
		}
	}
	if probeLogged.CompareAndSwap(false, true) {
		t.Logf("dockertest: %s", p.desc)
	}
}

var probeLogged atomic.Bool

// disableRyuk sets TESTCONTAINERS_RYUK_DISABLED=true unless the caller chose a
// value explicitly.
func disableRyuk() {
	if _, ok := os.LookupEnv(EnvRyukDisabled); !ok {
		_ = os.Setenv(EnvRyukDisabled, "true")
	}
}

func probeDocker() (desc string, err error) {
	defer func() {
		// Host discovery in testcontainers-go can panic when no socket exists.
		if r := recover(); r != nil {
			err = fmt.Errorf("docker host discovery panicked: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()

	if host := os.Getenv("DOCKER_HOST"); host != "" {
		cli, err := client.New(client.FromEnv)
		if err != nil {
			return "", fmt.Errorf("DOCKER_HOST=%s: %w", host, err)
		}
		_, err = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
		_ = cli.Close()
		if err != nil {
			return "", fmt.Errorf("DOCKER_HOST=%s: %w", host, err)
		}
	}

	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("docker version: %w", err)
	}
	// The moby client negotiates down to the daemon's API version on its first
	// request, but refuses daemons older than client.MinAPIVersion.
	if versions.LessThan(v.APIVersion, client.MinAPIVersion) {
		return "", fmt.Errorf("docker engine %s speaks API %s; testcontainers-go needs >= %s",
			v.Version, v.APIVersion, client.MinAPIVersion)
	}
	if v.Os != "linux" {
		return "", fmt.Errorf("docker engine runs %s containers; the hookshot image is linux-only", v.Os)
	}
	serverArch = v.Arch
	return fmt.Sprintf("Docker engine %s (API %s, client negotiated %s) %s/%s at %s",
		v.Version, v.APIVersion, cli.ClientVersion(), v.Os, v.Arch, cli.DaemonHost()), nil
}

// serverArch is the daemon's GOARCH, set by a successful probe.
var serverArch string

// ---------------------------------------------------------------------------
// Image

var img struct {
	mu      sync.Mutex
	tag     string // built image, "" if none
	refs    int    // tests currently using tag
	held    bool   // Main keeps the image until Cleanup
	touched bool   // Docker resources may exist: Cleanup must sweep
}

// BuildHookshotImage returns the tag of a local image built from
// deploy/Dockerfile around a freshly compiled static hookshot binary
// (CGO_ENABLED=0, -trimpath, GOOS=linux, GOARCH of the daemon, cli.Version set
// to [Version]). It calls RequireDocker first.
//
// The image is built at most once while in use and shared by every test and
// container of the process. Each call takes a reference that t.Cleanup
// releases; when TestMain uses [Main] (or [Hold]) the image survives until
// [Cleanup], otherwise it is removed as soon as the last test using it ends.
//
// Containers started from the tag do not remove it when terminated, since the
// image was not built as part of their request.
func BuildHookshotImage(t testing.TB) string {
	t.Helper()
	RequireDocker(t)

	img.mu.Lock()
	defer img.mu.Unlock()
	if img.tag == "" {
		img.touched = true
		start := time.Now()
		tag, err := buildImage(t)
		if err != nil {
			t.Fatalf("dockertest: build hookshot image: %v", err)
		}
		img.tag = tag
		t.Logf("dockertest: built %s in %s", tag, time.Since(start).Round(time.Millisecond))
	}
	img.refs++
	tag := img.tag
	t.Cleanup(func() {
		img.mu.Lock()
		defer img.mu.Unlock()
		img.refs--
		if img.refs > 0 || img.held || img.tag != tag {
			return
		}
		img.tag = ""
		if err := removeImage(tag); err != nil {
			t.Errorf("dockertest: %v", err)
		}
	})
	return tag
}

// Hold keeps the image built by BuildHookshotImage alive across tests until
// [Cleanup] runs. [Main] calls it.
func Hold() {
	img.mu.Lock()
	img.held = true
	img.mu.Unlock()
}

// Cleanup removes every container and network labelled with this process's
// [RunID] (reporting each as a leak), then the image built by
// BuildHookshotImage, then any other image with the run label (also a leak).
// It never talks to Docker if neither BuildHookshotImage nor [Labels] was
// called. Call it at the end of TestMain; [Main] does.
func Cleanup() error {
	img.mu.Lock()
	defer img.mu.Unlock()
	img.held = false
	if !img.touched {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	// Containers first: an image still used by a container is only untagged.
	errs := []error{sweepContainers(ctx, cli), sweepNetworks(ctx, cli)}
	if img.tag != "" {
		errs = append(errs, removeImageWith(ctx, cli, img.tag))
		img.tag = ""
	}
	errs = append(errs, releaseBuilt(ctx, cli), sweepImages(ctx, cli))
	return errors.Join(errs...)
}

// Main runs the tests of a package with the Docker rules applied: it disables
// Ryuk before any testcontainers-go call, keeps the Hookshot image for the whole
// process and calls [Cleanup] at the end. A cleanup error turns a passing run
// into a failing one. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }
func Main(m *testing.M) int {
	disableRyuk()
	Hold()
	code := m.Run()
	if err := Cleanup(); err != nil {
		fmt.Fprintf(os.Stderr, "dockertest: cleanup: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Labels returns labels to put on containers (and networks) created by t:
// [LabelManaged], [LabelRun] and a [LabelTest] value unique to this call, so
// the test can list exactly its own resources. Call it once per test.
func Labels(t testing.TB) map[string]string {
	t.Helper()
	img.mu.Lock()
	img.touched = true
	img.mu.Unlock()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return map[string]string{
		LabelManaged: "true",
		LabelRun:     runID,
		LabelTest:    t.Name() + "#" + hex.EncodeToString(b[:]),
	}
}

func buildImage(t testing.TB) (string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()

	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "deploy", "Dockerfile"))
	if err != nil {
		return "", err
	}
	if err := CheckNoPull(dockerfile); err != nil {
		return "", fmt.Errorf("deploy/Dockerfile: %w", err)
	}

	buildCtx := t.TempDir()
	if err := os.WriteFile(filepath.Join(buildCtx, "Dockerfile"), dockerfile, 0o644); err != nil {
		return "", err
	}
	arch := serverArch
	if arch == "" {
		arch = "amd64"
	}
	goBuild := exec.CommandContext(ctx, "go", "build",
		"-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X "+versionVar+"="+Version,
		"-o", filepath.Join(buildCtx, "hookshot"),
		"./cmd/hookshot")
	goBuild.Dir = root
	goBuild.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := goBuild.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/hookshot: %w\n%s", err, out)
	}

	provider, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.TestLogger(t)))
	if err != nil {
		return "", fmt.Errorf("docker provider: %w", err)
	}
	defer provider.Close()

	var buildLog bytes.Buffer
	req := &testcontainers.ContainerRequest{
		FromDockerfile: testcontainers.FromDockerfile{
			Context:        buildCtx,
			Dockerfile:     "Dockerfile",
			Repo:           ImageRepo,
			Tag:            runID,
			BuildLogWriter: &buildLog,
			// We own the image's lifetime (removeImage); this also keeps
			// testcontainers' session labels off it.
			KeepImage: true,
			BuildOptionsModifier: func(o *client.ImageBuildOptions) {
				o.PullParent = false // never contact a registry
				o.Remove = true      // no intermediate containers left behind
				o.ForceRemove = true
				o.Labels = map[string]string{LabelManaged: "true", LabelRun: runID}
			},
		},
	}
	tag, err := provider.BuildImage(ctx, req)
	if err != nil {
		return "", fmt.Errorf("docker build: %w\n%s", err, buildLog.String())
	}
	return tag, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the hookshot module (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}

// CheckNoPull reports an error if building dockerfile could make the builder
// pull an image: a "# syntax=" directive (BuildKit frontend image), a FROM
// other than scratch or an earlier stage, or COPY --from an image.
func CheckNoPull(dockerfile []byte) error {
	stages := map[string]bool{}
	for n, raw := range strings.Split(string(dockerfile), "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") {
			d := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(line, "#"), " ", ""))
			if strings.HasPrefix(d, "syntax=") {
				return fmt.Errorf("line %d: %q makes BuildKit pull a frontend image", n+1, line)
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			args := f[1:]
			for len(args) > 0 && strings.HasPrefix(args[0], "--") {
				args = args[1:]
			}
			if len(args) == 0 {
				return fmt.Errorf("line %d: malformed FROM", n+1)
			}
			base := strings.ToLower(args[0])
			if base != "scratch" && !stages[base] {
				return fmt.Errorf("line %d: FROM %s would be pulled; only FROM scratch is allowed", n+1, args[0])
			}
			if len(args) >= 3 && strings.EqualFold(args[1], "AS") {
				stages[strings.ToLower(args[2])] = true
			}
		case "COPY", "ADD":
			for _, a := range f[1:] {
				from, ok := strings.CutPrefix(a, "--from=")
				if !ok {
					continue
				}
				from = strings.ToLower(from)
				if _, err := strconv.Atoi(from); err != nil && !stages[from] {
					return fmt.Errorf("line %d: %s --from=%s would pull an image", n+1, f[0], from)
				}
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Removal

func newClient(ctx context.Context) (*testcontainers.DockerClient, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return cli, nil
}

func removeImage(tag string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return removeImageWith(ctx, cli, tag)
}

func removeImageWith(ctx context.Context, cli *testcontainers.DockerClient, tag string) error {
	// PruneChildren also deletes the untagged parent layers the classic
	// builder leaves behind, so `docker images -a` ends up clean.
	_, err := cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove image %s: %w", tag, err)
	}
	return nil
}

// runFilter selects resources labelled with this process's RunID.
func runFilter() client.Filters { return make(client.Filters).Add("label", LabelRun+"="+runID) }

// The sweep functions remove, and report as errors, leftovers of this run.

func sweepContainers(ctx context.Context, cli *testcontainers.DockerClient) error {
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: runFilter()})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, c := range res.Items {
		what := fmt.Sprintf("container %s %v", c.ID[:12], c.Names)
		if test := c.Labels[LabelTest]; test != "" {
			what += " of test " + test
		}
		errs = append(errs, errors.New("leaked "+what))
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove %s: %w", what, err))
		}
	}
	return errors.Join(errs...)
}

func sweepNetworks(ctx context.Context, cli *testcontainers.DockerClient) error {
	res, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: runFilter()})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	var errs []error
	for _, n := range res.Items {
		errs = append(errs, fmt.Errorf("leaked network %s", n.Name))
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

func sweepImages(ctx context.Context, cli *testcontainers.DockerClient) error {
	res, err := cli.ImageList(ctx, client.ImageListOptions{All: true, Filters: runFilter()})
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	var errs []error
	for _, i := range res.Items {
		errs = append(errs, fmt.Errorf("leaked image %s %v", i.ID, i.RepoTags))
		if err := removeImageWith(ctx, cli, i.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Exec runs argv in container name through the Engine API alone (what
// `docker exec` does, with nothing of Hookshot's in between) and returns
// its stdout, stderr and exit code; err is only the Engine API's. It is the
// reference that tests check (and benchmark) the runners against.
func Exec(ctx context.Context, cli *client.Client, name string, argv ...string) (stdout, stderr string, code int, err error) {
	created, err := cli.ExecCreate(ctx, name, client.ExecCreateOptions{Cmd: argv, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", "", -1, err
	}
	att, err := cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return "", "", -1, err
	}
	defer att.Close()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
		return "", "", -1, err
	}
	for {
		res, err := cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return "", "", -1, err
		}
		if !res.Running {
			return out.String(), errOut.String(), res.ExitCode, nil
		}
		time.Sleep(time.Millisecond)
	}
}
