package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Images for tests that run a NATS cluster and Hookshot daemons as
// containers (the fault suite). Like every image of this package they are
// built FROM scratch around static binaries compiled by the test, so nothing
// is pulled.
const (
	// NATSRepo is the repository of BuildNATSImage's images.
	NATSRepo = "localhost/hookshot-dockertest-nats"
	// ShellRepo is the repository of BuildHookshotShellImage's images.
	ShellRepo = "localhost/hookshot-dockertest-shell"

	// NATSStoreDir is an empty, writable directory of the NATS image for
	// JetStream's store_dir (scratch has no /tmp).
	NATSStoreDir = "/data"
)

// natsDockerfile: the static nats-server, an empty store directory, and the
// server as entrypoint (it runs as root: the store directory is the image's).
const natsDockerfile = `FROM scratch
COPY rootfs/ /
EXPOSE 4222 6222 8222
ENTRYPOINT ["/nats-server"]
`

// shellDockerfile: the static hookshot binary with busybox as /bin/sh and its
// applets, a /tmp of mode 1777, run as the image's usual unprivileged user.
const shellDockerfile = `FROM scratch
COPY rootfs/ /
USER 65532:65532
ENTRYPOINT ["/hookshot"]
`

// BuildNATSImage returns the tag of a local image of a static nats-server
// (github.com/nats-io/nats-server/v2 at the version of go.mod, compiled with
// CGO_ENABLED=0 from the module cache) with an empty [NATSStoreDir]. Its
// entrypoint is /nats-server: pass the server's flags (e.g. "-c",
// "/nats.conf") as the command. It calls RequireDocker first.
//
// The image is built at most once while in use and shared; each call takes a
// reference that t.Cleanup releases, and the image is removed when the last
// test using it ends.
func BuildNATSImage(t testing.TB) string {
	t.Helper()
	return built.use(t, NATSRepo, func(ctx context.Context, dir string) (map[string]file, error) {
		bin := filepath.Join(dir, "nats-server")
		if err := goBuildStatic(ctx, bin, "github.com/nats-io/nats-server/v2", ""); err != nil {
			return nil, err
		}
		raw, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		return map[string]file{
			"Dockerfile":            {body: []byte(natsDockerfile), mode: 0o644},
			"rootfs/nats-server":    {body: raw, mode: 0o755},
			"rootfs" + NATSStoreDir: {dir: true, mode: 0o755},
		}, nil
	})
}

// BuildHookshotShellImage returns the tag of a local image of the static
// hookshot binary (as BuildHookshotImage compiles it) plus a static busybox as
// /bin/sh with its applets in /bin and a /tmp of mode 1777, so that workers
// in it can run hook scripts with the local runner. It runs as 65532:65532
// with /hookshot as entrypoint. Lifetime as for BuildNATSImage.
func BuildHookshotShellImage(t testing.TB) string {
	t.Helper()
	return built.use(t, ShellRepo, func(ctx context.Context, dir string) (map[string]file, error) {
		bin := filepath.Join(dir, "hookshot")
		if err := goBuildStatic(ctx, bin, "./cmd/hookshot", "-X "+versionVar+"="+Version); err != nil {
			return nil, err
		}
		raw, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		bb, err := Busybox()
		if err != nil {
			return nil, err
		}
		busybox, err := os.ReadFile(bb)
		if err != nil {
			return nil, err
		}
		out, err := exec.Command(bb, "--list").Output()
		if err != nil {
			return nil, fmt.Errorf("%s --list: %w", bb, err)
		}
		files := map[string]file{
			"Dockerfile":         {body: []byte(shellDockerfile), mode: 0o644},
			"rootfs/hookshot":    {body: raw, mode: 0o755},
			"rootfs/tmp":         {dir: true, mode: 0o1777},
			"rootfs/bin":         {dir: true, mode: 0o755},
			"rootfs/bin/busybox": {body: busybox, mode: 0o755},
		}
		for _, a := range strings.Fields(string(out)) {
			if a != "busybox" && !strings.Contains(a, "/") {
				files["rootfs/bin/"+a] = file{link: "busybox", mode: 0o777}
			}
		}
		return files, nil
	})
}

// file is an entry of a build context: a regular file, a directory or a
// symbolic link.
type file struct {
	body []byte
	dir  bool
	link string
	mode int64
}

