package executor

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultKillTimeout bounds each exec a ContainerRunner makes to signal a
// hook's processes or to check its container.
const DefaultKillTimeout = 5 * time.Second

// ContainerConfig configures a ContainerRunner.
type ContainerConfig struct {
	// Shell runs the runner's bootstrap in the container, and the scripts
	// that have no "#!" line. It must be a POSIX shell (dash, busybox ash,
	// bash). Defaults to /bin/sh.
	Shell string
	// KillTimeout bounds each exec that signals a hook's processes (the
	// run's context is over by then), and how long Run waits for the hook's
	// stream to end after SIGKILL. Defaults to DefaultKillTimeout (5s).
	KillTimeout time.Duration
}

func (c ContainerConfig) withDefaults() ContainerConfig {
	c.Shell = cmp.Or(c.Shell, "/bin/sh")
	c.KillTimeout = cmp.Or(c.KillTimeout, DefaultKillTimeout)
	return c
}

func (c ContainerConfig) validate() error {
	if !strings.HasPrefix(c.Shell, "/") {
		return fmt.Errorf("executor: Shell %q must be an absolute path", c.Shell)
	}
	if c.KillTimeout < 0 {
		return fmt.Errorf("executor: negative KillTimeout %v", c.KillTimeout)
	}
	return nil
}

// ContainerRunner runs hooks inside containers through a ContainerExecer
// (Docker's exec, Kubernetes' pods/exec), with LocalRunner's semantics.
//
// Each run is one exec of a small bootstrap script, run by Shell, in
// Spec.Target's container. The bootstrap prints its PID on stderr (the
// runner removes that line), makes a private directory (mode 0700) in the
// first usable of $TMPDIR, /tmp, /dev/shm and /var/tmp, writes the script
// it reads from the exec's stdin into it, exports Spec.Env and runs the
// script with stdin from /dev/null: through the interpreter of its "#!"
// line, else with Shell, its arguments $1 … $n. The environment is the
// container's own (PATH, HOME…) plus Spec.Env. When the script exits, the
// bootstrap kills (SIGKILL) what it left running in its process group,
// removes the directory and exits with the script's status.
//
// Container runtimes (runc, used by Docker and by containerd) start an
// exec'd process in a session, hence a process group, of its own, so the
// bootstrap leads a group that holds the whole hook. On timeout or
// cancelation the runner makes another exec that sends SIGTERM to that
// group, waits up to Spec.KillGrace for the hook to end, then sends
// SIGKILL. A hook that puts processes in another group of its own (setsid,
// set -m) takes them out of the runner's reach.
//
// The bootstrap traps SIGTERM only to outlive its script: it still reaps
// leftovers and removes its directory after a timeout; after SIGKILL the
// runner's second exec removes the directory. A shell reports death by
// signal n as status 128+n: Outcome.Signal is set only for the signals the
// runner sent; a hook that ends with such a status on its own keeps it as
// ExitCode (after the runner checked, for up to a second, that the
// container still runs).
//
// A container that does not exist, is not running, has no Shell, or stops
// while the hook runs gives an Outcome that says so (StartError, Aborted),
// not an error; Run's error is kept for an engine that cannot be reached.
// If the bootstrap has not even reported its PID within KillGrace of a
// timeout, the runner abandons the stream without a signal to send. A
// ContainerRunner is safe for concurrent use.
type ContainerRunner struct {
	ex  ContainerExecer
	cfg ContainerConfig
}

var _ Runner = (*ContainerRunner)(nil)

