package executor

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultPath is the PATH given to hooks when the runner's own PATH is empty.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultDrainTimeout is how long a LocalRunner waits for a hook's output
// pipes to close once its processes are gone.
const DefaultDrainTimeout = 500 * time.Millisecond

// scriptName is the file name of the script inside a run's directory; it is
// the script's $0.
const scriptName = "hook"

// errTimeout is the cause of a run context that ended by Spec.Timeout.
var errTimeout = errors.New("executor: hook timeout")

// Defaults of the LocalRunner's script cache.
const (
	// DefaultScriptCacheFiles is how many script files a LocalRunner keeps.
	DefaultScriptCacheFiles = 256
	// DefaultScriptCacheBytes is how many bytes of scripts it keeps.
	DefaultScriptCacheBytes = 32 << 20
)

// LocalConfig configures a LocalRunner.
type LocalConfig struct {
	// TempDir is where each run gets its private directory (mode 0700), the
	// hook's HOME and default working directory, removed after the run; and
	// where the runner keeps its script files (hookshot-scripts-*, see
	// LocalRunner). Scripts with a "#!" line are executed from it, so it
	// must not be on a noexec mount. A relative path is made absolute.
	// Defaults to os.TempDir().
	TempDir string
	// ScriptCacheFiles and ScriptCacheBytes bound the script files the
	// runner keeps, by count and by total size; past either, the least
	// recently used go. Default DefaultScriptCacheFiles and
	// DefaultScriptCacheBytes.
	ScriptCacheFiles int
	ScriptCacheBytes int64
	// DrainTimeout is how long Run waits, after the hook's processes are
	// gone, for its stdout and stderr to reach end of file. Only a process
	// the runner could not kill (one that became another user's, through a
	// setuid program) and that kept the pipes open makes Run wait that
	// long; its later output is lost. Defaults to DefaultDrainTimeout.
	DrainTimeout time.Duration
}

func (c LocalConfig) withDefaults() LocalConfig {
	c.TempDir = cmp.Or(c.TempDir, os.TempDir())
	c.DrainTimeout = cmp.Or(c.DrainTimeout, DefaultDrainTimeout)
	c.ScriptCacheFiles = cmp.Or(c.ScriptCacheFiles, DefaultScriptCacheFiles)
	c.ScriptCacheBytes = cmp.Or(c.ScriptCacheBytes, DefaultScriptCacheBytes)
	return c
}

func (c LocalConfig) validate() error {
	if c.DrainTimeout < 0 {
		return fmt.Errorf("executor: negative DrainTimeout %v", c.DrainTimeout)
	}
	if c.ScriptCacheFiles < 0 || c.ScriptCacheBytes < 0 {
		return fmt.Errorf("executor: negative ScriptCacheFiles %d or ScriptCacheBytes %d", c.ScriptCacheFiles, c.ScriptCacheBytes)
	}
	fi, err := os.Stat(c.TempDir)
	if err != nil {
		return fmt.Errorf("executor: TempDir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("executor: TempDir %s is not a directory", c.TempDir)
	}
	return nil
}

// LocalRunner runs hook scripts as local processes. It needs Linux:
// elsewhere NewLocalRunner returns ErrLocalUnsupported.
//
// Each run gets a private temporary directory, its HOME, and runs the script
// in a process group of its own, with stdin from /dev/null. The environment is
// only PATH (this process's PATH when the runner was made, else DefaultPath),
// HOME (the run's private directory), Spec.Env and HOOKSHOT_HOOK_RUN_TAG (an
// opaque tag the runner finds the run's processes by): nothing else of this
// process's environment reaches a hook. When the hook times out or ctx ends,
// the whole group gets SIGTERM, then SIGKILL after Spec.KillGrace. When the
// script's main process exits, for whatever reason, every process the hook
// started is killed with SIGKILL, including those that left its process
// group or session (setsid, a double fork): a hook cannot leave processes
// behind (to start a long-lived service, a hook must hand it to a service
// manager). Run returns after they are gone.
//
// Hooks are started by a helper process, the reaper: this same executable,
// re-executed once per process (through /proc/self/exe, whatever its name)
// the first time a hook runs. It is a child subreaper, so nothing a hook
// starts can leave its subtree; when this process dies, even by SIGKILL, the
// reaper sees its control socket close and kills every process it ever
// started before it exits. An init function of this package turns the
// re-executed binary into the reaper, so any program that imports the
// package can run hooks, test binaries included.
//
// The script itself is written once per content, not per run: the runner
// keeps one read-only file per distinct script (by its SHA-256) in a
// directory of its own under TempDir, bounded by ScriptCacheFiles and
// ScriptCacheBytes, and a run executes that file. A changed script is a new
// file; a file changed on disk since it was written is written again. Close
// removes the files; a runner whose process died without Close leaves them
// to the next runner made on the same TempDir, which removes them.
//
// A LocalRunner is safe for concurrent use.
type LocalRunner struct {
	cfg     LocalConfig
	path    string
	scripts *scriptCache
}

var _ Runner = (*LocalRunner)(nil)

// NewLocalRunner returns a LocalRunner, or an error if cfg is invalid (for
// example TempDir does not exist) or this is not Linux (ErrLocalUnsupported).
func NewLocalRunner(cfg LocalConfig) (*LocalRunner, error) {
	if !localSupported {
		return nil, ErrLocalUnsupported
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Absolute, so the script's path does not depend on its working
	// directory.
	dir, err := filepath.Abs(cfg.TempDir)
	if err != nil {
		return nil, fmt.Errorf("executor: TempDir: %w", err)
	}
	cfg.TempDir = dir
	return &LocalRunner{cfg: cfg, path: cmp.Or(os.Getenv("PATH"), DefaultPath),
		scripts: newScriptCache(dir, cfg.ScriptCacheFiles, cfg.ScriptCacheBytes)}, nil
}

// Close removes the script files the runner keeps (those of runs still
// going, when they end). The runner stays usable: a later Run writes its
// script again.
func (r *LocalRunner) Close() error { return r.scripts.close() }

// checkStartable returns why spec cannot start, or "".
func (r *LocalRunner) checkStartable(spec Spec) string {
	for i, a := range spec.Args {
		if strings.ContainsRune(a, 0) {
			return fmt.Sprintf("argument %d contains a NUL byte", i+1)
		}
	}
	if spec.Dir != "" {
		fi, err := os.Stat(spec.Dir)
		if err != nil {
			return "working directory: " + err.Error()
		}
		if !fi.IsDir() {
			return fmt.Sprintf("working directory %s is not a directory", spec.Dir)
		}
	}
	return ""
}

// environ builds the hook's environment: PATH, HOME, then extra on top,
// sorted by name.
func (r *LocalRunner) environ(home string, extra map[string]string) []string {
	env := map[string]string{"PATH": r.path, "HOME": home}
	maps.Copy(env, extra)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
