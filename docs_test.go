//go:build unix

// Package docs_test runs the documentation: every ```sh block of README.md,
// docs/, examples/ and deploy/ is executed, in order, the way a reader
// following the page would run it. A documented command that does not work
// is a failing test.
//
// Each page runs in a fresh copy of the repository in a temporary
// directory (so nothing it writes lands in the work tree), with a hookshot
// binary on PATH, HOME in the temporary directory, and its own ports. The
// blocks of a page run in one bash session with `set -euo pipefail` and
// `shopt -s inherit_errexit`, so a variable set in one block is there in
// the next, and any command that fails, also inside `$(…)`, fails the
// test, naming the block.
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
// The pages' relative links must resolve to files of the repository, the
// README's prose may only name hookshot commands that exist, and its
// example event's id must be the one the events package gives it.
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
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/events"
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
	bin := buildHookshot(t)
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

// buildHookshot builds the CLI into a temporary directory and returns
// that directory.
func buildHookshot(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "hookshot"), "./cmd/hookshot")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build hookshot: %v\n%s", err, out)
	}
	return bin
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

// bashPrelude starts every script: any failing command fails it, also one
// inside a command substitution (inherit_errexit: without it
// `ID=$(false; echo x)` succeeds with x, and the block goes on with what
// the failed command did not produce).
const bashPrelude = "set -euo pipefail\nshopt -s inherit_errexit\n"

// runScript runs blocks in one bash and returns its exit code; any exit
// other than the allowed ones fails the test with its output.
func runScript(t *testing.T, dir string, env []string, page, script string, last block, allowed ...int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", bashPrelude+script)
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
	cmd := exec.Command("bash", "-c", bashPrelude+b.code)
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

// TestPreludeFailsInsideCommandSubstitution: a command that fails inside
// `$(…)` fails the block, instead of the block going on with whatever the
// substitution printed before or after it.
func TestPreludeFailsInsideCommandSubstitution(t *testing.T) {
	out, err := exec.Command("bash", "-c", bashPrelude+`ID=$(false; echo made-up)`+"\n"+`echo "went on with $ID"`).CombinedOutput()
	if err == nil || strings.Contains(string(out), "went on") {
		t.Fatalf("a failure inside $(…) did not stop the block (%v):\n%s", err, out)
	}
}

// linkPages are the documents whose relative links must resolve.
func linkPages(t *testing.T) []string {
	t.Helper()
	out := []string{"README.md"}
	m, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, m...)
	for _, dir := range []string{"examples", "deploy"} {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == "README.md" {
				out = append(out, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out[1:])
	return out
}

// TestDocumentedLinksResolve: every relative link of the documentation
// leads to a file (or directory) of the repository, not outside it
// (`../shared/…`) and not to something that was moved or never added.
func TestDocumentedLinksResolve(t *testing.T) {
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tracked := map[string]bool{}
	for _, f := range trackedFiles(t, root) {
		if _, err := os.Lstat(f); err != nil {
			continue // deleted in the work tree
		}
		for p := f; p != "."; p = filepath.Dir(p) {
			tracked[p] = true
		}
	}
	for _, page := range linkPages(t) {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range brokenLinks(page, string(raw), func(p string) bool { return tracked[p] }) {
			t.Error(bad)
		}
	}
}

// TestLinkCheckFindsBrokenLinks: the link check itself.
func TestLinkCheckFindsBrokenLinks(t *testing.T) {
	page := "docs/guide.md"
	text := "See [the README](../README.md), [config](configuration.md#tls) and\n" +
		"[the reference\n](../../shared/reference/astra.md) or ![a picture](img/missing.png).\n" +
		"[Upstream](https://example.com/x.md), [mail](mailto:a@b), [below](#anchor), [ref][r].\n" +
		"`[not a link](nowhere.md)`\n" +
		"```sh\necho '[not a link](nowhere.md)'\n```\n" +
		"[r]: gone.md\n" +
		"[ok-ref]: ../deploy/README.md \"title\"\n"
	have := map[string]bool{"README.md": true, "docs/configuration.md": true, "deploy/README.md": true}
	got := brokenLinks(page, text, func(p string) bool { return have[p] })
	want := []string{
		"docs/guide.md:3: link ../../shared/reference/astra.md leads outside the repository",
		"docs/guide.md:3: link img/missing.png: no docs/img/missing.png in the repository",
		"docs/guide.md:9: link gone.md: no docs/gone.md in the repository",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

var (
	// inlineLinkRE is [text](target) and ![alt](target), the text possibly
	// over several lines, the target possibly followed by a title.
	inlineLinkRE = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// refLinkRE is a reference definition: [label]: target.
	refLinkRE = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$`)
	// codeSpanRE is inline code, where brackets are not links.
	codeSpanRE = regexp.MustCompile("`[^`\n]*`")
	schemeRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// brokenLinks returns a line for every relative link of page (its text)
// that does not resolve to a path of the repository; exists says whether
// a repository-relative, slash-separated path is there.
func brokenLinks(page, text string, exists func(string) bool) []string {
	// Fenced blocks and code spans are blanked (keeping the line breaks,
	// so line numbers stay right): what they hold is code, not links.
	lines := strings.Split(text, "\n")
	fence := ""
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		switch {
		case fence != "" && strings.HasPrefix(trimmed, fence):
			fence, lines[i] = "", ""
		case fence != "":
			lines[i] = ""
		case strings.HasPrefix(trimmed, "```"), strings.HasPrefix(trimmed, "~~~"):
			fence, lines[i] = trimmed[:3], ""
		default:
			lines[i] = codeSpanRE.ReplaceAllString(l, "")
		}
	}
	text = strings.Join(lines, "\n")
	var out []string
	check := func(at int, target string) {
		line := 1 + strings.Count(text[:at], "\n")
		if schemeRE.MatchString(target) || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "//") {
			return // another site, or a place in this page
		}
		rel := target
		if i := strings.IndexAny(rel, "#?"); i >= 0 {
			rel = rel[:i]
		}
		var p string
		if strings.HasPrefix(rel, "/") {
			p = path.Clean(strings.TrimPrefix(rel, "/")) // GitHub: the repository's root
		} else {
			p = path.Join(path.Dir(filepath.ToSlash(page)), rel)
		}
		switch {
		case p == ".." || strings.HasPrefix(p, "../"):
			out = append(out, fmt.Sprintf("%s:%d: link %s leads outside the repository", page, line, target))
		case !exists(p):
			out = append(out, fmt.Sprintf("%s:%d: link %s: no %s in the repository", page, line, target, p))
		}
	}
	for _, m := range inlineLinkRE.FindAllStringSubmatchIndex(text, -1) {
		check(m[2], text[m[2]:m[3]])
	}
	for _, m := range refLinkRE.FindAllStringSubmatchIndex(text, -1) {
		check(m[2], text[m[2]:m[3]])
	}
	slices.SortStableFunc(out, func(a, b string) int { return strings.Compare(a, b) })
	return out
}

// prosePages are the pages whose prose names hookshot commands: the
// decisions record is left out, as it names commands that are gone on
// purpose.
func prosePages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, p := range linkPages(t) {
		if p != filepath.Join("docs", "decisions.md") {
			out = append(out, p)
		}
	}
	return out
}

var (
	proseCommandRE = regexp.MustCompile("`hookshot( [^`]*)?`")
	commandWordRE  = regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)
)

// notCommands are code spans that start with "hookshot" but name no
// command.
var notCommands = map[string]bool{
	"hookshot is starting": true, // the API's 503 while it starts
}

// TestDocumentedProseCommandsExist: a command the prose names in a code
// span (`hookshot apps create`) is one the CLI has: `hookshot apps put`
// in a sentence is a failing test, as it would be in a block.
func TestDocumentedProseCommandsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hookshot")
	}
	bin := filepath.Join(buildHookshot(t), "hookshot")
	for _, page := range prosePages(t) {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, span := range proseCommandRE.FindAllString(outsideFences(string(raw)), -1) {
			span = strings.Trim(span, "`")
			if notCommands[span] {
				continue
			}
			if msg := missingCommand(bin, span); msg != "" {
				t.Errorf("%s: `%s`: %s", page, span, msg)
			}
		}
	}
}