// NewContainerRunner returns a runner that executes hooks through ex.
func NewContainerRunner(ex ContainerExecer, cfg ContainerConfig) (*ContainerRunner, error) {
	if ex == nil {
		return nil, errors.New("executor: NewContainerRunner: nil ContainerExecer")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &ContainerRunner{ex: ex, cfg: cfg}, nil
}

// Bootstrap protocol: the bootstrap's first stderr line is pidMarker and its
// PID; then either startMarker (everything after it is the script's stderr)
// or errorMarker and why the script could not start.
const (
	pidMarker   = "hookshot-pid "
	startMarker = "hookshot-start"
	errorMarker = "hookshot-error "
	// maxPreamble bounds what the runner keeps of the bootstrap's stderr
	// before the script starts.
	maxPreamble = 4 << 10
)

// bootstrap is the script the container's shell runs with -c. Its
// positional parameters: $1 a random name for the run's directory, $2 the
// working directory ("" for the run's directory), $3 the number (1 or 2)
// of interpreter words that follow, then the interpreter words, then the
// script's arguments. It reads the script from stdin. The line
// "#ENV" is replaced by the exports of Spec.Env.
//
// Written for POSIX sh (dash, busybox ash): no arrays, no local, no
// pipefail. Only cat (optional), mkdir, rm and kill are used.
const bootstrap = `echo "hookshot-pid $$" >&2
fail() { echo "hookshot-error $*" >&2; exit 125; }
n=$1 wd=$2 k=$3
shift 3
umask 077
d=
for b in "$TMPDIR" /tmp /dev/shm /var/tmp; do
	[ -n "$b" ] && [ -d "$b" ] || continue
	if mkdir "$b/hookshot-$n" 2>/dev/null; then d=$b/hookshot-$n; break; fi
done
[ -n "$d" ] || fail "no writable temporary directory in the container (tried \$TMPDIR, /tmp, /dev/shm, /var/tmp)"
trap 'rm -rf "$d" 2>/dev/null' EXIT
if command -v cat >/dev/null 2>&1; then
	cat >"$d/hook" || fail "cannot write the script to $d"
else
	while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done >"$d/hook" || fail "cannot write the script to $d"
fi
i=$1
case $i in
/*) [ -e "$i" ] || fail "interpreter \"$i\" not found in the container"
	[ -f "$i" ] && [ -x "$i" ] || fail "interpreter \"$i\" is not an executable file" ;;
esac
if [ "$k" = 2 ]; then a=$2; shift 2; set -- "$i" "$a" "$d/hook" "$@"; else shift; set -- "$i" "$d/hook" "$@"; fi
cd "${wd:-$d}" 2>/dev/null || fail "working directory $wd: cannot change into it"
#ENV
reap() {
	for s in /proc/[0-9]*/stat; do
		p=${s#/proc/}; p=${p%/stat}
		[ "$p" = "$$" ] && continue
		{ read -r l <"$s"; } 2>/dev/null || continue
		set -- ${l##*) }
		[ "$3" = "$$" ] && kill -KILL "$p" 2>/dev/null
	done
}
trap : TERM INT HUP
echo ` + startMarker + ` >&2
"$@" </dev/null
st=$?
reap; reap
exit $st`

// killScript signals the process group led by $1 (busybox wants "--",
// dash refuses it), else the process alone. With $2 set, it also removes
// the run's directory, which a bootstrap killed by SIGKILL leaves behind.
const killScript = `kill -s "$0" -- -"$1" 2>/dev/null || kill -s "$0" -"$1" 2>/dev/null || kill -s "$0" "$1" 2>/dev/null
[ -z "$2" ] || rm -rf "$TMPDIR/hookshot-$2" "/tmp/hookshot-$2" "/dev/shm/hookshot-$2" "/var/tmp/hookshot-$2" 2>/dev/null
exit 0`

// shellName is what a POSIX shell can export.
var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Run runs spec.Script in spec.Target's container. See Runner and
// ContainerRunner.
func (r *ContainerRunner) Run(ctx context.Context, spec Spec) (Outcome, error) {
	spec, runCtx, cancel, ended, err := begin(ctx, spec)
	if err != nil || ended != nil {
		return *ended, err
	}
	defer cancel()
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	argv, reason := r.argv(spec, nonce)
	if reason != "" {
		return notStarted(time.Now(), reason), nil
	}
	run := &containerRun{
		r:      r,
		spec:   spec,
		name:   containerName(spec.Target),
		nonce:  nonce,
		stdout: newCapture(spec.OutputLimit),
		stderr: newBootstrapStderr(newCapture(spec.OutputLimit)),
		done:   make(chan execResult, 1),
	}
	return run.run(ctx, runCtx, argv)
}

// argv builds the exec's command line, or says why the spec cannot run in
// a container. nonce names the run's directory.
func (r *ContainerRunner) argv(spec Spec, nonce string) ([]string, string) {
	for i, a := range spec.Args {
		if strings.ContainsRune(a, 0) {
			return nil, fmt.Sprintf("argument %d contains a NUL byte", i+1)
		}
	}
	if strings.ContainsRune(spec.Dir, 0) {
		return nil, "working directory contains a NUL byte"
	}
	var exports strings.Builder
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		if !shellName.MatchString(k) {
			return nil, fmt.Sprintf("environment variable name %q cannot be set by a shell in a container", k)
		}
		fmt.Fprintf(&exports, "export %s=%s\n", k, shellQuote(spec.Env[k]))
	}
	interp := []string{r.cfg.Shell}
	if words, ok := shebang(spec.Script); ok {
		if len(words) == 0 {
			return nil, `the "#!" line names no interpreter`
		}
		interp = words
	}
	boot := strings.Replace(bootstrap, "#ENV\n", exports.String(), 1)
	argv := []string{r.cfg.Shell, "-c", boot, "hookshot", nonce, spec.Dir, strconv.Itoa(len(interp))}
	argv = append(argv, interp...)
	return append(argv, spec.Args...), ""
}

