// Package docs_test runs the documentation: every ```sh block of README.md,
// docs/, examples/ and deploy/ is executed, in order, the way a reader
// following the page would run it. A documented command that does not work
// is a failing test.
//
// Each page runs in a fresh copy of the repository in a temporary
// directory (so nothing it writes lands in the work tree), with a hookshot
// binary on PATH, HOME in the temporary directory, and its own ports. The
// blocks of a page run in one bash session with `set -euo pipefail`, so a
// variable set in one block is there in the next, and any command that
// fails fails the test, naming the block.
//
// A block may be preceded by a directive in an HTML comment, which a
// reader does not see:
//
//	<!-- doctest: skip REASON -->  not run; the reason is required (it
//	                               needs a real Kubernetes cluster, it is the
//	                               test command itself)
//	<!-- doctest: background -->   started in the background (a server);
//	                               the next blocks run once its API answers
//	                               /readyz, and it is stopped at the end
//	<!-- doctest: exit N -->       the block's last command must exit N
//
// Servers started by a page listen where the docs say, the defaults
// (127.0.0.1:8080 for the API, 127.0.0.1:4222 for NATS), so pages run one
// after the other and no other test of the repository uses those ports.
// The admin token a fresh server prints once is fixed in advance
// (HOOKSHOT_API_TOKENS) and given to the CLI as HOOKSHOT_TOKEN, as the
// README tells its reader to do; HOOKSHOT_SERVER names the default address.
package docs_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pages are the documents whose blocks run, in this order.
func pages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, glob := range []string{"README.md", "docs/*.md", "examples/*/README.md", "deploy/README.md"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(m)
		out = append(out, m...)
	}
	return out
}

// block is one ```sh block of a page.
type block struct {
	line      int    // of the opening fence
	directive string // skip, background, exit, or ""
	arg       string
	code      string
}

var directiveRE = regexp.MustCompile(`^<!--\s*doctest:\s*(skip|background|exit)\b\s*(.*?)\s*-->$`)

// parse returns the page's ```sh and ```bash blocks.
func parse(t *testing.T, path string) []block {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out     []block
		cur     *block
		prev    string
		n       int
		inFence bool
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur, inFence = nil, false
		case cur != nil:
			cur.code += line + "\n"
		case inFence && strings.HasPrefix(trimmed, "```"):
			inFence = false
		case inFence:
		case trimmed == "```sh" || trimmed == "```bash":
			cur = &block{line: n}
			if m := directiveRE.FindStringSubmatch(prev); m != nil {
				cur.directive, cur.arg = m[1], m[2]
			}
		case strings.HasPrefix(trimmed, "```"):
			inFence = true
		}
		if trimmed != "" {
			prev = trimmed
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: the block is never closed", path, cur.line)
	}
	for _, b := range out {
		if b.directive == "skip" && b.arg == "" {
			t.Errorf("%s:%d: doctest: skip needs a reason", path, b.line)
		}
	}
	return out
}

const docToken = "doc-test-admin-token-0123456789"

func TestDocumentedCommandsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every documented command")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is needed to run the documentation's shell blocks")
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "hookshot"), "./cmd/hookshot")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build hookshot: %v\n%s", err, out)
	}
	files := trackedFiles(t, root)
	for _, page := range pages(t) {
		blocks := parse(t, page)
		if len(blocks) == 0 {
			continue
		}
		t.Run(strings.ReplaceAll(page, "/", "_"), func(t *testing.T) {
			runPage(t, root, files, bin, page, blocks)
		})
	}
}

// trackedFiles lists the repository's files (git's, so build output and
// local data stay out of the copies).
func trackedFiles(t *testing.T, root string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	return strings.Fields(string(out))
}

func copyRepo(t *testing.T, root string, files []string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "hookshot")
	for _, f := range files {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or not a file
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// defaultAPI is where a server started as documented listens.
const defaultAPI = "http://127.0.0.1:8080"

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func runPage(t *testing.T, root string, files []string, bin, page string, blocks []block) {
	dir := copyRepo(t, root, files)
	home := t.TempDir()
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home,
		// The reader's Go caches, not a cold one in the new HOME.
		"GOPATH="+goEnv(t, "GOPATH"), "GOCACHE="+goEnv(t, "GOCACHE"), "GOMODCACHE="+goEnv(t, "GOMODCACHE"),
		"HOOKSHOT_CONTEXTS="+filepath.Join(home, "contexts.yaml"),
		"HOOKSHOT_API_TOKENS=default:admin:"+docToken,
		"HOOKSHOT_TOKEN="+docToken,
		"HOOKSHOT_SERVER="+defaultAPI,
	)

	var script strings.Builder
	flush := func(last block) {
		if script.Len() == 0 {
			return
		}
		runScript(t, dir, env, page, script.String(), last)
		script.Reset()
	}
	var lastRun block
	for _, b := range blocks {
		switch b.directive {
		case "skip":
			t.Logf("%s:%d: skipped: %s", page, b.line, b.arg)
		case "background":
			flush(lastRun)
			startBackground(t, dir, env, page, b, defaultAPI)
		case "exit":
			flush(lastRun)
			want, err := strconv.Atoi(b.arg)
			if err != nil {
				t.Fatalf("%s:%d: doctest: exit %q is not a number", page, b.line, b.arg)
			}
			script.WriteString(marker(page, b) + b.code)
			code := runScript(t, dir, env, page, script.String(), b, want)
			script.Reset()
			if code != want {
				t.Fatalf("%s:%d: exit %d, want %d", page, b.line, code, want)
			}
		default:
			script.WriteString(marker(page, b) + b.code)
			lastRun = b
		}
	}
	flush(lastRun)
}

func marker(page string, b block) string {
	return fmt.Sprintf("echo '>>> %s:%d' >&2\n", page, b.line)
}

// runScript runs blocks in one bash and returns its exit code; any exit
// other than the allowed ones fails the test with its output.
func runScript(t *testing.T, dir string, env []string, page, script string, last block, allowed ...int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+script)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && !slices.Contains(allowed, code) {
		t.Fatalf("%s: a documented command failed (exit %d; the last '>>>' line names its block):\n%s", page, code, tail(out.String(), 8000))
	}
	t.Logf("%s up to line %d:\n%s", page, last.line, tail(out.String(), 2000))
	return code
}

// startBackground starts a block in the background and waits until the
// API at api answers /readyz; it is stopped when the test ends.
func startBackground(t *testing.T, dir string, env []string, page string, b block, api string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+b.code)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case err := <-exited:
			t.Fatalf("%s:%d: the background block exited (%v):\n%s", page, b.line, err, tail(out.String(), 8000))
		default:
		}
		if resp, err := http.Get(api + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s:%d: the server did not become ready:\n%s", page, b.line, tail(out.String(), 8000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// syncBuffer is a bytes.Buffer that a process may write while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
