package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Target images: containers for hooks to run in. Like the Hookshot image
// they are built FROM scratch, here around the static busybox of Debian's
// busybox-static package, so nothing is pulled.
const (
	// TargetRepo is the repository of BuildTargetImage's images.
	TargetRepo = "localhost/hookshot-dockertest-target"
	// NoShellRepo is the repository of BuildNoShellImage's images.
	NoShellRepo = "localhost/hookshot-dockertest-noshell"

	// EnvBusybox names a static busybox binary to use instead of the first
	// of /bin/busybox and /usr/bin/busybox.
	EnvBusybox = "HOOKSHOT_BUSYBOX"
)

// targetDockerfile: busybox, its applets as symlinks in /bin, a /tmp of
// mode 1777, and a main process that keeps the container running.
const targetDockerfile = `FROM scratch
COPY rootfs/ /
CMD ["/bin/sleep", "1000000"]
`

// noShellDockerfile: only busybox, under a name that is not an applet's,
// so there is no /bin/sh; it runs "busybox sleep".
const noShellDockerfile = `FROM scratch
COPY rootfs/ /
CMD ["/busybox", "sleep", "1000000"]
`

// BuildTargetImage returns the tag of a local image whose containers have a
// POSIX shell (/bin/sh) and the usual tools (ps, sleep, cat, kill, mkdir,
// rm, …, all busybox), a /tmp of mode 1777, and a main process that sleeps
// until the container is removed. It calls RequireDocker first.
//
// Like BuildHookshotImage, the image is built at most once while in use and
// shared; each call takes a reference that t.Cleanup releases, and the image
// is removed when the last test using it ends.
func BuildTargetImage(t testing.TB) string {
	t.Helper()
	return targets.use(t, TargetRepo, targetDockerfile, true)
}

// BuildNoShellImage returns the tag of a local image whose containers run
// a static binary that sleeps and have nothing else: no /bin/sh. See
// BuildTargetImage for its lifetime.
func BuildNoShellImage(t testing.TB) string {
	t.Helper()
	return targets.use(t, NoShellRepo, noShellDockerfile, false)
}

var targets = &targetImages{tags: map[string]*targetImage{}}

type targetImages struct {
	mu   sync.Mutex
	tags map[string]*targetImage // by repository
}

type targetImage struct {
	tag  string
	refs int
}

func (ti *targetImages) use(t testing.TB, repo, dockerfile string, shell bool) string {
	t.Helper()
	RequireDocker(t)
	ti.mu.Lock()
	defer ti.mu.Unlock()
	im := ti.tags[repo]
	if im == nil {
		img.mu.Lock()
		img.touched = true // Cleanup sweeps what a failed run leaves
		img.mu.Unlock()
		start := time.Now()
		tag := repo + ":" + runID
		if err := buildTarget(t, tag, dockerfile, shell); err != nil {
			t.Fatalf("dockertest: build %s: %v", tag, err)
		}
		t.Logf("dockertest: built %s in %s", tag, time.Since(start).Round(time.Millisecond))
		im = &targetImage{tag: tag}
		ti.tags[repo] = im
	}
	im.refs++
	t.Cleanup(func() {
		ti.mu.Lock()
		defer ti.mu.Unlock()
		if im.refs--; im.refs > 0 {
			return
		}
		delete(ti.tags, repo)
		if err := removeImage(im.tag); err != nil {
			t.Errorf("dockertest: %v", err)
		}
	})
	return im.tag
}

// Busybox returns the path of a static busybox binary, or says how to get
// one.
func Busybox() (string, error) {
	candidates := []string{"/bin/busybox", "/usr/bin/busybox"}
	if p := os.Getenv(EnvBusybox); p != "" {
		candidates = []string{p}
	}
	var errs []error
	for _, p := range candidates {
		f, err := elf.Open(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if !static {
			errs = append(errs, fmt.Errorf("%s is dynamically linked", p))
			continue
		}
		return p, nil
	}
	return "", fmt.Errorf("no static busybox (apt-get install busybox-static, or set %s): %w", EnvBusybox, errors.Join(errs...))
}

// buildTarget builds tag from dockerfile and a rootfs of busybox: as
// /bin/busybox with every applet linked into /bin when shell is set, else
// as /busybox alone.
func buildTarget(t testing.TB, tag, dockerfile string, shell bool) error {
	if err := CheckNoPull([]byte(dockerfile)); err != nil {
		return err
	}
	bb, err := Busybox()
	if err != nil {
		return err
	}
	binary, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	var applets []string
	if shell {
		out, err := exec.Command(bb, "--list").Output()
		if err != nil {
			return fmt.Errorf("%s --list: %w", bb, err)
		}
		applets = strings.Fields(string(out))
	}
	buildCtx, err := targetContext(dockerfile, binary, shell, applets)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	return dockerBuild(ctx, tag, buildCtx)
}

// targetContext makes the build context: the Dockerfile and rootfs/.
func targetContext(dockerfile string, busybox []byte, shell bool, applets []string) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := time.Unix(0, 0)
	add := func(h *tar.Header, body []byte) error {
		h.ModTime = mod
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	errs := []error{
		add(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), Typeflag: tar.TypeReg}, []byte(dockerfile)),
		add(&tar.Header{Name: "rootfs/", Mode: 0o755, Typeflag: tar.TypeDir}, nil),
	}
	if shell {
		errs = append(errs,
			add(&tar.Header{Name: "rootfs/tmp/", Mode: 0o1777, Typeflag: tar.TypeDir}, nil),
			add(&tar.Header{Name: "rootfs/bin/", Mode: 0o755, Typeflag: tar.TypeDir}, nil),
			add(&tar.Header{Name: "rootfs/bin/busybox", Mode: 0o755, Size: int64(len(busybox)), Typeflag: tar.TypeReg}, busybox))
		for _, a := range applets {
			if a != "busybox" && !strings.Contains(a, "/") {
				errs = append(errs, add(&tar.Header{Name: "rootfs/bin/" + a, Linkname: "busybox", Mode: 0o777, Typeflag: tar.TypeSymlink}, nil))
			}
		}
	} else {
		errs = append(errs, add(&tar.Header{Name: "rootfs/busybox", Mode: 0o755, Size: int64(len(busybox)), Typeflag: tar.TypeReg}, busybox))
	}
	errs = append(errs, tw.Close())
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	return &buf, nil
}

// Client returns a client of the Docker engine (DOCKER_HOST, else the
// default socket) that t.Cleanup closes. It calls RequireDocker first.
func Client(t testing.TB) *client.Client {
	t.Helper()
	RequireDocker(t)
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatalf("dockertest: docker client: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// ContainerOption adjusts a container StartContainer creates.
type ContainerOption func(*container.Config, *container.HostConfig)

// StartContainer creates and starts a container of image named name with
// labels (add Labels(t) to them), without network, and removes it,
// forcibly, when t ends. It returns the container's ID.
func StartContainer(t testing.TB, cli *client.Client, image, name string, labels map[string]string, opts ...ContainerOption) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cfg := &container.Config{Image: image, Labels: labels}
	host := &container.HostConfig{NetworkMode: "none"}
	for _, o := range opts {
		o(cfg, host)
	}
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: host})
	if err != nil {
		t.Fatalf("dockertest: create container %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		_, err := cli.ContainerRemove(ctx, created.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("dockertest: remove container %s: %v", name, err)
		}
	})
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("dockertest: start container %s: %v", name, err)
	}
	return created.ID
}
