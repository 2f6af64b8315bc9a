package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"go.uber.org/goleak"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/cluster/kubetest"
)

// kubeApp fills kc with the pods of the discovery tests.
//
//	payroll/db-0       app=payroll tier=db        db, exporter; an init and an ephemeral container
//	payroll/db-1       app=payroll tier=db        db; exporter waiting
//	payroll/web-0      app=payroll tier=frontend  nginx
//	payroll/canary-0   app=payroll canary=true    nginx
//	payroll/legacy-0   tier=db                    legacy
//	payroll/job-0      app=payroll tier=batch     (Succeeded)
//	payroll/pending-0  app=payroll                (Pending)
//	shared/cache-0     app.kubernetes.io/instance=payroll tier=cache     redis
//	shared/cache-1     app.kubernetes.io/instance=other tier=cache       redis
//	shared/front-0     app.kubernetes.io/instance=payroll tier=frontend  nginx
func kubeApp(kc *kubetest.Cluster) {
	db := kubetest.RunningPod("payroll", "db-0", map[string]string{"app": "payroll", "tier": "db"}, "db", "exporter")
	db.Spec.Containers[0].Image = "mariadb:11.4"
	db.Spec.InitContainers = []corev1.Container{{Name: "init-schema", Image: "flyway:10"}}
	db.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init-schema", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}
	db.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox"}}}
	db.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "debugger", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	kc.AddPod(db)

	db1 := kubetest.RunningPod("payroll", "db-1", map[string]string{"app": "payroll", "tier": "db"}, "db", "exporter")
	kubetest.SetWaiting(db1, "exporter", "CrashLoopBackOff")
	kc.AddPod(db1)

	kc.AddPod(kubetest.RunningPod("payroll", "web-0", map[string]string{"app": "payroll", "tier": "frontend"}, "nginx"))
	kc.AddPod(kubetest.RunningPod("payroll", "canary-0", map[string]string{"app": "payroll", "canary": "true"}, "nginx"))
	kc.AddPod(kubetest.RunningPod("payroll", "legacy-0", map[string]string{"tier": "db"}, "legacy"))
	kc.AddPod(kubetest.RunningPod("payroll", "job-0", map[string]string{"app": "payroll", "tier": "batch"}, "job"))
	kc.SetPhase("payroll", "job-0", corev1.PodSucceeded)
	kc.AddPod(kubetest.PendingPod("payroll", "pending-0", map[string]string{"app": "payroll"}, "app"))

	kc.AddPod(kubetest.RunningPod("shared", "cache-0", map[string]string{"app.kubernetes.io/instance": "payroll", "tier": "cache"}, "redis"))
	kc.AddPod(kubetest.RunningPod("shared", "cache-1", map[string]string{"app.kubernetes.io/instance": "other", "tier": "cache"}, "redis"))
	kc.AddPod(kubetest.RunningPod("shared", "front-0", map[string]string{"app.kubernetes.io/instance": "payroll", "tier": "frontend"}, "nginx"))
}

// newKube starts a kubetest cluster with kubeApp's pods and the backend of
// its kubeconfig, built by NewKubernetes as production builds it.
func newKube(t *testing.T) (*kubetest.Cluster, Backend) {
	t.Helper()
	kc := kubetest.New(t, kubetest.Options{Context: "prod"})
	kubeApp(kc)
	b, err := NewKubernetes(Config{Name: "prod-eu", Type: TypeKubernetes, Kubeconfig: kc.Kubeconfig(), Context: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return kc, b
}

// TestKube runs the Kubernetes backend's tests, in parallel, then checks
// that none of them left a goroutine behind.
func TestKube(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		kubetest.Settle(10 * time.Second)
		goleak.VerifyNone(t, ignore)
	})
	for _, tt := range []struct {
		name string
		test func(*testing.T)
	}{
		{"Discover", kubeDiscover},
		{"DiscoverPages", kubeDiscoverPages},
		{"Unreachable", kubeUnreachable},
		{"Unauthorized", kubeUnauthorized},
		{"Registry", kubeRegistry},
		{"RunnerHooks", kubeRunnerHooks},
		{"RunnerTimeoutKillsTree", kubeRunnerTimeoutKillsTree},
		{"RunnerLargeOutput", kubeRunnerLargeOutput},
		{"RunnerContainerTrouble", kubeRunnerContainerTrouble},
		{"RunnerStoppedMidRun", kubeRunnerStoppedMidRun},
		{"RunnerKillAfterGrace", kubeRunnerKillAfterGrace},
		{"RunnerNoShell", kubeRunnerNoShell},
	} {
		t.Run(tt.name, tt.test)
	}
}

