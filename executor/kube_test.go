package executor_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/cluster/kubetest"
)

// kubeCluster starts a kubetest cluster with the exec tests' pods. After
// the cluster closes, the test waits for the client libraries' goroutines
// that outlive a stream by a few seconds, for TestMain's leak check.
func kubeCluster(t *testing.T, mode kubetest.Mode) *kubetest.Cluster {
	t.Helper()
	t.Cleanup(func() { kubetest.Settle(10 * time.Second) })
	kc := kubetest.New(t, kubetest.Options{Mode: mode})
	kubePods(kc)
	return kc
}

// newKubeExecer is an execer of kc, built as production builds it: a rest
// config and a clientset of it.
func newKubeExecer(t *testing.T, kc *kubetest.Cluster) *executor.KubeExecer {
	t.Helper()
	cfg := kc.RESTConfig()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := executor.NewKubeExecer(cfg, cs)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// kubePods adds the pods the exec tests use to kc.
func kubePods(kc *kubetest.Cluster) {
	kc.AddPod(kubetest.RunningPod("payroll", "db-0", map[string]string{"app": "payroll"}, "db", "exporter"))
	kc.AddPod(kubetest.RunningPod("payroll", "done-0", nil, "job"))
	kc.SetPhase("payroll", "done-0", corev1.PodSucceeded)
	crashing := kubetest.RunningPod("payroll", "web-0", nil, "nginx")
	kubetest.SetWaiting(crashing, "nginx", "CrashLoopBackOff")
	kc.AddPod(crashing)
	kc.AddPod(kubetest.PendingPod("payroll", "pending-0", nil, "app"))
}

func TestKubeExecer(t *testing.T) {
	modes := []struct {
		name string
		mode kubetest.Mode
		// check says which upgrades the API endpoint saw for n execs.
		check func(t *testing.T, s kubetest.Stats, n int)
	}{
		{"websocket", kubetest.ModeWebSocketAndSPDY, func(t *testing.T, s kubetest.Stats, n int) {
			if s.WebSocketExecs != n || s.SPDYExecs != 0 {
				t.Errorf("%d execs: %+v, want all through WebSocket", n, s)
			}
		}},
		{"spdy fallback", kubetest.ModeSPDYOnly, func(t *testing.T, s kubetest.Stats, n int) {
			if s.WebSocketExecs != n || s.SPDYExecs != n {
				t.Errorf("%d execs: %+v, want each refused as WebSocket and run through SPDY", n, s)
			}
		}},
		{"websocket only", kubetest.ModeWebSocketOnly, func(t *testing.T, s kubetest.Stats, n int) {
			if s.WebSocketExecs != n || s.SPDYExecs != 0 {
				t.Errorf("%d execs: %+v, want all through WebSocket", n, s)
			}
		}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			kc := kubeCluster(t, m.mode)
			ex := newKubeExecer(t, kc)
			db := executor.Target{Cluster: "test", Namespace: "payroll", Pod: "db-0", Container: "db"}

			tests := []struct {
				name       string
				argv       []string
				stdin      string
				wantCode   int
				wantStdout string
				wantStderr string
			}{
				{"streams apart", []string{"sh", "-c", "echo out; echo err >&2"}, "", 0, "out\n", "err\n"},
				{"exit code", []string{"sh", "-c", "echo partial; exit 3"}, "", 3, "partial\n", ""},
				{"stdin to its end", []string{"sh", "-c", "cat; echo eof >&2"}, "line 1\nline 2\n", 0, "line 1\nline 2\n", "eof\n"},
				{"argv without a shell", []string{"printf", "%s|", "a b", "$HOME", ""}, "", 0, "a b|$HOME||", ""},
				{"killed by a signal", []string{"sh", "-c", "kill -TERM $$"}, "", 128 + 15, "", ""},
				{"environment of the container", []string{"sh", "-c", "echo $HOSTNAME"}, "", 0, "db-0\n", ""},
			}
			for _, tt := range tests {
				var stdin io.Reader
				if tt.stdin != "" {
					stdin = strings.NewReader(tt.stdin)
				}
				var stdout, stderr bytes.Buffer
				code, err := ex.Exec(t.Context(), db, tt.argv, stdin, &stdout, &stderr)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if code != tt.wantCode || stdout.String() != tt.wantStdout || stderr.String() != tt.wantStderr {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", tt.name, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
				}
			}
			m.check(t, kc.Stats(), len(tests))

			// 10 MiB pass through the stream whole.
			n := &countWriter{}
			code, err := ex.Exec(t.Context(), db, []string{"head", "-c", "10485760", "/dev/zero"}, nil, n, io.Discard)
			if err != nil || code != 0 || n.n != 10<<20 {
				t.Errorf("10 MiB of output: exit %d, %v, %d bytes", code, err, n.n)
			}
		})
	}
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func TestKubeExecerNotThere(t *testing.T) {
	t.Parallel()
	kc := kubeCluster(t, kubetest.ModeWebSocketAndSPDY)
	ex := newKubeExecer(t, kc)
	target := func(pod, container string) executor.Target {
		return executor.Target{Cluster: "test", Namespace: "payroll", Pod: pod, Container: container}
	}
	tests := []struct {
		name    string
		given   executor.Target
		wantErr error
	}{
		{"unknown pod", target("nope-0", "db"), executor.ErrContainerNotFound},
		{"unknown namespace", executor.Target{Namespace: "nope", Pod: "db-0", Container: "db"}, executor.ErrContainerNotFound},
		{"unknown container", target("db-0", "nope"), executor.ErrContainerNotFound},
		{"pod succeeded", target("done-0", "job"), executor.ErrContainerNotRunning},
		{"container waiting", target("web-0", "nginx"), executor.ErrContainerNotRunning},
		{"pod pending without a node", target("pending-0", "app"), executor.ErrContainerNotRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := ex.Exec(t.Context(), tt.given, []string{"true"}, nil, io.Discard, io.Discard)
			if !errors.Is(err, tt.wantErr) || code != -1 {
				t.Errorf("Exec: %d, %v; want -1, %v", code, err, tt.wantErr)
			}
			running, err := ex.Running(t.Context(), tt.given)
			if running || err != nil {
				t.Errorf("Running: %v, %v; want false, nil", running, err)
			}
		})
	}

	running, err := ex.Running(t.Context(), target("db-0", "exporter"))
	if !running || err != nil {
		t.Errorf("Running of a running container: %v, %v", running, err)
	}
	// A command the runtime cannot start is 127 (not found) or 126 (not
	// executable), the runtime's message on stderr, as Docker says it.
	notExecutable := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(notExecutable, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		argv     []string
		wantCode int
		wantErr  string
	}{
		{[]string{"/no/such/sh", "-c", "true"}, 127, "no such file or directory"},
		{[]string{notExecutable}, 126, "permission denied"},
	} {
		var stderr bytes.Buffer
		code, err := ex.Exec(t.Context(), target("db-0", "db"), tt.argv, nil, io.Discard, &stderr)
		if err != nil || code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("Exec %q: %d, %v, stderr %q; want %d and %q", tt.argv, code, err, stderr.String(), tt.wantCode, tt.wantErr)
		}
	}
	if _, err := ex.Exec(t.Context(), target("db-0", "db"), nil, nil, io.Discard, io.Discard); !errors.Is(err, executor.ErrInvalidSpec) {
		t.Errorf("Exec with no command: %v, want ErrInvalidSpec", err)
	}
}

