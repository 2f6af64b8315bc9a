//go:build linux

package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func newTestRunner(t testing.TB, cfg LocalConfig) *LocalRunner {
	t.Helper()
	if cfg.TempDir == "" {
		cfg.TempDir = t.TempDir()
	}
	r, err := NewLocalRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runScript runs spec on a fresh runner and fails the test on a Run error.
func runScript(t *testing.T, ctx context.Context, spec Spec) Outcome {
	t.Helper()
	out, err := newTestRunner(t, LocalConfig{}).Run(ctx, spec)
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	return out
}

// runAsync runs spec in a goroutine; the returned function waits for the
// outcome, failing the test if it takes longer than testDeadline.
func runAsync(t *testing.T, ctx context.Context, r *LocalRunner, spec Spec) func() Outcome {
	t.Helper()
	type result struct {
		out Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := r.Run(ctx, spec)
		done <- result{out, err}
	}()
	return func() Outcome {
		t.Helper()
		select {
		case res := <-done:
			if res.err != nil {
				t.Fatalf("Run() error = %v", res.err)
			}
			return res.out
		case <-time.After(testDeadline):
			t.Fatalf("Run did not return within %v", testDeadline)
			return Outcome{}
		}
	}
}

func TestLocalRunnerArguments(t *testing.T) {
	t.Parallel()
	args := []string{"plain", "with space", `it's "quoted"`, "", "$HOME", "*", "-n", "tab\there", "new\nline", "ünï"}
	script := `printf '%s\n' "$#"; for a in "$@"; do printf '[%s]\n' "$a"; done`
	out := runScript(t, t.Context(), Spec{Script: []byte(script), Args: args})
	var want strings.Builder
	fmt.Fprintf(&want, "%d\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&want, "[%s]\n", a)
	}
	if out.Stdout.Text != want.String() || !out.Succeeded() {
		t.Fatalf("stdout = %q, want %q (outcome %+v)", out.Stdout.Text, want.String(), out)
	}
}

// TestLocalRunnerEnvironment is not parallel: it sets a variable in the
// test process's environment.
func TestLocalRunnerEnvironment(t *testing.T) {
	t.Setenv("HOOKSHOT_TEST_PARENT_SECRET", "must-not-leak")
	r := newTestRunner(t, LocalConfig{})
	script := `
echo "run=$HOOKSHOT_RUN_ID"
echo "app=$HOOKSHOT_APP_ID"
echo "secret=${HOOKSHOT_TEST_PARENT_SECRET-unset}"
echo "path=$PATH"
echo "home=$HOME"
echo "pwd=$(pwd)"
echo "dir=$(dirname "$0")"
env | cut -d= -f1 | sed 's/^/name=/'
`
	spec := Spec{Script: []byte(script), Env: map[string]string{
		"HOOKSHOT_RUN_ID": "run-1",
		"HOOKSHOT_APP_ID": "app with spaces",
	}}
	out, err := r.Run(t.Context(), spec)
	if err != nil || !out.Succeeded() {
		t.Fatalf("Run = %+v, %v", out, err)
	}
	lines := map[string]string{}
	names := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out.Stdout.Text), "\n") {
		k, v, _ := strings.Cut(l, "=")
		if k == "name" {
			names[v] = true
		} else {
			lines[k] = v
		}
	}
	for k, want := range map[string]string{
		"run":    "run-1",
		"app":    "app with spaces",
		"secret": "unset",
		"path":   os.Getenv("PATH"),
		"pwd":    lines["home"],
	} {
		if lines[k] != want {
			t.Errorf("%s = %q, want %q", k, lines[k], want)
		}
	}
	// Nothing else of the test process's environment may reach the hook.
	allowed := map[string]bool{"PATH": true, "HOME": true, "PWD": true, "OLDPWD": true, "SHLVL": true, "_": true}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if names[k] && !allowed[k] {
			t.Errorf("parent variable %s reached the hook", k)
		}
	}
	if !strings.HasPrefix(lines["home"], r.cfg.TempDir+"/hookshot-run-") {
		t.Errorf("HOME %q is not a run directory under %s", lines["home"], r.cfg.TempDir)
	}
	if !strings.HasPrefix(lines["dir"], r.cfg.TempDir+"/hookshot-scripts-") {
		t.Errorf("script dir %q is not in the script cache under %s", lines["dir"], r.cfg.TempDir)
	}
}

func TestLocalRunnerExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		script      string
		wantCode    int
		wantSignal  string
		wantSuccess bool
	}{
		{name: "exit 0", script: "exit 0", wantCode: 0, wantSuccess: true},
		{name: "empty script", script: "", wantCode: 0, wantSuccess: true},
		{name: "exit 3", script: "echo failing >&2; exit 3", wantCode: 3},
		{name: "exit 255", script: "exit 255", wantCode: 255},
		{name: "last command fails", script: "false", wantCode: 1},
		{name: "killed by SIGKILL", script: "kill -KILL $$", wantCode: -1, wantSignal: "killed"},
		{name: "killed by SIGTERM", script: "kill -TERM $$", wantCode: -1, wantSignal: "terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := runScript(t, t.Context(), Spec{Script: []byte(tt.script)})
			if out.ExitCode != tt.wantCode || out.Signal != tt.wantSignal || out.Succeeded() != tt.wantSuccess {
				t.Fatalf("outcome = code %d signal %q succeeded %v, want %d %q %v (%+v)",
					out.ExitCode, out.Signal, out.Succeeded(), tt.wantCode, tt.wantSignal, tt.wantSuccess, out)
			}
			if out.TimedOut || out.Canceled || out.StartError != "" {
				t.Fatalf("unexpected outcome %+v", out)
			}
			if out.Succeeded() != (out.Reason() == "") {
				t.Fatalf("Reason() = %q for succeeded = %v", out.Reason(), out.Succeeded())
			}
			if out.Started.IsZero() || out.Finished.Before(out.Started) || out.Duration != out.Finished.Sub(out.Started) {
				t.Fatalf("times: started %v finished %v duration %v", out.Started, out.Finished, out.Duration)
			}
		})
	}
}

func TestLocalRunnerStderr(t *testing.T) {
	t.Parallel()
	out := runScript(t, t.Context(), Spec{Script: []byte("echo out; echo err >&2; exit 3")})
	if out.Stdout.Text != "out\n" || out.Stderr.Text != "err\n" || out.Stderr.TotalBytes != 4 {
		t.Fatalf("stdout %+v stderr %+v", out.Stdout, out.Stderr)
	}
	if out.Reason() != "exit code 3" {
		t.Fatalf("Reason() = %q", out.Reason())
	}
}

func TestLocalRunnerShebang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script string
		args   []string
		want   string
	}{
		{name: "/bin/sh", script: "#!/bin/sh\necho \"sh $# $1\"\n", args: []string{"a b"}, want: "sh 1 a b\n"},
		{name: "/usr/bin/env sh", script: "#!/usr/bin/env sh\necho \"env $# $1\"\n", args: []string{"a b"}, want: "env 1 a b\n"},
		// cat prints its file argument: proof the kernel ran the script
		// through its interpreter, not through /bin/sh.
		{name: "/bin/cat", script: "#!/bin/cat\nnot shell\n", want: "#!/bin/cat\nnot shell\n"},
		{name: "no shebang runs with /bin/sh", script: "echo \"${0##*/} $1\"\n", args: []string{"x"}, want: scriptName + " x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := runScript(t, t.Context(), Spec{Script: []byte(tt.script), Args: tt.args})
			if out.Stdout.Text != tt.want || !out.Succeeded() {
				t.Fatalf("stdout = %q, want %q (%+v)", out.Stdout.Text, tt.want, out)
			}
		})
	}
}

func TestLocalRunnerCannotStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		spec      Spec
		wantStart string
	}{
		{name: "missing interpreter", spec: Spec{Script: []byte("#!/nonexistent/interp -x\necho hi\n")}, wantStart: `interpreter "/nonexistent/interp" not found`},
		{name: "interpreter is a directory", spec: Spec{Script: []byte("#!/tmp\necho hi\n")}, wantStart: `interpreter "/tmp"`},
		{name: "NUL in an argument", spec: Spec{Script: []byte("echo hi"), Args: []string{"ok", "a\x00b"}}, wantStart: "argument 2 contains a NUL byte"},
		{name: "missing working directory", spec: Spec{Script: []byte("echo hi"), Dir: "/nonexistent/dir"}, wantStart: "working directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := runAsync(t, t.Context(), newTestRunner(t, LocalConfig{}), tt.spec)()
			if !strings.Contains(out.StartError, tt.wantStart) {
				t.Fatalf("StartError = %q, want it to contain %q", out.StartError, tt.wantStart)
			}
			if out.Succeeded() || out.ExitCode != -1 || !strings.HasPrefix(out.Reason(), "could not start: ") {
				t.Fatalf("outcome = %+v", out)
			}
		})
	}
}

func TestLocalRunnerWorkingDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := runScript(t, t.Context(), Spec{Script: []byte("pwd"), Dir: dir})
	if out.Stdout.Text != dir+"\n" {
		t.Fatalf("pwd = %q, want %q", out.Stdout.Text, dir)
	}
}

// TestLocalRunnerPrivateScriptRemoved: the script file is read-only and
// private, the run's own directory is private and goes with the run, and
// Close removes the script files.
func TestLocalRunnerPrivateScriptRemoved(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, LocalConfig{})
	script := `stat -c '%a' "$0" "$(dirname "$0")" "$(dirname "$(dirname "$0")")" "$HOME"; echo "$0"; echo "$HOME"`
	out, err := r.Run(t.Context(), Spec{Script: []byte(script)})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.Stdout.Text), "\n")
	if len(lines) != 6 || strings.Join(lines[:4], " ") != "500 500 700 700" {
		t.Fatalf("modes of script, its directory, the cache and HOME = %q, want 500 500 700 700", out.Stdout.Text)
	}
	if _, err := os.Stat(lines[5]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("run directory still there after Run: %v", err)
	}
	if _, err := os.Stat(lines[4]); err != nil {
		t.Fatalf("script file gone before Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(filepath.Dir(lines[4]))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("script cache still there after Close: %v", err)
	}
}

func TestLocalRunnerTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain, deaf := filepath.Join(dir, "plain.pid"), filepath.Join(dir, "deaf.pid")
	// Two grandchildren: one dies of SIGTERM, one ignores it and only goes
	// when the group is killed after the script itself has died.
	script := `
sleep 300 &
echo $! > "$1"
(trap '' TERM; exec sleep 300) &
echo $! > "$2"
sleep 300
`
	r := newTestRunner(t, LocalConfig{})
	wait := runAsync(t, t.Context(), r, Spec{
		Script:    []byte(script),
		Args:      []string{plain, deaf},
		Timeout:   time.Second,
		KillGrace: testDeadline, // the script dies of SIGTERM; KILL must not be needed for it
	})
	plainPID, deafPID := readPID(t, plain), readPID(t, deaf)
	killOnCleanup(t, plainPID)
	killOnCleanup(t, deafPID)
	out := wait()
	if !out.TimedOut || out.Canceled || out.Signal != "terminated" || out.ExitCode != -1 || out.Succeeded() {
		t.Fatalf("outcome = %+v, want timed out by SIGTERM", out)
	}
	if !strings.HasPrefix(out.Reason(), "timed out after ") {
		t.Fatalf("Reason() = %q", out.Reason())
	}
	waitGone(t, plainPID)
	waitGone(t, deafPID)
}

func TestLocalRunnerNormalExitKillsGrandchild(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	r := newTestRunner(t, LocalConfig{})
	wait := runAsync(t, t.Context(), r, Spec{
		Script: []byte(`sleep 300 & echo $! > "$1"; echo done`),
		Args:   []string{pidFile},
	})
	pid := readPID(t, pidFile)
	killOnCleanup(t, pid)
	out := wait()
	if !out.Succeeded() || out.Stdout.Text != "done\n" {
		t.Fatalf("outcome = %+v", out)
	}
	waitGone(t, pid)
}

func TestLocalRunnerLargeOutput(t *testing.T) {
	t.Parallel()
	const total = 10 << 20
	const head, tail = "HEAD-START\n", "\nTAIL-END\n"
	script := `
printf 'HEAD-START\n'
head -c "$1" /dev/zero | tr '\0' x
printf '\nTAIL-END\n'
head -c 100000 /dev/zero | tr '\0' e >&2
`
	filler := total - len(head) - len(tail)
	out := runScript(t, t.Context(), Spec{Script: []byte(script), Args: []string{strconv.Itoa(filler)}})
	if !out.Succeeded() {
		t.Fatalf("outcome = %+v", out)
	}
	got := out.Stdout
	if got.TotalBytes != total || !got.Truncated {
		t.Fatalf("TotalBytes = %d, Truncated = %v; want %d, true", got.TotalBytes, got.Truncated, total)
	}
	marker := truncationMarker(total, total-DefaultOutputLimit)
	if len(got.Text) > DefaultOutputLimit+len(marker) {
		t.Fatalf("len(Text) = %d, more than %d + marker", len(got.Text), DefaultOutputLimit)
	}
	if !strings.Contains(got.Text, marker) {
		t.Fatalf("text has no marker %q", marker)
	}
	if !strings.HasPrefix(got.Text, head+"xxxx") || !strings.HasSuffix(got.Text, "xxxx"+tail) {
		t.Fatalf("head or tail lost: %q … %q", got.Text[:32], got.Text[len(got.Text)-32:])
	}
	if out.Stderr.TotalBytes != 100000 || !out.Stderr.Truncated || out.Stderr.Text == "" {
		t.Fatalf("stderr = %d bytes, truncated %v", out.Stderr.TotalBytes, out.Stderr.Truncated)
	}
}