// TestKubeKubeconfig is not parallel: it sets $KUBECONFIG.
func TestKubeKubeconfig(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		kubetest.Settle(10 * time.Second)
		goleak.VerifyNone(t, ignore)
	})
	kubeKubeconfig(t)
}

func keys(cs []events.Container) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Key())
	}
	return out
}

func kubeDiscover(t *testing.T) {
	t.Parallel()
	_, b := newKube(t)
	scope := func(ns string, selectors ...string) events.NamespaceSelector {
		return events.NamespaceSelector{Namespace: ns, LabelSelectors: selectors}
	}
	tests := []struct {
		name  string
		given []events.NamespaceSelector
		want  []string
	}{
		{"a namespace, no selector", []events.NamespaceSelector{scope("payroll")},
			[]string{"payroll/canary-0/nginx", "payroll/db-0/db", "payroll/db-0/exporter", "payroll/db-1/db", "payroll/legacy-0/legacy", "payroll/web-0/nginx"}},
		{"equality", []events.NamespaceSelector{scope("payroll", "tier=db")},
			[]string{"payroll/db-0/db", "payroll/db-0/exporter", "payroll/db-1/db", "payroll/legacy-0/legacy"}},
		{"two requirements", []events.NamespaceSelector{scope("payroll", "app=payroll,tier==db")},
			[]string{"payroll/db-0/db", "payroll/db-0/exporter", "payroll/db-1/db"}},
		{"inequality", []events.NamespaceSelector{scope("payroll", "tier!=db")},
			[]string{"payroll/canary-0/nginx", "payroll/web-0/nginx"}},
		{"in", []events.NamespaceSelector{scope("shared", "tier in (cache, db)")},
			[]string{"shared/cache-0/redis", "shared/cache-1/redis"}},
		{"notin (Astra's example)", []events.NamespaceSelector{scope("shared", "app.kubernetes.io/instance=payroll,tier notin (frontend)")},
			[]string{"shared/cache-0/redis"}},
		{"exists", []events.NamespaceSelector{scope("payroll", "canary")},
			[]string{"payroll/canary-0/nginx"}},
		{"does not exist", []events.NamespaceSelector{scope("payroll", "!app")},
			[]string{"payroll/legacy-0/legacy"}},
		{"union of selectors, no duplicates", []events.NamespaceSelector{scope("payroll", "tier=db", "app=payroll", "canary")},
			[]string{"payroll/canary-0/nginx", "payroll/db-0/db", "payroll/db-0/exporter", "payroll/db-1/db", "payroll/legacy-0/legacy", "payroll/web-0/nginx"}},
		{"several namespaces, sorted", []events.NamespaceSelector{scope("shared", "tier=frontend"), scope("payroll", "tier=frontend")},
			[]string{"payroll/web-0/nginx", "shared/front-0/nginx"}},
		{"a namespace twice", []events.NamespaceSelector{scope("payroll", "canary"), scope("payroll", "canary=true")},
			[]string{"payroll/canary-0/nginx"}},
		{"matches nothing", []events.NamespaceSelector{scope("payroll", "app=nothing")}, []string{}},
		{"unknown namespace", []events.NamespaceSelector{scope("nowhere")}, []string{}},
		{"no scope", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.Discover(t.Context(), tt.given)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys(got), tt.want) {
				t.Errorf("got %q\nwant %q", keys(got), tt.want)
			}
		})
	}

	got, err := b.Discover(t.Context(), []events.NamespaceSelector{scope("payroll", "tier=db")})
	if err != nil {
		t.Fatal(err)
	}
	want := events.Container{
		NamespaceName: "payroll", PodName: "db-0", ContainerName: "db", ContainerImage: "mariadb:11.4",
		PodLabels: []events.Label{{Name: "app", Value: "payroll"}, {Name: "tier", Value: "db"}},
	}
	if !slices.ContainsFunc(got, func(c events.Container) bool {
		return c.Key() == want.Key() && c.ContainerImage == want.ContainerImage && slices.Equal(c.PodLabels, want.PodLabels)
	}) {
		t.Errorf("got %+v, want it to hold %+v", got, want)
	}

	_, err = b.Discover(t.Context(), []events.NamespaceSelector{scope("payroll", "tier in (db")})
	if err == nil || !strings.Contains(err.Error(), `label selector "tier in (db"`) {
		t.Errorf("bad selector: %v", err)
	}
}