// outsideFences is text without its fenced blocks (which run as they are).
func outsideFences(text string) string {
	var b strings.Builder
	fence := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fence = !fence
			continue
		}
		if !fence {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// missingCommand says what is wrong with the command a code span names
// ("" if it exists). The command's words are the span's leading lowercase
// words; its help says how many of them it took as its path, and whether
// it is a group, which takes only subcommands.
func missingCommand(bin, span string) string {
	var words []string
	for _, w := range strings.Fields(span)[1:] {
		if !commandWordRE.MatchString(w) {
			break
		}
		words = append(words, w)
	}
	out, err := exec.Command(bin, append(slices.Clone(words), "--help")...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("no such command: %s", strings.TrimSpace(string(out)))
	}
	_, usage, ok := strings.Cut(string(out), "Usage:\n")
	if !ok {
		return "its help has no Usage"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(usage), "\n")
	path := 0
	for _, tok := range strings.Fields(first)[1:] {
		if !commandWordRE.MatchString(tok) {
			break
		}
		path++
	}
	if strings.Contains(usage, " [command]\n") && path < len(words) {
		return fmt.Sprintf("%q has no subcommand %q", "hookshot "+strings.Join(words[:path], " "), words[path])
	}
	return ""
}

// TestDocumentedEventIDs: an example CloudEvents envelope of a lifecycle
// event in the documentation is one the engine accepts, and its id is the
// de-duplication id the events package gives that stage of that run
// (lifecycle.<account>.<run>.<action>.<stage>).
func TestDocumentedEventIDs(t *testing.T) {
	found := 0
	for _, page := range linkPages(t) {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range jsonBlocks(string(raw)) {
			var head struct{ Type string }
			if json.Unmarshal([]byte(b.code), &head) != nil || head.Type != events.TypeLifecycle {
				continue
			}
			found++
			env, ev, err := events.DecodeLifecycle([]byte(b.code))
			if err != nil {
				t.Errorf("%s:%d: the example lifecycle event is refused: %v", page, b.line, err)
				continue
			}
			if want := events.LifecycleMsgID(ev.AccountID, ev.RunID, ev.Action, ev.Stage); env.ID != want {
				t.Errorf("%s:%d: the example lifecycle event's id is %q; for its data it is %q", page, b.line, env.ID, want)
			}
		}
	}
	if found == 0 {
		t.Error("no example lifecycle event found (README.md shows one)")
	}
}

// jsonBlocks are a page's ```json blocks.
func jsonBlocks(text string) []block {
	var (
		out []block
		cur *block
	)
	for i, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(l)
		switch {
		case cur != nil && trimmed == "```":
			out, cur = append(out, *cur), nil
		case cur != nil:
			cur.code += l + "\n"
		case trimmed == "```json":
			cur = &block{line: i + 1}
		}
	}
	return out
}
