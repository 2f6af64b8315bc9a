//go:build unix

package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

// procExecer is a ContainerExecer whose "container" is this host: it runs
// argv as a local process in a session of its own (setsid), as runc starts
// an exec'd process. It is a second real runtime for ContainerRunner, with
// the host's /bin/sh (dash on Debian) where Docker's target has busybox ash.
type procExecer struct {
	stopped atomic.Bool // Exec fails with ErrContainerNotRunning, Running is false
	gone    atomic.Bool // Exec fails with ErrContainerNotFound, Running is false
	execs   atomic.Int32
}

func (p *procExecer) Exec(ctx context.Context, target Target, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	p.execs.Add(1)
	switch {
	case p.gone.Load():
		return -1, fmt.Errorf("%w: %s", ErrContainerNotFound, target.Pod)
	case p.stopped.Load():
		return -1, fmt.Errorf("%w: %s", ErrContainerNotRunning, target.Pod)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return -1, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return -1, errors.Join(err, outR.Close(), outW.Close())
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		// What runc says when the executable is missing.
		fmt.Fprintf(stdout, "OCI runtime exec failed: exec failed: unable to start container process: exec: %q: %v: unknown\r\n", argv[0], err)
		return 126, nil
	}
	var copies sync.WaitGroup
	copies.Go(func() { _, _ = io.Copy(stdout, outR) })
	copies.Go(func() { _, _ = io.Copy(stderr, errR) })
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
		copies.Wait()
		outR.Close()
		errR.Close()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil // as runc reports it
		}
		return cmd.ProcessState.ExitCode(), nil
	case <-ctx.Done():
		// Stop streaming; the process lives on.
		_ = outR.SetReadDeadline(time.Now())
		_ = errR.SetReadDeadline(time.Now())
		copies.Wait()
		outR.Close()
		errR.Close()
		return -1, ctx.Err()
	}
}

func (p *procExecer) Running(ctx context.Context, target Target) (bool, error) {
	return !p.stopped.Load() && !p.gone.Load(), nil
}

var procTarget = Target{Cluster: "host", Namespace: "shop", Pod: "db-0", Container: "mysql"}