// Big namespaces are listed in pages.
func kubeDiscoverPages(t *testing.T) {
	t.Parallel()
	kc, b := newKube(t)
	b.(*kubeBackend).pageSize = 2
	before := kc.Stats().Lists
	got, err := b.Discover(t.Context(), []events.NamespaceSelector{{Namespace: "payroll"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Errorf("got %q, want the 6 running containers", keys(got))
	}
	// 7 pods, 2 a page: 4 requests.
	if n := kc.Stats().Lists - before; n != 4 {
		t.Errorf("%d list requests, want 4 pages", n)
	}
}

// A cluster whose API does not answer is an error naming what failed, never
// an empty inventory; Ping fails too.
func kubeUnreachable(t *testing.T) {
	t.Parallel()
	kc, b := newKube(t)
	if err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of a running API: %v", err)
	}
	kc.Close()
	got, err := b.Discover(t.Context(), []events.NamespaceSelector{{Namespace: "payroll", LabelSelectors: []string{"tier=db"}}})
	if err == nil || got != nil || !strings.Contains(err.Error(), `list pods in namespace payroll with label selector "tier=db": `) {
		t.Errorf("Discover of a closed API: %v, %v", got, err)
	}
	if err := b.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "server version") {
		t.Errorf("Ping of a closed API: %v", err)
	}
}

