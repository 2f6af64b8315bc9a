//go:build linux

package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// runOut runs script on r and returns its stdout; it fails the test unless
// the hook succeeded.
func runOut(t *testing.T, r *LocalRunner, script string, args ...string) string {
	t.Helper()
	out, err := r.Run(t.Context(), Spec{Script: []byte(script), Args: args})
	if err != nil || !out.Succeeded() {
		t.Fatalf("Run(%q) = %+v, %v", script, out, err)
	}
	return out.Stdout.Text
}

// cacheEntries lists the script files of r's cache.
func cacheEntries(t *testing.T, r *LocalRunner) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(r.cfg.TempDir, cacheDirPrefix+"*", "*", scriptName))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func inodeAndCtime(t *testing.T, path string) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d@%d.%d", st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
}

// TestScriptCacheReusesFile: running a script again executes the file
// written the first time; nothing is written.
func TestScriptCacheReusesFile(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, LocalConfig{})
	const script = "#!/bin/sh\necho \"$0\"\n"
	first := strings.TrimSpace(runOut(t, r, script))
	id := inodeAndCtime(t, first)
	for range 3 {
		if again := strings.TrimSpace(runOut(t, r, script)); again != first {
			t.Fatalf("second run executed %s, first %s", again, first)
		}
	}
	if got := inodeAndCtime(t, first); got != id {
		t.Fatalf("script file rewritten: inode@ctime %s, was %s", got, id)
	}
	if files := cacheEntries(t, r); len(files) != 1 {
		t.Fatalf("cache holds %v, want the one file", files)
	}
}

// TestScriptCacheNewContentRuns: a changed script (same length) runs its
// own content, never the cached one.
func TestScriptCacheNewContentRuns(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, LocalConfig{})
	for i, want := range []string{"one", "two", "one", "two"} {
		if got := runOut(t, r, "echo "+want); got != want+"\n" {
			t.Fatalf("run %d printed %q, want %q", i, got, want)
		}
	}
	if files := cacheEntries(t, r); len(files) != 2 {
		t.Fatalf("cache holds %v, want 2 files", files)
	}
}

// TestScriptCacheRewritesChangedFile: a cached file changed on disk (by a
// hook of the same user) is written again before it runs.
func TestScriptCacheRewritesChangedFile(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, LocalConfig{})
	const script = "echo original\n"
	runOut(t, r, script)
	files := cacheEntries(t, r)
	if len(files) != 1 {
		t.Fatalf("cache holds %v", files)
	}
	// Same length, so only the change time tells.
	runOut(t, r, `chmod u+w "$1" && printf 'echo tampered\n' > "$1"`, files[0])
	if got := runOut(t, r, script); got != "original\n" {
		t.Fatalf("changed file served: %q", got)
	}
	// Removed from under the cache: written again too.
	for _, f := range cacheEntries(t, r) {
		if strings.Contains(f, filepath.Base(filepath.Dir(files[0]))) {
			removeEntry(filepath.Dir(f))
		}
	}
	if got := runOut(t, r, script); got != "original\n" {
		t.Fatalf("after removal: %q", got)
	}
}

// TestScriptCacheBounds: the cache keeps at most ScriptCacheFiles files
// and ScriptCacheBytes bytes, dropping the least recently used.
func TestScriptCacheBounds(t *testing.T) {
	t.Parallel()
	t.Run("files", func(t *testing.T) {
		t.Parallel()
		r := newTestRunner(t, LocalConfig{ScriptCacheFiles: 3})
		for i := range 10 {
			runOut(t, r, fmt.Sprintf("exit 0 # %d", i))
			if n := len(cacheEntries(t, r)); n > 3 {
				t.Fatalf("after %d scripts the cache holds %d files, bound 3", i+1, n)
			}
		}
		// The most recently used survive: 7, 8, 9 — and 7 used again
		// outlives 8 when 10 comes.
		runOut(t, r, "exit 0 # 7")
		runOut(t, r, "exit 0 # 10")
		var kept []string
		for _, f := range cacheEntries(t, r) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, strings.TrimPrefix(string(b), "exit 0 # "))
		}
		if strings.Join(sorted(kept), ",") != "10,7,9" {
			t.Fatalf("kept %v, want 7, 9 and 10", kept)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		t.Parallel()
		r := newTestRunner(t, LocalConfig{ScriptCacheBytes: 100})
		for i := range 10 {
			runOut(t, r, fmt.Sprintf("exit 0 #%40d", i)) // 48 bytes
			var total int64
			for _, f := range cacheEntries(t, r) {
				fi, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				total += fi.Size()
			}
			if total > 100 {
				t.Fatalf("after %d scripts the cache holds %d bytes, bound 100", i+1, total)
			}
		}
	})
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestScriptCacheEvictionSparesRunningScript: a script evicted while its
// hook runs stays on disk until that run ends.
func TestScriptCacheEvictionSparesRunningScript(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, LocalConfig{ScriptCacheFiles: 1})
	dir := t.TempDir()
	ready, goOn := filepath.Join(dir, "ready"), filepath.Join(dir, "go")
	wait := runAsync(t, t.Context(), r, Spec{Script: []byte(`touch "$1"; while [ ! -e "$2" ]; do sleep 0.01; done; [ -r "$0" ] && echo present`),
		Args: []string{ready, goOn}})
	waitFile(t, ready)
	runOut(t, r, "exit 0 # evicts the running one")
	if err := os.WriteFile(goOn, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := wait(); out.Stdout.Text != "present\n" {
		t.Fatalf("running script's file removed by eviction: %+v", out)
	}
	if files := cacheEntries(t, r); len(files) != 1 {
		t.Fatalf("cache holds %v after the evicted run ended, want 1 file", files)
	}
}

