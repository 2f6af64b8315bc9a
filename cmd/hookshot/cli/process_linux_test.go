//go:build linux

package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers of the tests that run the hookshot binary as a process and kill
// it (worker kill, drain): Linux only, as the hook reaper is.

// buildHookshot builds the hookshot binary of this module into a temp dir.
func buildHookshot(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(t.TempDir(), "hookshot")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hookshot")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a subprocess in its own process group, killed with the test.
type process struct {
	cmd    *exec.Cmd
	out    *os.File
	exited chan struct{}
}

func startProcess(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		out.Close()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), p.output())
		}
	})
	return p
}

// kill sends SIGKILL to the process alone (not its group) and waits for it.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("killed process not reaped")
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("process ended with %v, not by SIGKILL; output:\n%s", p.cmd.ProcessState, p.output())
	}
}

func (p *process) output() string {
	b, _ := os.ReadFile(p.out.Name())
	return string(b)
}

// pidRef names one process: its pid and its start time, so that a reused
// pid is not mistaken for it.
type pidRef struct {
	pid   int
	start string
}

func readProcess(t *testing.T, pidFile string) pidRef {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	state, start, ok := procStat(pid)
	if !ok || state == "Z" {
		t.Fatalf("process %d is not running", pid)
	}
	return pidRef{pid: pid, start: start}
}

// gone reports whether the process has ended: no such pid, a zombie nobody
// reaped yet, or the pid now names another process.
func (r pidRef) gone() bool {
	state, start, ok := procStat(r.pid)
	return !ok || state == "Z" || state == "X" || start != r.start
}

// procStat returns the state and start time of pid from /proc/<pid>/stat.
func procStat(pid int) (state, start string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", "", false
	}
	// The command name is in parentheses and may hold spaces: fields count
	// from after the last ')'. state is field 3, starttime field 22.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", "", false
	}
	return f[0], f[19], true
}
