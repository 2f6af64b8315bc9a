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

// LocalConfig configures a LocalRunner.
type LocalConfig struct {
	// TempDir is where each run gets its private directory (mode 0700), which
	// holds the script and is the hook's HOME and default working directory;
	// the directory is removed after the run. Scripts with a "#!" line are
	// executed from it, so it must not be on a noexec mount. A relative path
	// is made absolute. Defaults to os.TempDir().
	TempDir string
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
	return c
}

func (c LocalConfig) validate() error {
	if c.DrainTimeout < 0 {
		return fmt.Errorf("executor: negative DrainTimeout %v", c.DrainTimeout)
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
// Each run writes the script to a private temporary file and runs it in a
// process group of its own, with stdin from /dev/null. The environment is
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
// A LocalRunner is safe for concurrent use.
type LocalRunner struct {
	cfg  LocalConfig
	path string
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
	return &LocalRunner{cfg: cfg, path: cmp.Or(os.Getenv("PATH"), DefaultPath)}, nil
}

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