// A canceled exec returns promptly with ctx's error; the process it started
// is the cluster's to end (ContainerRunner kills it with another exec).
func TestKubeExecerCanceled(t *testing.T) {
	t.Parallel()
	kc := kubeCluster(t, kubetest.ModeWebSocketAndSPDY)
	ex := newKubeExecer(t, kc)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ex.Exec(ctx, executor.Target{Namespace: "payroll", Pod: "db-0", Container: "db"}, []string{"sleep", "1000"}, nil, io.Discard, io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Exec: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Exec returned after %v", d)
	}
}

// An API server that went away is the runtime's trouble: neither not found
// nor not running, and Running cannot tell.
func TestKubeExecerUnreachable(t *testing.T) {
	t.Parallel()
	kc := kubeCluster(t, kubetest.ModeWebSocketAndSPDY)
	ex := newKubeExecer(t, kc)
	kc.Close()
	target := executor.Target{Namespace: "payroll", Pod: "db-0", Container: "db"}
	_, err := ex.Exec(t.Context(), target, []string{"true"}, nil, io.Discard, io.Discard)
	if err == nil || errors.Is(err, executor.ErrContainerNotFound) || errors.Is(err, executor.ErrContainerNotRunning) {
		t.Errorf("Exec against a closed API: %v", err)
	}
	if _, err := ex.Running(t.Context(), target); err == nil {
		t.Error("Running against a closed API: no error")
	}
}
