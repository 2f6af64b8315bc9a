//go:build linux

package executor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// workerEnv makes the test binary a worker process that runs
// workerScript and never returns: TestLocalRunnerWorkerKilled kills it.
const workerEnv = "HOOKSHOT_EXECUTOR_TEST_WORKER"

// escapees start the ways a hook can try to outlive its run. Each writes its
// pid to "$1.<name>" once it runs where it escaped to, then sleeps.
const escapees = `
d="$1"
# A child that stays in the hook's process group.
sh -c 'echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 300' child "$d/plain" &
# A new session (setsid), child of the script.
setsid sh -c 'echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 300' escapee "$d/setsid" &
# A double fork into a new session: the setsid'd process is orphaned when
# the subshell exits.
( setsid sh -c 'echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 300' escapee "$d/doublefork" & )
# The same with an empty environment, through busybox's setsid.
( env -i /bin/busybox setsid /bin/sh -c 'echo $$ > "$1.tmp"; /bin/mv "$1.tmp" "$1"; exec /bin/sleep 300' escapee "$d/noenv" & )
for f in plain setsid doublefork noenv; do
  while [ ! -s "$d/$f" ]; do sleep 0.01; done
done
`

var escapeeNames = []string{"plain", "setsid", "doublefork", "noenv"}

func requireEscapeTools(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid not installed")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("/bin/busybox not installed")
	}
}