// Credentials come from the kubeconfig; a wrong token is an error.
func kubeUnauthorized(t *testing.T) {
	t.Parallel()
	kc := kubetest.New(t, kubetest.Options{})
	cfg := kc.Config()
	cfg.AuthInfos[kc.Context()].Token = "wrong"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := kubetest.WriteKubeconfig(cfg, path); err != nil {
		t.Fatal(err)
	}
	b, err := NewKubernetes(Config{Name: "prod-eu", Type: TypeKubernetes, Kubeconfig: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Discover(t.Context(), []events.NamespaceSelector{{Namespace: "payroll"}}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("Discover with a wrong token: %v", err)
	}
}

// Context picks the kubeconfig's context; without it, the current one;
// without Kubeconfig, $KUBECONFIG.
func kubeKubeconfig(t *testing.T) {
	t.Helper()
	kc := kubetest.New(t, kubetest.Options{Context: "live"})
	kubeApp(kc)
	cfg := kc.Config()
	cfg.Clusters["dead"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", CertificateAuthorityData: cfg.Clusters["live"].CertificateAuthorityData}
	cfg.Contexts["dead"] = &clientcmdapi.Context{Cluster: "dead", AuthInfo: "live"}
	cfg.CurrentContext = "dead"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := kubetest.WriteKubeconfig(cfg, path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", path)
	ping := func(c Config) error {
		t.Helper()
		b, err := NewKubernetes(c)
		if err != nil {
			t.Fatalf("NewKubernetes(%+v): %v", c, err)
		}
		defer b.Close()
		return b.Ping(t.Context())
	}
	if err := ping(Config{Name: "a", Type: TypeKubernetes, Kubeconfig: path, Context: "live"}); err != nil {
		t.Errorf("context live: %v", err)
	}
	if err := ping(Config{Name: "a", Type: TypeKubernetes, Context: "live"}); err != nil {
		t.Errorf("$KUBECONFIG, context live: %v", err)
	}
	if err := ping(Config{Name: "a", Type: TypeKubernetes}); err == nil {
		t.Error("the current context (dead) answered")
	}

	_, err := NewKubernetes(Config{Name: "a", Type: TypeKubernetes, Kubeconfig: path, Context: "nope"})
	if err == nil || !strings.Contains(err.Error(), "context nope") {
		t.Errorf("unknown context: %v", err)
	}
	_, err = NewKubernetes(Config{Name: "a", Type: TypeKubernetes, Kubeconfig: filepath.Join(t.TempDir(), "missing")})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing kubeconfig: %v", err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := NewKubernetes(Config{Name: "a", Type: TypeKubernetes, InCluster: true}); err == nil || !strings.Contains(err.Error(), "in-cluster") {
		t.Errorf("in-cluster outside a pod: %v", err)
	}
}

// The registry reaches a Kubernetes cluster through its configuration only.
func kubeRegistry(t *testing.T) {
	t.Parallel()
	kc := kubetest.New(t, kubetest.Options{Context: "prod"})
	kubeApp(kc)
	r, err := NewRegistry(RegistryConfig{Clusters: []Config{{Name: "prod-eu", Type: TypeKubernetes, Kubeconfig: kc.Kubeconfig(), Context: "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if in, _ := r.Get(t.Context(), "prod-eu"); in.State != StateRunning {
		t.Errorf("state %s (%s), want running", in.State, in.StateDetail)
	}
	got, err := r.Discover(t.Context(), "prod-eu", []events.NamespaceSelector{{Namespace: "shared", LabelSelectors: []string{"tier=cache"}}})
	if err != nil || !slices.Equal(keys(got), []string{"shared/cache-0/redis", "shared/cache-1/redis"}) {
		t.Errorf("Discover: %q, %v", keys(got), err)
	}
	kc.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err = r.Discover(ctx, IDOf("prod-eu"), []events.NamespaceSelector{{Namespace: "shared"}})
	if err == nil || !strings.HasPrefix(err.Error(), "cluster prod-eu (kubernetes): list pods in namespace shared: ") {
		t.Errorf("Discover of a closed cluster: %v", err)
	}
	if in, _ := r.Resolve("prod-eu"); in.State != StateUnavailable {
		t.Errorf("state %s after a failed discovery, want unavailable", in.State)
	}
	if errors.Is(err, ErrUnknownCluster) {
		t.Error("a closed cluster is not an unknown one")
	}
}

// kubeModes are the exec paths a runner is tested through: a WebSocket
// translated by the API server, and an API server that refuses the
// WebSocket so every exec falls back to SPDY.
var kubeModes = []struct {
	name string
	mode kubetest.Mode
}{
	{"websocket", kubetest.ModeWebSocketAndSPDY},
	{"spdy fallback", kubetest.ModeSPDYOnly},
}

// inEveryMode runs test, in parallel, once for each of kubeModes, with a
// cluster of that mode and the registry's runner for it.
func inEveryMode(t *testing.T, test func(t *testing.T, kc *kubetest.Cluster, run executor.Runner, mode kubetest.Mode)) {
	t.Helper()
	for _, m := range kubeModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			kc, run := kubeRunner(t, m.mode)
			test(t, kc, run, m.mode)
		})
	}
}

// checkKubeExecs checks the protocol the execs took.
func checkKubeExecs(t *testing.T, kc *kubetest.Cluster, mode kubetest.Mode) {
	t.Helper()
	s := kc.Stats()
	switch {
	case s.WebSocketExecs == 0:
		t.Errorf("no exec: %+v", s)
	case mode == kubetest.ModeSPDYOnly && s.SPDYExecs != s.WebSocketExecs:
		t.Errorf("%+v: want each exec refused as a WebSocket, then run through SPDY", s)
	case mode != kubetest.ModeSPDYOnly && s.SPDYExecs != 0:
		t.Errorf("%+v: want every exec through the WebSocket", s)
	}
}

var kubeDB = executor.Target{Cluster: "prod-eu", Namespace: "payroll", Pod: "db-0", Container: "db"}

// kubeRunner starts a kubetest cluster with kubeApp's pods and returns the
// runner a worker gets for it from a registry configured with its
// kubeconfig.
func kubeRunner(t *testing.T, mode kubetest.Mode, cfg ...executor.ContainerConfig) (*kubetest.Cluster, executor.Runner) {
	t.Helper()
	kc := kubetest.New(t, kubetest.Options{Mode: mode, Context: "prod"})
	kubeApp(kc)
	r, err := NewRegistry(RegistryConfig{Clusters: []Config{{Name: "prod-eu", Type: TypeKubernetes, Kubeconfig: kc.Kubeconfig(), Context: "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	runners, err := r.Runners(nil, append(cfg, executor.ContainerConfig{})[0])
	if err != nil {
		t.Fatal(err)
	}
	run, err := runners("prod-eu")
	if err != nil {
		t.Fatal(err)
	}
	return kc, run
}

// runHook runs spec, failing the test on a Run error or after 20s.
func runHook(t *testing.T, run executor.Runner, spec executor.Spec) executor.Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := run.Run(ctx, spec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out
}

func kubeRunnerHooks(t *testing.T) {
	inEveryMode(t, func(t *testing.T, kc *kubetest.Cluster, run executor.Runner, mode kubetest.Mode) {
		dir := t.TempDir()
		env := map[string]string{
			"HOOKSHOT_RUN_ID": "run-1", "HOOKSHOT_EXECUTION_ID": "exec-1", "HOOKSHOT_ATTEMPT": "1",
			"HOOKSHOT_ACTION": "snapshot", "HOOKSHOT_STAGE": "pre", "HOOKSHOT_APP_ID": "app 'payroll'",
			"HOOKSHOT_NAMESPACE": "payroll", "HOOKSHOT_POD_NAME": "db-0",
			"HOOKSHOT_CONTAINER_NAME": "db", "HOOKSHOT_CONTAINER_IMAGE": "mariadb:11.4",
		}
		out := runHook(t, run, executor.Spec{
			Target: kubeDB,
			Script: []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$1/args\"\nenv | grep '^HOOKSHOT_' | sort > \"$1/env\"\necho frozen; echo 'slow disk' >&2\n"),
			Args:   []string{dir, "with space", "$HOME", "it's"},
			Env:    env,
		})
		if !out.Succeeded() || out.Stdout.Text != "frozen\n" || out.Stderr.Text != "slow disk\n" {
			t.Fatalf("outcome %+v", out)
		}
		args, err := os.ReadFile(filepath.Join(dir, "args"))
		if err != nil || string(args) != dir+"\nwith space\n$HOME\nit's\n" {
			t.Errorf("the hook's arguments: %q, %v", args, err)
		}
		var wantEnv []string
		for k, v := range env {
			wantEnv = append(wantEnv, k+"="+v)
		}
		slices.Sort(wantEnv)
		gotEnv, err := os.ReadFile(filepath.Join(dir, "env"))
		if err != nil || string(gotEnv) != strings.Join(wantEnv, "\n")+"\n" {
			t.Errorf("the hook's environment:\n%s\nwant\n%s", gotEnv, strings.Join(wantEnv, "\n"))
		}

		out = runHook(t, run, executor.Spec{Target: kubeDB, Script: []byte("echo out; echo err >&2; exit 3")})
		if out.ExitCode != 3 || out.Stdout.Text != "out\n" || out.Stderr.Text != "err\n" || out.Reason() != "exit code 3" {
			t.Errorf("outcome %+v, want exit code 3", out)
		}
		checkKubeExecs(t, kc, mode)
	})
}

// sleepers lists the processes whose command line holds marker.
func sleepers(t *testing.T, marker string) []string {
	t.Helper()
	files, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), marker) {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(f, "/proc/"), "/cmdline"))
		}
	}
	return out
}

// A timed-out hook's whole process tree dies in its container: the runner
// sends SIGTERM to its group with a second exec.
func kubeRunnerTimeoutKillsTree(t *testing.T) {
	inEveryMode(t, func(t *testing.T, kc *kubetest.Cluster, run executor.Runner, mode kubetest.Mode) {
		dir := t.TempDir()
		// A duration no other process has: the marker to find the sleeps by.
		marker := fmt.Sprintf("1000.%d%d", mode, time.Now().UnixNano()%1e9)
		out := runHook(t, run, executor.Spec{
			Target:    kubeDB,
			Script:    []byte(`sleep "$1" & echo $! > "$2/bg"; sleep "$1" & echo $! > "$2/fg"; wait`),
			Args:      []string{marker, dir},
			Timeout:   time.Second,
			KillGrace: 10 * time.Second,
		})
		if !out.TimedOut || out.Signal != "terminated" || strings.Contains(out.Stderr.Text, "sleep") {
			t.Errorf("outcome %+v, want timed out and terminated", out)
		}
		if out.Duration > 8*time.Second {
			t.Errorf("took %v: the SIGTERM did not end it", out.Duration)
		}
		for _, f := range []string{"bg", "fg"} {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || len(b) < 2 {
				t.Errorf("the hook did not start its %s sleep: %q, %v", f, b, err)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for left := sleepers(t, marker); len(left) > 0; left = sleepers(t, marker) {
			if time.Now().After(deadline) {
				t.Fatalf("processes %v of the hook survived its timeout", left)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// What TestKubeRealCluster asks the container agrees.
		sleepersBefore := exec.Command("sleep", marker)
		if err := sleepersBefore.Start(); err != nil {
			t.Fatal(err)
		}
		out = runHook(t, run, executor.Spec{Target: kubeDB, Script: []byte(procSleepers), Args: []string{marker}})
		_ = sleepersBefore.Process.Kill()
		_ = sleepersBefore.Wait()
		if got, want := strings.TrimSpace(out.Stdout.Text), fmt.Sprint(sleepersBefore.Process.Pid)+"/cmdline"; got != want {
			t.Errorf("procSleepers found %q, want %q", got, want)
		}
		checkKubeExecs(t, kc, mode)
	})
}

func kubeRunnerLargeOutput(t *testing.T) {
	inEveryMode(t, func(t *testing.T, _ *kubetest.Cluster, run executor.Runner, _ kubetest.Mode) {
		const total = 10 << 20
		out := runHook(t, run, executor.Spec{
			Target:      kubeDB,
			Script:      []byte(`head -c "$1" /dev/zero | tr '\0' x`),
			Args:        []string{strconv.Itoa(total)},
			OutputLimit: 4096,
		})
		if !out.Succeeded() || out.Stdout.TotalBytes != total || !out.Stdout.Truncated || len(out.Stdout.Text) > 4096+200 {
			t.Errorf("outcome: succeeded %v, %d bytes, truncated %v, kept %d", out.Succeeded(), out.Stdout.TotalBytes, out.Stdout.Truncated, len(out.Stdout.Text))
		}
	})
}

// A hook for a container that cannot run it did not start, and says why.
func kubeRunnerContainerTrouble(t *testing.T) {
	t.Parallel()
	_, run := kubeRunner(t, kubetest.ModeWebSocketAndSPDY)
	target := func(pod, container string) executor.Target {
		return executor.Target{Cluster: "prod-eu", Namespace: "payroll", Pod: pod, Container: container}
	}
	tests := []struct {
		name  string
		given executor.Target
		want  string
	}{
		{"unknown pod", target("nope-0", "db"), "container nope-0/db not found"},
		{"unknown container", target("db-0", "nope"), "container db-0/nope not found"},
		{"pod succeeded", target("job-0", "job"), "container job-0/job is not running"},
		{"pod pending", target("pending-0", "app"), "container pending-0/app is not running"},
		{"container waiting", target("db-1", "exporter"), "container db-1/exporter is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runHook(t, run, executor.Spec{Target: tt.given, Script: []byte("echo ran")})
			if out.StartError != tt.want || out.Stdout.Text != "" || out.Succeeded() {
				t.Errorf("outcome %+v, want StartError %q", out, tt.want)
			}
		})
	}
}

// A container that stops, or a pod that is deleted, while its hook runs
// (the processes die with it) cuts the hook off: the outcome says so.
func kubeRunnerStoppedMidRun(t *testing.T) {
	for _, tt := range []struct {
		name string
		stop func(kc *kubetest.Cluster)
	}{
		{"stopped", func(kc *kubetest.Cluster) { kc.SetPhase("payroll", "db-0", corev1.PodFailed) }},
		{"removed", func(kc *kubetest.Cluster) { kc.DeletePod("payroll", "db-0") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kc, run := kubeRunner(t, kubetest.ModeWebSocketAndSPDY)
			started := filepath.Join(t.TempDir(), "started")
			wait := runHookAsync(t, run, executor.Spec{Target: kubeDB, Script: []byte(`echo > "$1"; exec sleep 1000`), Args: []string{started}})
			waitFile(t, started)
			tt.stop(kc)
			if out := wait(); out.Aborted != "container db-0/db stopped while the hook ran" || out.Succeeded() {
				t.Errorf("outcome %+v, want aborted", out)
			}
		})
	}
}

// runHookAsync starts spec; the function it returns waits for its outcome.
func runHookAsync(t *testing.T, run executor.Runner, spec executor.Spec) func() executor.Outcome {
	t.Helper()
	done := make(chan executor.Outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		out, err := run.Run(ctx, spec)
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		done <- out
	}()
	return func() executor.Outcome {
		t.Helper()
		select {
		case out := <-done:
			return out
		case <-time.After(25 * time.Second):
			t.Fatal("Run did not return")
			return executor.Outcome{}
		}
	}
}

// waitFile waits up to 10s for path to exist.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, err := os.Stat(path); err != nil; _, err = os.Stat(path) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A canceled hook that ignores SIGTERM gets SIGKILL after its grace, and
// leaves nothing behind: neither processes nor its run directory.
func kubeRunnerKillAfterGrace(t *testing.T) {
	inEveryMode(t, func(t *testing.T, _ *kubetest.Cluster, run executor.Runner, _ kubetest.Mode) {
		dir := t.TempDir()
		marker := fmt.Sprintf("2001.%d", time.Now().UnixNano()%1e9)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan executor.Outcome, 1)
		go func() {
			out, err := run.Run(ctx, executor.Spec{
				Target:    kubeDB,
				Script:    []byte(`echo "$0"; trap 'echo TERM' TERM; sleep "$1" & echo > "$2/started"; while :; do sleep 0.1; done`),
				Args:      []string{marker, dir},
				KillGrace: 1500 * time.Millisecond,
			})
			if err != nil {
				t.Errorf("Run: %v", err)
			}
			done <- out
		}()
		waitFile(t, filepath.Join(dir, "started"))
		cancel()
		var out executor.Outcome
		select {
		case out = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return")
		}
		if !out.Canceled || out.TimedOut || out.Signal != "killed" || !strings.HasSuffix(out.Stdout.Text, "TERM\n") {
			t.Fatalf("outcome %+v, want canceled, SIGKILL after the hook saw SIGTERM", out)
		}
		if left := sleepers(t, marker); len(left) > 0 {
			t.Errorf("processes %v of the hook survived", left)
		}
		runDir := filepath.Dir(strings.SplitN(out.Stdout.Text, "\n", 2)[0])
		if _, err := os.Stat(runDir); !strings.Contains(runDir, "hookshot-") || !os.IsNotExist(err) {
			t.Errorf("run directory %s left behind: %v", runDir, err)
		}
	})
}

// A container without the runner's shell cannot run hooks, and the outcome
// says so (the runtime gives no exit code; the execer makes it 127).
func kubeRunnerNoShell(t *testing.T) {
	t.Parallel()
	_, run := kubeRunner(t, kubetest.ModeWebSocketAndSPDY, executor.ContainerConfig{Shell: "/no/such/sh"})
	out := runHook(t, run, executor.Spec{Target: kubeDB, Script: []byte("echo hi")})
	if want := "container db-0/db has no shell: /no/such/sh not found"; out.StartError != want || out.Succeeded() {
		t.Errorf("StartError %q, want %q (%+v)", out.StartError, want, out)
	}
}

// TestKubeRealCluster runs discovery and hooks against a real Kubernetes
// cluster (kind, k3d) when HOOKSHOT_TEST_KUBECONFIG names its kubeconfig
// (HOOKSHOT_TEST_KUBECONTEXT its context, default the current one). It
// creates a namespace hookshot-test-N with busybox pods
// (HOOKSHOT_TEST_IMAGE, default busybox:1.36), checks what kubetest checks
// where a real cluster can produce the state, and deletes the namespace.
// docs/kubernetes.md says how to run it.
func TestKubeRealCluster(t *testing.T) {
	path := os.Getenv("HOOKSHOT_TEST_KUBECONFIG")
	if path == "" {
		t.Skip("HOOKSHOT_TEST_KUBECONFIG is not set: no real cluster to test against")
	}
	cfg := Config{Name: "real", Type: TypeKubernetes, Kubeconfig: path, Context: os.Getenv("HOOKSHOT_TEST_KUBECONTEXT")}
	image := cmp.Or(os.Getenv("HOOKSHOT_TEST_IMAGE"), "busybox:1.36")
	rc, err := kubeRESTConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	ns := fmt.Sprintf("hookshot-test-%d", time.Now().UnixNano()%1e6)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(dctx, ns, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete namespace %s: %v", ns, err)
		}
	})
	idle := []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"}
	pod := func(name string, podLabels map[string]string, containers ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: podLabels}}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: image, Command: idle})
		}
		return p
	}
	job := pod("job-0", map[string]string{"app": "payroll", "tier": "batch"}, "job")
	job.Spec.RestartPolicy, job.Spec.Containers[0].Command = corev1.RestartPolicyNever, []string{"true"}
	for _, p := range []*corev1.Pod{
		pod("db-0", map[string]string{"app": "payroll", "tier": "db"}, "db", "exporter"),
		pod("web-0", map[string]string{"app": "payroll", "tier": "frontend"}, "nginx"),
		pod("canary-0", map[string]string{"app": "payroll", "canary": "true"}, "nginx"),
		pod("legacy-0", map[string]string{"tier": "db"}, "legacy"),
		job,
	} {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]corev1.PodPhase{"db-0": corev1.PodRunning, "web-0": corev1.PodRunning, "canary-0": corev1.PodRunning, "legacy-0": corev1.PodRunning, "job-0": corev1.PodSucceeded}
	for name, phase := range want {
		for {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("pod %s: %v", name, err)
			}
			if p.Status.Phase == phase && (phase != corev1.PodRunning || !slices.ContainsFunc(p.Status.ContainerStatuses, func(s corev1.ContainerStatus) bool { return s.State.Running == nil })) {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("pod %s is %s, want %s", name, p.Status.Phase, phase)
			case <-time.After(500 * time.Millisecond):
			}
		}
	}

	b, err := NewKubernetes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	discover := []struct {
		selectors []string
		want      []string
	}{
		{nil, []string{"canary-0/nginx", "db-0/db", "db-0/exporter", "legacy-0/legacy", "web-0/nginx"}},
		{[]string{"tier=db"}, []string{"db-0/db", "db-0/exporter", "legacy-0/legacy"}},
		{[]string{"tier!=db"}, []string{"canary-0/nginx", "web-0/nginx"}},
		{[]string{"tier in (frontend, batch)"}, []string{"web-0/nginx"}},
		{[]string{"app=payroll,tier notin (frontend)"}, []string{"canary-0/nginx", "db-0/db", "db-0/exporter"}},
		{[]string{"canary"}, []string{"canary-0/nginx"}},
		{[]string{"!app"}, []string{"legacy-0/legacy"}},
		{[]string{"canary", "!app", "canary=true"}, []string{"canary-0/nginx", "legacy-0/legacy"}},
		{[]string{"app=nothing"}, []string{}},
	}
	for _, d := range discover {
		got, err := b.Discover(ctx, []events.NamespaceSelector{{Namespace: ns, LabelSelectors: d.selectors}})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]string, 0, len(d.want))
		for _, k := range d.want {
			want = append(want, ns+"/"+k)
		}
		if !slices.Equal(keys(got), want) {
			t.Errorf("selectors %q: got %q, want %q", d.selectors, keys(got), want)
		}
	}

	r, err := NewRegistry(RegistryConfig{Clusters: []Config{cfg}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	runners, err := r.Runners(nil, executor.ContainerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := runners("real")
	if err != nil {
		t.Fatal(err)
	}
	db := executor.Target{Cluster: "real", Namespace: ns, Pod: "db-0", Container: "db"}
	out := runHook(t, run, executor.Spec{
		Target: db,
		Script: []byte(`printf '[%s]' "$@"; echo; echo "$HOOKSHOT_RUN_ID $HOOKSHOT_POD_NAME"; echo warn >&2; exit 3`),
		Args:   []string{"with space", "$HOME"},
		Env:    map[string]string{"HOOKSHOT_RUN_ID": "run-1", "HOOKSHOT_POD_NAME": "db-0"},
	})
	if out.ExitCode != 3 || out.Stdout.Text != "[with space][$HOME]\nrun-1 db-0\n" || out.Stderr.Text != "warn\n" {
		t.Errorf("hook: %+v", out)
	}
	marker := fmt.Sprintf("1000.%d", time.Now().UnixNano()%1e6)
	out = runHook(t, run, executor.Spec{Target: db, Script: []byte(`sleep "$1" & sleep "$1"; wait`), Args: []string{marker}, Timeout: 2 * time.Second})
	if !out.TimedOut || out.Signal != "terminated" {
		t.Errorf("timed-out hook: %+v", out)
	}
	// No sleep of the hook is left in the container (given 2s to die).
	out = runHook(t, run, executor.Spec{Target: db, Script: []byte(procSleepers), Args: []string{marker}})
	if left := strings.TrimSpace(out.Stdout.Text); left != "" || !out.Succeeded() {
		t.Errorf("processes of the timed-out hook left in the container: %q (%+v)", left, out)
	}
	out = runHook(t, run, executor.Spec{Target: db, Script: []byte(`head -c 10485760 /dev/zero | tr '\0' x`), OutputLimit: 4096})
	if !out.Succeeded() || out.Stdout.TotalBytes != 10<<20 || !out.Stdout.Truncated {
		t.Errorf("10 MiB hook: %+v", out.Stdout.TotalBytes)
	}
	out = runHook(t, run, executor.Spec{Target: executor.Target{Cluster: "real", Namespace: ns, Pod: "job-0", Container: "job"}, Script: []byte("echo ran")})
	if out.StartError != "container job-0/job is not running" {
		t.Errorf("hook in a completed pod: %+v", out)
	}
}

// procSleepers lists, in a container, the processes "sleep $1 …", waiting
// up to 2s for them to go.
const procSleepers = `i=0
while :; do
	left=
	for f in /proc/[0-9]*/cmdline; do
		c=$(tr '\0' ' ' <"$f" 2>/dev/null) || continue
		case $c in "sleep $1 "*) left="$left ${f#/proc/}" ;; esac
	done
	if [ -z "$left" ] || [ $i -ge 4 ]; then break; fi
	i=$((i+1))
	sleep 0.5
done
echo "$left"`