func newProcRunner(t testing.TB, cfg ContainerConfig) (*ContainerRunner, *procExecer) {
	t.Helper()
	ex := &procExecer{}
	r, err := NewContainerRunner(ex, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, ex
}

// runIn runs spec on r, failing the test on a Run error or when Run takes
// longer than testDeadline.
func runIn(t *testing.T, ctx context.Context, r Runner, spec Spec) Outcome {
	t.Helper()
	return runInAsync(t, ctx, r, spec)()
}

func runInAsync(t *testing.T, ctx context.Context, r Runner, spec Spec) func() Outcome {
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

func TestContainerRunnerProcScripts(t *testing.T) {
	t.Parallel()
	r, _ := newProcRunner(t, ContainerConfig{})
	tests := []struct {
		name       string
		given      Spec
		wantCode   int
		wantStdout string
		wantStderr string
		wantStart  string // substring of StartError
	}{
		{
			name:       "arguments",
			given:      Spec{Script: []byte(`printf '%s\n' "$#"; for a in "$@"; do printf '[%s]\n' "$a"; done`), Args: []string{"plain", "with space", `it's "q"`, "", "$HOME", "*", "-n", "new\nline"}},
			wantStdout: "8\n[plain]\n[with space]\n[it's \"q\"]\n[]\n[$HOME]\n[*]\n[-n]\n[new\nline]\n",
		},
		{
			name: "environment",
			given: Spec{Script: []byte(`echo "$HOOKSHOT_RUN_ID|$HOOKSHOT_APP_ID|$Q"`), Env: map[string]string{
				"HOOKSHOT_RUN_ID": "run-1", "HOOKSHOT_APP_ID": "app with 'quotes' and $x", "Q": "a\nb",
			}},
			wantStdout: "run-1|app with 'quotes' and $x|a\nb\n",
		},
		{name: "exit 3", given: Spec{Script: []byte("echo out; echo err >&2; exit 3")}, wantCode: 3, wantStdout: "out\n", wantStderr: "err\n"},
		{name: "empty script", given: Spec{Script: nil}},
		{name: "stdin is empty", given: Spec{Script: []byte("cat; echo done")}, wantStdout: "done\n"},
		{name: "no trailing newline", given: Spec{Script: []byte("echo last")}, wantStdout: "last\n"},
		{
			name:       "shebang with argument",
			given:      Spec{Script: []byte("#!/bin/sh -eu\necho \"$0\" | grep -q '/hookshot-[0-9a-f]*/hook$' && echo in-run-dir\nfalse\necho not reached\n")},
			wantCode:   1,
			wantStdout: "in-run-dir\n",
		},
		{
			name:       "shebang interpreter",
			given:      Spec{Script: []byte("#!/usr/bin/env cat\nhello\n")},
			wantStdout: "#!/usr/bin/env cat\nhello\n",
		},
		{
			name:      "missing interpreter",
			given:     Spec{Script: []byte("#!/no/such/python3\nprint(1)\n")},
			wantCode:  -1,
			wantStart: `interpreter "/no/such/python3" not found in the container`,
		},
		{name: "empty shebang", given: Spec{Script: []byte("#!\necho\n")}, wantCode: -1, wantStart: `names no interpreter`},
		{name: "working directory", given: Spec{Script: []byte("pwd"), Dir: "/"}, wantStdout: "/\n"},
		{name: "missing working directory", given: Spec{Script: []byte("pwd"), Dir: "/no/such/dir"}, wantCode: -1, wantStart: "working directory /no/such/dir"},
		{name: "NUL in argument", given: Spec{Args: []string{"a\x00b"}}, wantCode: -1, wantStart: "argument 1 contains a NUL byte"},
		{name: "bad variable name", given: Spec{Env: map[string]string{"A-B": "x"}}, wantCode: -1, wantStart: `"A-B" cannot be set`},
		{name: "marker-like output", given: Spec{Script: []byte("echo hookshot-pid 1 >&2; echo hookshot-start >&2")}, wantStderr: "hookshot-pid 1\nhookshot-start\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := tt.given
			spec.Target = procTarget
			out := runIn(t, t.Context(), r, spec)
			if tt.wantStart != "" {
				if !strings.Contains(out.StartError, tt.wantStart) || out.Succeeded() {
					t.Fatalf("StartError = %q, want it to contain %q (%+v)", out.StartError, tt.wantStart, out)
				}
				return
			}
			if out.StartError != "" || out.ExitCode != tt.wantCode || out.Stdout.Text != tt.wantStdout || out.Stderr.Text != tt.wantStderr {
				t.Fatalf("outcome = code %d stdout %q stderr %q start %q; want %d %q %q",
					out.ExitCode, out.Stdout.Text, out.Stderr.Text, out.StartError, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if out.Succeeded() != (tt.wantCode == 0) || out.Started.IsZero() || out.Duration != out.Finished.Sub(out.Started) {
				t.Fatalf("outcome = %+v", out)
			}
		})
	}
}

// runDirs lists the run directories the bootstrap made in dir.
func runDirs(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "hookshot-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestContainerRunnerProcPrivateDir is not parallel: it sets TMPDIR, which
// the bootstrap reads from its environment.
func TestContainerRunnerProcPrivateDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r, _ := newProcRunner(t, ContainerConfig{})
	out := runIn(t, t.Context(), r, Spec{Target: procTarget, Script: []byte(`d=$(dirname "$0"); echo "$d"; ls -ld "$d" | cut -c1-10; ls -l "$0" | cut -c1-10; pwd`)})
	lines := strings.Split(strings.TrimSpace(out.Stdout.Text), "\n")
	if !out.Succeeded() || len(lines) != 4 {
		t.Fatalf("outcome = %+v", out)
	}
	if !strings.HasPrefix(lines[0], tmp+"/hookshot-") || lines[1] != "drwx------" || lines[2] != "-rw-------" || lines[3] != lines[0] {
		t.Fatalf("run dir %q mode %q, script mode %q, pwd %q", lines[0], lines[1], lines[2], lines[3])
	}
	if left := runDirs(t, tmp); len(left) != 0 {
		t.Fatalf("run directories left behind: %v", left)
	}
}

func TestContainerRunnerProcTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain, deaf := filepath.Join(dir, "plain.pid"), filepath.Join(dir, "deaf.pid")
	script := `
sleep 300 &
echo $! > "$1"
(trap '' TERM; exec sleep 300) &
echo $! > "$2"
sleep 300
`
	r, _ := newProcRunner(t, ContainerConfig{})
	wait := runInAsync(t, t.Context(), r, Spec{
		Target:    procTarget,
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
	if out.Duration > testDeadline/2 {
		t.Fatalf("took %v: SIGKILL was needed", out.Duration)
	}
	if !strings.HasPrefix(out.Reason(), "timed out after ") || !strings.HasSuffix(out.Reason(), "killed by signal terminated") {
		t.Fatalf("Reason() = %q", out.Reason())
	}
	waitGone(t, plainPID)
	waitGone(t, deafPID)
}

func TestContainerRunnerProcKillAfterGrace(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	pidFile := filepath.Join(tmp, "pid")
	r, ex := newProcRunner(t, ContainerConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wait := runInAsync(t, ctx, r, Spec{
		Target:    procTarget,
		Script:    []byte(`trap 'echo got TERM' TERM; echo $$ > "$1"; while :; do sleep 0.05; done`),
		Args:      []string{pidFile},
		KillGrace: 200 * time.Millisecond,
	})
	pid := readPID(t, pidFile)
	killOnCleanup(t, pid)
	cancel()
	out := wait()
	if !out.Canceled || out.TimedOut || out.Signal != "killed" || out.ExitCode != -1 {
		t.Fatalf("outcome = %+v, want canceled by SIGKILL", out)
	}
	if !strings.Contains(out.Stdout.Text, "got TERM") {
		t.Fatalf("stdout = %q: the hook never saw SIGTERM", out.Stdout.Text)
	}
	if got := ex.execs.Load(); got != 3 {
		t.Fatalf("%d execs, want 3 (hook, TERM, KILL)", got)
	}
	waitGone(t, pid)
}

func TestContainerRunnerProcNormalExitKillsLeftovers(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	r, _ := newProcRunner(t, ContainerConfig{})
	start := time.Now()
	out := runIn(t, t.Context(), r, Spec{
		Target: procTarget,
		Script: []byte(`(trap '' TERM; exec sleep 300) & echo $! > "$1"; echo bye`),
		Args:   []string{pidFile},
	})
	pid := readPID(t, pidFile)
	killOnCleanup(t, pid)
	if !out.Succeeded() || out.Stdout.Text != "bye\n" || time.Since(start) > testDeadline/2 {
		t.Fatalf("outcome = %+v", out)
	}
	waitGone(t, pid)
}

func TestContainerRunnerProcLargeOutput(t *testing.T) {
	t.Parallel()
	const total = 10 << 20
	r, _ := newProcRunner(t, ContainerConfig{})
	out := runIn(t, t.Context(), r, Spec{
		Target:      procTarget,
		Script:      []byte(`head -c "$1" /dev/zero | tr '\0' x; head -c 100000 /dev/zero | tr '\0' e >&2`),
		Args:        []string{strconv.Itoa(total)},
		OutputLimit: 4096,
	})
	checkLargeOutput(t, out, total, 4096)
	if out.Stderr.TotalBytes != 100000 || !out.Stderr.Truncated {
		t.Fatalf("stderr = %d bytes, truncated %v", out.Stderr.TotalBytes, out.Stderr.Truncated)
	}
}

// checkLargeOutput checks a bounded stdout of total bytes of 'x'.
func checkLargeOutput(t *testing.T, out Outcome, total int64, limit int) {
	t.Helper()
	got := out.Stdout
	if !out.Succeeded() || got.TotalBytes != total || !got.Truncated {
		t.Fatalf("TotalBytes = %d, Truncated = %v; want %d, true (%s)", got.TotalBytes, got.Truncated, total, out.Reason())
	}
	marker := truncationMarker(total, total-int64(limit))
	if len(got.Text) != limit+len(marker) || !strings.Contains(got.Text, marker) {
		t.Fatalf("len(Text) = %d, want %d + marker %q", len(got.Text), limit, marker)
	}
	if strings.Trim(strings.Replace(got.Text, marker, "", 1), "x") != "" {
		t.Fatalf("text holds more than x's and the marker")
	}
}

func TestContainerRunnerProcCanceledBeforeStart(t *testing.T) {
	t.Parallel()
	r, ex := newProcRunner(t, ContainerConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	out := runIn(t, ctx, r, Spec{Target: procTarget, Script: []byte("echo ran")})
	if !out.Canceled || out.ExitCode != -1 || out.Reason() != "canceled before it started" || ex.execs.Load() != 0 {
		t.Fatalf("outcome = %+v, reason %q, %d execs", out, out.Reason(), ex.execs.Load())
	}
}

func TestContainerRunnerProcContainerTrouble(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given func(*procExecer)
		cfg   ContainerConfig
		want  string
	}{
		{name: "gone", given: func(p *procExecer) { p.gone.Store(true) }, want: "container db-0/mysql not found"},
		{name: "not running", given: func(p *procExecer) { p.stopped.Store(true) }, want: "container db-0/mysql is not running"},
		{name: "no shell", given: func(*procExecer) {}, cfg: ContainerConfig{Shell: "/no/such/sh"}, want: "container db-0/mysql has no shell: /no/such/sh not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, ex := newProcRunner(t, tt.cfg)
			tt.given(ex)
			out := runIn(t, t.Context(), r, Spec{Target: procTarget, Script: []byte("echo ran")})
			if out.StartError != tt.want || out.ExitCode != -1 || out.Succeeded() || out.Reason() != "could not start: "+tt.want {
				t.Fatalf("outcome = %+v, want StartError %q", out, tt.want)
			}
		})
	}
}

func TestContainerRunnerProcStoppedMidRun(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	r, ex := newProcRunner(t, ContainerConfig{})
	wait := runInAsync(t, t.Context(), r, Spec{
		Target: procTarget,
		Script: []byte(`echo started; echo $$ > "$1"; sleep 300`),
		Args:   []string{pidFile},
	})
	pid := readPID(t, pidFile)
	killOnCleanup(t, pid)
	// The container stops: its runtime kills every process in it.
	ex.stopped.Store(true)
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	out := wait()
	want := "container db-0/mysql stopped while the hook ran"
	if out.Aborted != want || out.ExitCode != -1 || out.Succeeded() || !strings.HasPrefix(out.Reason(), want+" (after ") {
		t.Fatalf("outcome = %+v, reason %q; want Aborted %q", out, out.Reason(), want)
	}
	if out.Stdout.Text != "started\n" {
		t.Fatalf("stdout = %q", out.Stdout.Text)
	}
}

func TestContainerRunnerProcConcurrent(t *testing.T) {
	t.Parallel()
	r, _ := newProcRunner(t, ContainerConfig{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			out, err := r.Run(t.Context(), Spec{Target: procTarget, Script: []byte(`echo "$1"`), Args: []string{strconv.Itoa(i)}})
			if err != nil || out.Stdout.Text != strconv.Itoa(i)+"\n" {
				t.Errorf("run %d: %+v, %v", i, out, err)
			}
		})
	}
	wg.Wait()
}

func TestBootstrapStderr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		given       []string // writes
		wantPID     int
		wantStarted bool
		wantErr     string
		wantNoise   string
		wantText    string
	}{
		{name: "split writes", given: []string{"hookshot-p", "id 42\nhook", "shot-start\nre", "al\n"}, wantPID: 42, wantStarted: true, wantText: "real\n"},
		{name: "one write", given: []string{"hookshot-pid 7\nhookshot-start\nhookshot-pid 8\n"}, wantPID: 7, wantStarted: true, wantText: "hookshot-pid 8\n"},
		{name: "bootstrap error", given: []string{"hookshot-pid 7\nmkdir: oops\nhookshot-error no room\n"}, wantPID: 7, wantErr: "no room", wantNoise: "mkdir: oops"},
		{name: "runtime message", given: []string{"exec failed"}, wantNoise: "exec failed"},
		{name: "start before pid", given: []string{"hookshot-start\n"}, wantNoise: "hookshot-start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBootstrapStderr(newCapture(1 << 10))
			for _, w := range tt.given {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			b.finish()
			started, startErr, noise := b.state()
			if b.pid() != tt.wantPID || started != tt.wantStarted || startErr != tt.wantErr || noise != tt.wantNoise || b.dst.Output().Text != tt.wantText {
				t.Fatalf("pid %d started %v err %q noise %q text %q", b.pid(), started, startErr, noise, b.dst.Output().Text)
			}
		})
	}
	// The preamble stays bounded whatever comes before the start marker.
	b := newBootstrapStderr(newCapture(16))
	_, _ = b.Write(bytes.Repeat([]byte("x"), 1<<20))
	b.finish()
	if _, _, noise := b.state(); len(noise) > maxPreamble {
		t.Fatalf("noise holds %d bytes", len(noise))
	}
}

func TestShebang(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		given  string
		want   []string
		wantOK bool
	}{
		{"echo", nil, false},
		{"#!/bin/sh\n", []string{"/bin/sh"}, true},
		{"#! /usr/bin/env  python3 -u \nx", []string{"/usr/bin/env", "python3 -u"}, true},
		{"#!/bin/sh\t-e\n", []string{"/bin/sh", "-e"}, true},
		{"#!\n", nil, true},
	} {
		got, ok := shebang([]byte(tt.given))
		if ok != tt.wantOK || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("shebang(%q) = %q, %v; want %q, %v", tt.given, got, ok, tt.want, tt.wantOK)
		}
	}
}