// stat returns the parent, process group and session of pid.
func stat(t *testing.T, pid int) (ppid, pgrp, session int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("process %d: %v", pid, err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	ppid, _ = strconv.Atoi(f[1])
	pgrp, _ = strconv.Atoi(f[2])
	session, _ = strconv.Atoi(f[3])
	return ppid, pgrp, session
}

// readEscapees waits for the escapees' pid files in dir and checks each
// really escaped: its own session (all but plain), orphaned (the double
// forks).
func readEscapees(t *testing.T, dir string, hookPID int) map[string]int {
	t.Helper()
	pids := map[string]int{}
	for _, name := range escapeeNames {
		pid := readPID(t, filepath.Join(dir, name))
		killOnCleanup(t, pid)
		pids[name] = pid
		ppid, pgrp, session := stat(t, pid)
		switch name {
		case "plain":
			if pgrp != hookPID {
				t.Fatalf("plain child %d: process group %d, want the hook's %d", pid, pgrp, hookPID)
			}
		default:
			if session != pid || pgrp != pid {
				t.Fatalf("%s %d: session %d, group %d: it did not escape", name, pid, session, pgrp)
			}
		}
		if (name == "doublefork" || name == "noenv") && ppid == hookPID {
			t.Fatalf("%s %d is still the hook's child: not orphaned", name, pid)
		}
	}
	return pids
}

// When a hook run ends — its script exits, it times out, its context is
// canceled — nothing it started survives, whichever way it escaped, and Run
// returns only once all of it is gone.
func TestLocalRunnerKillsEscapedProcesses(t *testing.T) {
	t.Parallel()
	requireEscapeTools(t)
	tests := []struct {
		name    string
		tail    string // appended to the script after the escapees started
		timeout time.Duration
		cancel  bool
		check   func(o Outcome) bool
	}{
		{"script exits", "echo done", 0, false, func(o Outcome) bool { return o.Succeeded() && o.Stdout.Text == "done\n" }},
		{"script times out", "sleep 300", 8 * time.Second, false, func(o Outcome) bool { return o.TimedOut && o.Signal == "terminated" }},
		{"run canceled", "sleep 300", 0, true, func(o Outcome) bool { return o.Canceled && o.Signal == "terminated" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			release := filepath.Join(dir, "release")
			// The script waits for the test to have looked at the escapees.
			script := `echo $$ > "$1/hook"` + escapees + `while [ ! -e "$2" ]; do sleep 0.01; done
` + tt.tail
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			wait := runAsync(t, ctx, newTestRunner(t, LocalConfig{}), Spec{
				Script: []byte(script), Args: []string{dir, release},
				Timeout: tt.timeout, KillGrace: testDeadline,
			})
			hook := readPID(t, filepath.Join(dir, "hook"))
			pids := readEscapees(t, dir, hook)
			if err := os.WriteFile(release, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.cancel {
				cancel()
			}
			out := wait()
			if !tt.check(out) {
				t.Fatalf("outcome = %+v", out)
			}
			checkGone(t, pids)
		})
	}
}

// A run's cleanup kills only what belongs to it: a hook that is still
// running keeps its children, escaped ones included, while other runs end.
func TestLocalRunnerCleanupSparesOtherRuns(t *testing.T) {
	t.Parallel()
	requireEscapeTools(t)
	r := newTestRunner(t, LocalConfig{})
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	script := `echo $$ > "$1/hook"` + escapees + `while [ ! -e "$2" ]; do sleep 0.01; done; echo survived`
	wait := runAsync(t, t.Context(), r, Spec{Script: []byte(script), Args: []string{dir, release}})
	hook := readPID(t, filepath.Join(dir, "hook"))
	pids := readEscapees(t, dir, hook)
	// Other runs come and go, each leaving something behind.
	for range 5 {
		out, err := r.Run(t.Context(), Spec{Script: []byte("setsid sleep 300 & sleep 300 & echo ok")})
		if err != nil || !out.Succeeded() {
			t.Fatalf("other run: %+v, %v", out, err)
		}
	}
	for _, name := range []string{"plain", "setsid", "doublefork"} {
		if processGone(pids[name]) {
			t.Errorf("%s (pid %d) of a running hook was killed by another run's cleanup", name, pids[name])
		}
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := wait(); !out.Succeeded() || out.Stdout.Text != "survived\n" {
		t.Fatalf("outcome = %+v", out)
	}
	checkGone(t, pids)
}

// checkGone checks, right after Run returned, that the escapees are gone:
// not waitGone, since Run returns only after they are.
func checkGone(t *testing.T, pids map[string]int) {
	t.Helper()
	for name, pid := range pids {
		if !processGone(pid) {
			t.Errorf("%s (pid %d) outlived its hook run", name, pid)
		}
	}
}

// A worker SIGKILLed in the middle of a hook takes the hook and everything
// it started with it, escaped processes included. The worker is this test
// binary under a name that has nothing to do with hookshot.
func TestLocalRunnerWorkerKilled(t *testing.T) {
	t.Parallel()
	requireEscapeTools(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "hs")
	copyFile(t, self, bin)

	dir := t.TempDir()
	worker := exec.Command(bin, "-test.run=^TestWorkerProcess$")
	worker.Env = append(os.Environ(), workerEnv+"="+dir)
	var out bytes.Buffer
	worker.Stdout, worker.Stderr = &out, &out
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = worker.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = worker.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("worker output:\n%s", out.String())
		}
	})

	hook := readPID(t, filepath.Join(dir, "hook"))
	killOnCleanup(t, hook)
	pids := readEscapees(t, dir, hook)
	reaper := readPID(t, filepath.Join(dir, "reaper"))
	killOnCleanup(t, reaper)
	if processGone(reaper) {
		t.Fatal("no reaper")
	}

	if err := worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	waitGone(t, hook)
	for name, pid := range pids {
		waitFor(t, fmt.Sprintf("%s (pid %d) gone with its worker", name, pid), func() bool { return processGone(pid) })
	}
	waitFor(t, "the reaper gone with its worker", func() bool { return processGone(reaper) })
}

// TestWorkerProcess is the worker of TestLocalRunnerWorkerKilled, in a
// process of its own.
func TestWorkerProcess(t *testing.T) {
	dir := os.Getenv(workerEnv)
	if dir == "" {
		t.Skip("only run by TestLocalRunnerWorkerKilled")
	}
	r := newTestRunner(t, LocalConfig{})
	script := `echo $$ > "$1/hook.tmp"; mv "$1/hook.tmp" "$1/hook"` + escapees + "sleep 300"
	go func() {
		// Once the hook has started, the reaper exists.
		readPID(t, filepath.Join(dir, "hook"))
		reaperMu.Lock()
		pid := current.proc.Pid
		reaperMu.Unlock()
		_ = os.WriteFile(filepath.Join(dir, "reaper"), []byte(strconv.Itoa(pid)+"\n"), 0o600)
	}()
	out, err := r.Run(t.Context(), Spec{Script: []byte(script), Args: []string{dir}})
	t.Fatalf("the worker's hook ended: %+v, %v", out, err)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