// shebang splits a "#!" line the way Linux does: the interpreter, then the
// rest of the line, trimmed, as at most one argument.
func shebang(script []byte) ([]string, bool) {
	rest, ok := bytes.CutPrefix(script, []byte("#!"))
	if !ok {
		return nil, false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	s := strings.Trim(string(line), " \t")
	if s == "" {
		return nil, true
	}
	interp, arg, _ := strings.Cut(strings.ReplaceAll(s, "\t", " "), " ")
	if arg = strings.Trim(arg, " \t"); arg != "" {
		return []string{interp, arg}, true
	}
	return []string{interp}, true
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// containerName names a target in messages: pod/container, or the Docker
// container alone.
func containerName(t Target) string {
	if t.Container == "" || t.Container == t.Pod {
		return t.Pod
	}
	return t.Pod + "/" + t.Container
}

type execResult struct {
	code int
	err  error
}

// containerRun is one Run of a ContainerRunner.
type containerRun struct {
	r      *ContainerRunner
	spec   Spec
	name   string
	nonce  string
	stdout *capture
	stderr *bootstrapStderr
	done   chan execResult
}

func (c *containerRun) run(ctx, runCtx context.Context, argv []string) (Outcome, error) {
	// The exec outlives runCtx: after a timeout the runner still reads the
	// hook's last output and exit status while it signals it.
	execCtx, cancelExec := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelExec()
	started := time.Now()
	go func() {
		code, err := c.r.ex.Exec(execCtx, c.spec.Target, argv, bytes.NewReader(c.spec.Script), c.stdout, c.stderr)
		c.done <- execResult{code, err}
	}()

	var o Outcome
	var res execResult
	var sent syscall.Signal
	select {
	case res = <-c.done:
	case <-runCtx.Done():
		o.TimedOut, o.Canceled = endedBy(runCtx)
		res, sent = c.stop(ctx, cancelExec)
	}
	finished := time.Now()
	c.stderr.finish()
	o.Stdout, o.Stderr = c.stdout.Output(), c.stderr.dst.Output()
	o.Started, o.Finished, o.Duration = started, finished, finished.Sub(started)
	o.ExitCode = -1
	return o, c.conclude(ctx, &o, res, sent)
}

// stop ends the hook after its run context ended: SIGTERM to its group,
// SIGKILL after KillGrace, and as a last resort the stream is abandoned.
// It returns the exec's result and the last signal sent.
func (c *containerRun) stop(ctx context.Context, cancelExec context.CancelFunc) (execResult, syscall.Signal) {
	grace := time.NewTimer(c.spec.KillGrace)
	defer grace.Stop()
	// The bootstrap prints its PID first thing; until then there is
	// nothing to signal.
	select {
	case <-c.stderr.pidKnown:
	case res := <-c.done:
		return res, 0
	case <-grace.C:
		cancelExec()
		return <-c.done, 0
	}
	c.signal(ctx, syscall.SIGTERM, "")
	select {
	case res := <-c.done:
		return res, syscall.SIGTERM
	case <-grace.C:
	}
	c.signal(ctx, syscall.SIGKILL, c.nonce)
	t := time.NewTimer(c.r.cfg.KillTimeout)
	defer t.Stop()
	select {
	case res := <-c.done:
		return res, syscall.SIGKILL
	case <-t.C:
		cancelExec()
		return <-c.done, syscall.SIGKILL
	}
}

// signal sends sig to the hook's process group with an exec of its own,
// and removes the run's directory when nonce is set. Failures are not
// reported: the hook's own exec tells what happened.
func (c *containerRun) signal(ctx context.Context, sig syscall.Signal, nonce string) {
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.r.cfg.KillTimeout)
	defer cancel()
	argv := []string{c.r.cfg.Shell, "-c", killScript, signalNames[sig], strconv.Itoa(c.stderr.pid()), nonce}
	_, _ = c.r.ex.Exec(kctx, c.spec.Target, argv, nil, io.Discard, io.Discard)
}

// signalNames are the signals the runner sends, as kill -s takes them.
var signalNames = map[syscall.Signal]string{syscall.SIGTERM: "TERM", syscall.SIGKILL: "KILL"}

// conclude fills o's exit status and failure reasons from the exec's result.
func (c *containerRun) conclude(ctx context.Context, o *Outcome, res execResult, sent syscall.Signal) error {
	started, startErr, noise := c.stderr.state()
	switch {
	case errors.Is(res.err, ErrContainerNotFound):
		c.containerTrouble(o, "not found", "no longer exists")
		return nil
	case errors.Is(res.err, ErrContainerNotRunning):
		c.containerTrouble(o, "is not running", "stopped while the hook ran")
		return nil
	case res.err != nil && (sent != 0 || o.TimedOut || o.Canceled) && errors.Is(res.err, context.Canceled):
		// The runner gave up on the stream after signaling.
		return nil
	case res.err != nil:
		if reason := c.lost(ctx); reason != "" {
			o.Aborted = reason
			return nil
		}
		return fmt.Errorf("executor: exec in container %s: %w", c.name, res.err)
	}

	code := res.code
	switch {
	case started && sentBy(code, sent):
		o.Signal = syscall.Signal(code - 128).String()
	case started && sent == 0 && code > 128:
		// Killed by someone else: its container stopping, or the hook
		// itself. Only the former is not the hook's business.
		if reason := c.lost(ctx); reason != "" {
			o.Aborted = reason
			return nil
		}
		o.ExitCode = code
	case started:
		o.ExitCode = code
	case sent != 0 || o.TimedOut || o.Canceled:
		// Ended before the script started: nothing of it ran.
	case startErr != "":
		o.StartError = startErr
		if noise != "" {
			o.StartError += " (" + noise + ")"
		}
	default:
		o.StartError = c.noStart(ctx, code, noise)
	}
	return nil
}

// containerTrouble records that the container could not run the hook:
// before it started (StartError), or while it ran (Aborted).
func (c *containerRun) containerTrouble(o *Outcome, before, during string) {
	if c.stderr.pid() == 0 {
		o.StartError = "container " + c.name + " " + before
	} else {
		o.Aborted = "container " + c.name + " " + during
	}
}

// sentBy reports whether a shell's exit status code means death by the
// signal the runner sent (or, after SIGKILL, by the SIGTERM before it).
func sentBy(code int, sent syscall.Signal) bool {
	switch sent {
	case syscall.SIGTERM:
		return code == 128+int(syscall.SIGTERM)
	case syscall.SIGKILL:
		return code == 128+int(syscall.SIGTERM) || code == 128+int(syscall.SIGKILL)
	}
	return false
}

// noStart says why the bootstrap never started the script.
func (c *containerRun) noStart(ctx context.Context, code int, noise string) string {
	if c.stderr.pid() == 0 {
		// The shell itself did not run; the runtime says why on the stream.
		why := strings.TrimSpace(strings.Join([]string{c.stdout.Output().Text, noise}, " "))
		if code == 126 || code == 127 {
			lower := strings.ToLower(why)
			if strings.Contains(lower, "no such file") || strings.Contains(lower, "not found") || why == "" {
				return fmt.Sprintf("container %s has no shell: %s not found", c.name, c.r.cfg.Shell)
			}
		}
		if reason := c.lost(ctx); reason != "" {
			return strings.Replace(reason, "stopped while the hook ran", "stopped before the hook started", 1)
		}
		return fmt.Sprintf("could not run %s in container %s (exit code %d): %s", c.r.cfg.Shell, c.name, code, cmp.Or(why, "no message"))
	}
	if reason := c.lost(ctx); reason != "" {
		return strings.Replace(reason, "stopped while the hook ran", "stopped before the hook started", 1)
	}
	return fmt.Sprintf("the runner's bootstrap exited with code %d before starting the script: %s", code, cmp.Or(noise, "no message"))
}

// lost reports, when the hook's container no longer runs, that it
// stopped. The runtime may see the container's end a moment after the
// exec's stream ended, so a running container is asked again for up to
// lostWait.
func (c *containerRun) lost(ctx context.Context) string {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.r.cfg.KillTimeout)
	defer cancel()
	deadline := time.Now().Add(lostWait)
	for {
		running, err := c.r.ex.Running(cctx, c.spec.Target)
		if err != nil {
			return ""
		}
		if !running {
			return fmt.Sprintf("container %s stopped while the hook ran", c.name)
		}
		if time.Now().After(deadline) {
			return ""
		}
		select {
		case <-cctx.Done():
			return ""
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lostWait is how long lost waits for a runtime to see a container stop.
const lostWait = time.Second

// bootstrapStderr takes the exec's stderr: it reads the bootstrap's
// protocol lines at its start and passes everything after startMarker to
// dst.
type bootstrapStderr struct {
	dst      *capture
	pidKnown chan struct{} // closed when the bootstrap's PID is known

	mu       sync.Mutex
	pending  []byte // a partial preamble line
	pidValue int
	started  bool
	startErr string
	noise    []byte // other preamble output, bounded
}

func newBootstrapStderr(dst *capture) *bootstrapStderr {
	return &bootstrapStderr{dst: dst, pidKnown: make(chan struct{})}
}

// Write never fails, so the exec never blocks on it.
func (b *bootstrapStderr) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if b.started {
		return b.dst.Write(p)
	}
	b.pending = append(b.pending, p...)
	for !b.started {
		i := bytes.IndexByte(b.pending, '\n')
		if i < 0 {
			if len(b.pending) > maxPreamble {
				b.addNoise(b.pending)
				b.pending = b.pending[:0]
			}
			break
		}
		b.line(string(b.pending[:i]))
		b.pending = b.pending[i+1:]
	}
	if b.started && len(b.pending) > 0 {
		_, _ = b.dst.Write(b.pending)
		b.pending = nil
	}
	return n, nil
}

func (b *bootstrapStderr) line(l string) {
	switch {
	case strings.HasPrefix(l, pidMarker) && b.pidValue == 0:
		if pid, err := strconv.Atoi(strings.TrimPrefix(l, pidMarker)); err == nil && pid > 0 {
			b.pidValue = pid
			close(b.pidKnown)
			return
		}
	case l == startMarker && b.pidValue != 0:
		b.started = true
		return
	case strings.HasPrefix(l, errorMarker) && b.pidValue != 0 && b.startErr == "":
		b.startErr = strings.TrimPrefix(l, errorMarker)
		return
	}
	b.addNoise([]byte(l))
}

func (b *bootstrapStderr) addNoise(p []byte) {
	if room := maxPreamble - len(b.noise); room > 0 {
		if len(b.noise) > 0 {
			b.noise = append(b.noise, "; "...)
		}
		b.noise = append(b.noise, p[:min(room, len(p))]...)
	}
}

// finish ends the preamble after the exec: a partial last line is noise.
func (b *bootstrapStderr) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.started && len(b.pending) > 0 {
		b.addNoise(b.pending)
		b.pending = nil
	}
}

func (b *bootstrapStderr) pid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pidValue
}

func (b *bootstrapStderr) state() (started bool, startErr, noise string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started, b.startErr, strings.TrimSpace(string(b.noise))
}