// TestScriptCacheConcurrent: many runs of a few scripts at once, through a
// cache smaller than the set, each run its own content.
func TestScriptCacheConcurrent(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, LocalConfig{ScriptCacheFiles: 2})
	var wg sync.WaitGroup
	for i := range 48 {
		wg.Go(func() {
			want := fmt.Sprint(i % 5)
			out, err := r.Run(t.Context(), Spec{Script: []byte("#!/bin/sh\necho " + want + "\n")})
			if err != nil || out.Stdout.Text != want+"\n" {
				t.Errorf("run %d: %+v, %v", i, out, err)
			}
		})
	}
	wg.Wait()
	if n := len(cacheEntries(t, r)); n > 2 {
		t.Fatalf("cache holds %d files, bound 2", n)
	}
}

// TestScriptCacheCloseAndStale: Close removes the files and the runner
// writes them again on its next run; a cache left by a process that died
// is removed by the next runner on the same TempDir, a live one is not.
func TestScriptCacheCloseAndStale(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	live := newTestRunner(t, LocalConfig{TempDir: tmp})
	runOut(t, live, "exit 0")
	liveDirs, _ := filepath.Glob(filepath.Join(tmp, cacheDirPrefix+"*"))

	// A dead process's cache: the lock file is there, nobody holds it.
	dead := filepath.Join(tmp, cacheDirPrefix+"dead")
	if err := os.MkdirAll(filepath.Join(dead, "x-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, "x-1", scriptName), []byte("exit 0"), 0o500); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(filepath.Join(dead, "x-1"), 0o500)
	if err := os.WriteFile(filepath.Join(dead, cacheLockName), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	other := newTestRunner(t, LocalConfig{TempDir: tmp})
	runOut(t, other, "exit 0")
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("dead process's cache still there: %v", err)
	}
	for _, d := range liveDirs {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("live runner's cache removed: %v", err)
		}
	}
	for _, r := range []*LocalRunner{live, other} {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Fatalf("left after Close: %v", left)
	}
	if got := runOut(t, live, "echo again"); got != "again\n" || len(cacheEntries(t, live)) != 1 {
		t.Fatalf("run after Close: %q, cache %v", got, cacheEntries(t, live))
	}
	_ = live.Close()
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	waitFor(t, path+" to appear", func() bool { _, err := os.Stat(path); return err == nil })
}

// Caches opening at the same time in one directory (runners of parallel
// tests, workers sharing a TempDir) never sweep away each other: each
// one's sweep runs while the others make and lock their directories.
func TestScriptCachesOpeningTogetherKeepTheirDirectories(t *testing.T) {
	parent := t.TempDir()
	for round := range 50 {
		caches := make([]*scriptCache, 8)
		errs := make([]error, len(caches))
		var wg sync.WaitGroup
		for i := range caches {
			caches[i] = newScriptCache(parent, 16, 1<<20)
			wg.Go(func() {
				c := caches[i]
				c.mu.Lock()
				errs[i] = c.open()
				c.mu.Unlock()
			})
		}
		wg.Wait()
		for i, c := range caches {
			if errs[i] != nil {
				t.Fatalf("round %d: open: %v", round, errs[i])
			}
			if _, err := os.Stat(filepath.Join(c.dir, cacheLockName)); err != nil {
				t.Fatalf("round %d: cache %d's directory was swept while it lived: %v", round, i, err)
			}
		}
		for _, c := range caches {
			if err := c.close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