func TestLocalRunnerOutputLimit(t *testing.T) {
	t.Parallel()
	out := runScript(t, t.Context(), Spec{Script: []byte("printf 0123456789abcdefghij"), OutputLimit: 10})
	want := "01234" + truncationMarker(20, 10) + "fghij"
	if out.Stdout.Text != want {
		t.Fatalf("stdout = %q, want %q", out.Stdout.Text, want)
	}
}

func TestLocalRunnerCancel(t *testing.T) {
	t.Parallel()
	ready := filepath.Join(t.TempDir(), "ready")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wait := runAsync(t, ctx, newTestRunner(t, LocalConfig{}), Spec{
		Script:    []byte(`echo $$ > "$1"; sleep 300`),
		Args:      []string{ready},
		Timeout:   time.Hour,
		KillGrace: testDeadline,
	})
	readPID(t, ready)
	cancel()
	out := wait()
	if !out.Canceled || out.TimedOut || out.Signal != "terminated" || out.Succeeded() {
		t.Fatalf("outcome = %+v, want canceled by SIGTERM", out)
	}
	if !strings.HasPrefix(out.Reason(), "canceled after ") || !strings.HasSuffix(out.Reason(), ", killed by signal terminated") {
		t.Fatalf("Reason() = %q", out.Reason())
	}
}

func TestLocalRunnerCanceledBeforeStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	marker := filepath.Join(t.TempDir(), "ran")
	out := runScript(t, ctx, Spec{Script: []byte(`: > "$1"`), Args: []string{marker}})
	if !out.Canceled || out.Succeeded() || out.ExitCode != -1 || out.Reason() != "canceled before it started" {
		t.Fatalf("outcome = %+v, reason %q", out, out.Reason())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the script ran on a canceled context")
	}
}

func TestLocalRunnerTermBeforeKill(t *testing.T) {
	t.Parallel()
	t.Run("trap TERM and exit", func(t *testing.T) {
		t.Parallel()
		ready := filepath.Join(t.TempDir(), "ready")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		script := `
trap 'echo "got TERM"; exit 7' TERM
echo $$ > "$1"
sleep 300 &
wait
`
		wait := runAsync(t, ctx, newTestRunner(t, LocalConfig{}), Spec{Script: []byte(script), Args: []string{ready}, KillGrace: testDeadline})
		readPID(t, ready)
		cancel()
		out := wait()
		// Exit code 7 and no signal: the script ran its trap, it was not
		// killed.
		if out.Stdout.Text != "got TERM\n" || out.ExitCode != 7 || out.Signal != "" || !out.Canceled {
			t.Fatalf("outcome = %+v", out)
		}
	})
	t.Run("ignore TERM, killed after the grace period", func(t *testing.T) {
		t.Parallel()
		ready := filepath.Join(t.TempDir(), "ready")
		script := `
trap '' TERM
echo $$ > "$1"
sleep 300
`
		wait := runAsync(t, t.Context(), newTestRunner(t, LocalConfig{}), Spec{
			Script: []byte(script), Args: []string{ready},
			Timeout: time.Second, KillGrace: 200 * time.Millisecond,
		})
		readPID(t, ready)
		out := wait()
		if !out.TimedOut || out.Signal != "killed" || out.ExitCode != -1 {
			t.Fatalf("outcome = %+v", out)
		}
	})
	t.Run("exit 0 after TERM is not a success", func(t *testing.T) {
		t.Parallel()
		ready := filepath.Join(t.TempDir(), "ready")
		script := `
trap 'exit 0' TERM
echo $$ > "$1"
sleep 300 &
wait
`
		wait := runAsync(t, t.Context(), newTestRunner(t, LocalConfig{}), Spec{
			Script: []byte(script), Args: []string{ready},
			Timeout: time.Second, KillGrace: testDeadline,
		})
		readPID(t, ready)
		out := wait()
		if !out.TimedOut || out.ExitCode != 0 || out.Succeeded() {
			t.Fatalf("outcome = %+v", out)
		}
	})
}