// builtImages are the images of this file, by repository, shared while in
// use like the target images.
var built = &builtImages{tags: map[string]*targetImage{}}

type builtImages struct {
	mu   sync.Mutex
	tags map[string]*targetImage
}

func (b *builtImages) use(t testing.TB, repo string, prepare func(ctx context.Context, dir string) (map[string]file, error)) string {
	t.Helper()
	RequireDocker(t)
	b.mu.Lock()
	defer b.mu.Unlock()
	im := b.tags[repo]
	if im == nil {
		img.mu.Lock()
		img.touched = true // Cleanup sweeps what a failed run leaves
		img.mu.Unlock()
		start := time.Now()
		tag := repo + ":" + runID
		if err := buildFiles(t, tag, prepare); err != nil {
			t.Fatalf("dockertest: build %s: %v", tag, err)
		}
		t.Logf("dockertest: built %s in %s", tag, time.Since(start).Round(time.Millisecond))
		im = &targetImage{tag: tag}
		b.tags[repo] = im
	}
	im.refs++
	t.Cleanup(func() {
		// Under Main (img.held) the image stays for the next test until
		// Cleanup (releaseBuilt): building it again costs more than it saves.
		img.mu.Lock()
		held := img.held
		img.mu.Unlock()
		b.mu.Lock()
		defer b.mu.Unlock()
		if im.refs--; im.refs > 0 || held {
			return
		}
		delete(b.tags, repo)
		if err := removeImage(im.tag); err != nil {
			t.Errorf("dockertest: %v", err)
		}
	})
	return im.tag
}

func buildFiles(t testing.TB, tag string, prepare func(ctx context.Context, dir string) (map[string]file, error)) error {
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	files, err := prepare(ctx, t.TempDir())
	if err != nil {
		return err
	}
	if err := CheckNoPull(files["Dockerfile"].body); err != nil {
		return err
	}
	buildCtx, err := tarFiles(files)
	if err != nil {
		return err
	}
	return dockerBuild(ctx, tag, buildCtx)
}

// goBuildStatic compiles pkg (a path of the module or of its dependencies)
// into out as a static linux binary for the daemon's architecture.
func goBuildStatic(ctx context.Context, out, pkg, ldflags string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	arch := serverArch
	if arch == "" {
		arch = "amd64"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", strings.TrimSpace("-s -w "+ldflags), "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// tarFiles makes a build context of files; parents come before children.
func tarFiles(files map[string]file) (io.Reader, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	// Sorting puts "a" before "a/b".
	slices.Sort(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var errs []error
	for _, n := range names {
		f := files[n]
		h := &tar.Header{Name: n, Mode: f.mode, ModTime: time.Unix(0, 0)}
		switch {
		case f.dir:
			h.Name, h.Typeflag = n+"/", tar.TypeDir
		case f.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		errs = append(errs, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write(f.body)
			errs = append(errs, err)
		}
	}
	errs = append(errs, tw.Close())
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	return &buf, nil
}

// dockerBuild builds tag from the tar build context buildCtx, never pulling,
// labelled as this run's, and returns the builder's log with any error.
func dockerBuild(ctx context.Context, tag string, buildCtx io.Reader) error {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer cli.Close()
	res, err := cli.ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		PullParent:  false, // never contact a registry
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelManaged: "true", LabelRun: runID},
	})
	if err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	defer res.Body.Close()
	var log bytes.Buffer
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("docker build: read progress: %w\n%s", err, log.String())
		}
		log.WriteString(msg.Stream)
		if msg.Error != "" {
			return fmt.Errorf("docker build: %s\n%s", msg.Error, log.String())
		}
	}
}

// releaseBuilt removes the images of this file that no test uses any more
// (kept because Main holds images). Cleanup calls it with img.mu held,
// after the tests: no test takes built.mu then.
func releaseBuilt(ctx context.Context, cli *testcontainers.DockerClient) error {
	built.mu.Lock()
	defer built.mu.Unlock()
	var errs []error
	for repo, im := range built.tags {
		if im.refs > 0 {
			continue
		}
		delete(built.tags, repo)
		errs = append(errs, removeImageWith(ctx, cli, im.tag))
	}
	return errors.Join(errs...)
}