func TestLocalRunnerInvalidSpec(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, LocalConfig{})
	for _, spec := range []Spec{
		{Timeout: -1},
		{KillGrace: -1},
		{OutputLimit: -1},
		{Env: map[string]string{"A=B": "x"}},
		{Env: map[string]string{"": "x"}},
		{Env: map[string]string{"A": "x\x00y"}},
	} {
		if _, err := r.Run(t.Context(), spec); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("Run(%+v) error = %v, want ErrInvalidSpec", spec, err)
		}
	}
}

func TestNewLocalRunnerConfig(t *testing.T) {
	t.Parallel()
	if _, err := NewLocalRunner(LocalConfig{TempDir: "/nonexistent/tmp"}); err == nil {
		t.Error("NewLocalRunner accepted a missing TempDir")
	}
	if _, err := NewLocalRunner(LocalConfig{DrainTimeout: -time.Second}); err == nil {
		t.Error("NewLocalRunner accepted a negative DrainTimeout")
	}
	r, err := NewLocalRunner(LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if r.cfg.TempDir != os.TempDir() || r.cfg.DrainTimeout != DefaultDrainTimeout {
		t.Errorf("defaults = %+v", r.cfg)
	}
	rel, err := NewLocalRunner(LocalConfig{TempDir: "."})
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(rel.cfg.TempDir) {
		t.Errorf("TempDir %q is not absolute", rel.cfg.TempDir)
	}
}

// TestLocalRunnerConcurrent runs many shebang scripts at once: each is
// written and exec'd while other goroutines fork (the ETXTBSY race).
func TestLocalRunnerConcurrent(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, LocalConfig{})
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			out, err := r.Run(t.Context(), Spec{Script: []byte("#!/bin/sh\necho \"$1\"\n"), Args: []string{strconv.Itoa(i)}})
			if err != nil || !out.Succeeded() || out.Stdout.Text != strconv.Itoa(i)+"\n" {
				t.Errorf("run %d: %+v, %v", i, out, err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkLocalRunner runs a trivial script through a LocalRunner (and so
// its reaper), at 1, 2 and 4 at a time; BenchmarkBareExec is the floor to
// compare with. Compare execs/s of the same concurrency:
//
//	go test -run '^$' -bench 'LocalRunner$|BareExec$' -benchtime 3s ./executor
func BenchmarkLocalRunner(b *testing.B) {
	r := newTestRunner(b, LocalConfig{})
	spec := Spec{Script: []byte("exit 0")}
	benchConcurrently(b, func() error {
		out, err := r.Run(context.Background(), spec)
		if err == nil && !out.Succeeded() {
			err = fmt.Errorf("outcome %+v", out)
		}
		return err
	})
}

// BenchmarkBareExec is the floor BenchmarkLocalRunner compares with: the
// same shell and script through os/exec, without temp file, process group,
// capture or reaper.
func BenchmarkBareExec(b *testing.B) {
	benchConcurrently(b, func() error { return exec.Command("/bin/sh", "-c", "exit 0").Run() })
}

// benchConcurrently runs fn b.N times for each concurrency, reporting
// executions per second and the CPU time each took, all processes counted:
// this one, its reaped children and the reaper with the hooks it reaped
// (which, on a loaded machine, says more than the rate).
func benchConcurrently(b *testing.B, fn func() error) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
			var next atomic.Int64
			var wg sync.WaitGroup
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for range n {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if err := fn(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "execs/s")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-us/exec")
		})
	}
}

// cpuTime is the user and system time of this process, of its children it
// has waited for, and of the reaper and the children it has waited for.
func cpuTime(b *testing.B) time.Duration {
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) != nil {
		b.Fatal("getrusage")
	}
	total := time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
	reaperMu.Lock()
	rc := current
	reaperMu.Unlock()
	if rc == nil {
		return total
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", rc.proc.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// utime, stime, cutime, cstime: fields 14-17, in clock ticks (1/100 s
	// on Linux).
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
	for _, v := range f[11:15] {
		ticks, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Duration(ticks) * 10 * time.Millisecond
	}
	return total
}
