// Package kubetest is an in-process Kubernetes API endpoint for tests: the
// few resources Hookshot's Kubernetes backend and execer use, served with
// Kubernetes' own server-side protocol code, and pods whose containers are
// local processes.
//
// A Cluster serves, over TLS with a bearer token:
//
//   - GET /version;
//   - GET /api/v1/namespaces/{ns}/pods, with labelSelector (parsed by
//     k8s.io/apimachinery/pkg/labels), limit and continue;
//   - GET /api/v1/namespaces/{ns}/pods/{name};
//   - GET|POST /api/v1/namespaces/{ns}/pods/{name}/exec (pods/exec).
//
// An exec request goes where a real API server sends it. A v5 WebSocket
// (v5.channel.k8s.io) is accepted and relayed over SPDY to the "kubelet",
// as the API server's stream translator does since Kubernetes 1.30; a SPDY
// request is proxied to the kubelet as is. The kubelet end is the kubelet's
// own streaming server, k8s.io/cri-streaming's remotecommand.ServeExec
// (SPDY v4.channel.k8s.io), whose Executor starts the command as a local
// process in a session of its own (Setsid, as runc does), so `kill -- -PID`
// in a later exec reaches its process tree. ModeSPDYOnly plays an API server
// older than 1.30, which proxies the WebSocket to the kubelet, which refuses
// v5; ModeWebSocketOnly plays a proxy that passes no SPDY.
//
// Errors are the API server's: 404 for an unknown pod, 400 for a container
// the pod does not have or a pod without a node; the kubelet's for a
// container that does not run (`container not found ("name")`). Close ends
// every process the cluster started and waits for its handlers.
//
// A Cluster writes a kubeconfig file (server, CA, token, context) so tests
// build their clients exactly as production does. RunningPod and
// PendingPod build pods; AddPod, SetPhase, UpdatePod and DeletePod change
// them, killing the processes of containers that stop. Stats counts the
// requests by kind, to tell which exec protocol a client used.
//
// The streaming libraries keep goroutines for a few seconds after a stream
// ends (client-go's WebSocket heartbeat, spdystream's shutdown); a test
// with a goleak check calls Settle after closing its clusters:
//
//	t.Cleanup(func() { kubetest.Settle(10 * time.Second) }) // before kubetest.New: runs after its Close
//	kc := kubetest.New(t, kubetest.Options{})
//	kc.AddPod(kubetest.RunningPod("payroll", "db-0", map[string]string{"app": "payroll"}, "db"))
//	b, err := cluster.NewKubernetes(cluster.Config{Name: "test", Type: cluster.TypeKubernetes,
//		Kubeconfig: kc.Kubeconfig(), Context: kc.Context()})
package kubetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

// Mode says which streaming protocols the API endpoint accepts for exec.
type Mode int

const (
	// ModeWebSocketAndSPDY is a Kubernetes 1.30+ API server: a v5 WebSocket
	// is translated to SPDY toward the kubelet, SPDY passes through.
	ModeWebSocketAndSPDY Mode = iota
	// ModeSPDYOnly is an API server before 1.30: the WebSocket request is
	// proxied to the kubelet, whose streaming server refuses v5, so a client
	// must fall back to SPDY.
	ModeSPDYOnly
	// ModeWebSocketOnly refuses SPDY upgrades (403), like a proxy that only
	// passes WebSocket.
	ModeWebSocketOnly
)

// Options configure a Cluster.
type Options struct {
	// Mode defaults to ModeWebSocketAndSPDY.
	Mode Mode
	// Context is the kubeconfig context's name. Defaults to "kubetest".
	Context string
	// Token is the bearer token the endpoint accepts. Defaults to a fixed
	// test token.
	Token string
}

// DefaultToken is the bearer token of a Cluster whose Options leave it empty.
const DefaultToken = "kubetest-token"

// Stats count the requests a Cluster answered.
type Stats struct {
	// Lists is the number of pod list requests (pages).
	Lists int
	// WebSocketExecs and SPDYExecs count exec requests of the API endpoint by
	// the upgrade the client asked for, whether or not they succeeded.
	WebSocketExecs, SPDYExecs int
	// KubeletExecs counts exec streams the kubelet served.
	KubeletExecs int
}

// Cluster is an in-process Kubernetes API endpoint with its pods.
type Cluster struct {
	opts       Options
	srv        *httptest.Server
	kubeconfig string
	exec       *processExecutor
	rest       atomic.Pointer[rest.Config] // set once the server runs; its handlers read it

	mu    sync.Mutex
	pods  map[string]*corev1.Pod // by namespace/name
	stats Stats
}

// New starts a Cluster; tb's cleanup closes it. Its kubeconfig is written
// in tb.TempDir().
func New(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	if opts.Context == "" {
		opts.Context = "kubetest"
	}
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	c := &Cluster{opts: opts, pods: map[string]*corev1.Pod{}, exec: newProcessExecutor()}
	c.exec.lookup = c.podByUID
	c.srv = httptest.NewUnstartedServer(c.handler())
	// As an API server: HTTP/2 for requests, HTTP/1.1 for the upgrades
	// (the streaming clients ask for it).
	c.srv.EnableHTTP2 = true
	c.srv.StartTLS()
	tb.Cleanup(c.Close)

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.srv.Certificate().Raw})
	c.rest.Store(&rest.Config{Host: c.srv.URL, BearerToken: opts.Token, TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}})
	c.kubeconfig = filepath.Join(tb.TempDir(), "kubeconfig")
	if err := WriteKubeconfig(c.Config(), c.kubeconfig); err != nil {
		tb.Fatalf("kubetest: write kubeconfig: %v", err)
	}
	return c
}

// Config is the cluster's kubeconfig: one cluster, user and context, the
// context current.
func (c *Cluster) Config() clientcmdapi.Config {
	name := c.opts.Context
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: c.srv.URL, CertificateAuthorityData: c.rest.Load().CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: c.opts.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	return *cfg
}

// Kubeconfig is the path of the cluster's kubeconfig file.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Context is the name of the kubeconfig's context.
func (c *Cluster) Context() string { return c.opts.Context }

// URL is the API endpoint's address (https://127.0.0.1:port).
func (c *Cluster) URL() string { return c.srv.URL }

// RESTConfig is a client configuration for the endpoint.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest.Load()) }

// Stats returns the request counts so far.
func (c *Cluster) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Close ends every process the cluster's execs started, then stops the
// endpoint and waits for its handlers; afterwards nothing listens at URL.
// tb's cleanup closes it too; closing twice is harmless.
func (c *Cluster) Close() {
	c.exec.close()
	c.srv.CloseClientConnections()
	c.srv.Close()
}

func key(ns, name string) string { return ns + "/" + name }

// AddPod adds pod, or replaces the pod of that namespace and name. A pod
// with no UID gets one; a pod past Pending with no node gets "kubetest-node".
func (c *Cluster) AddPod(pod *corev1.Pod) {
	p := pod.DeepCopy()
	p.TypeMeta = metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}
	if p.UID == "" {
		p.UID = types.UID("uid-" + p.Namespace + "-" + p.Name)
	}
	if p.Spec.NodeName == "" && p.Status.Phase != corev1.PodPending && p.Status.Phase != "" {
		p.Spec.NodeName = "kubetest-node"
	}
	c.mu.Lock()
	c.pods[key(p.Namespace, p.Name)] = p
	c.mu.Unlock()
	c.exec.reap()
}

// UpdatePod changes the pod ns/name in place; it reports whether the pod
// exists. The processes of a container that no longer runs are killed.
func (c *Cluster) UpdatePod(ns, name string, change func(*corev1.Pod)) bool {
	c.mu.Lock()
	p, ok := c.pods[key(ns, name)]
	if ok {
		change(p)
	}
	c.mu.Unlock()
	c.exec.reap()
	return ok
}

// SetPhase sets the pod's phase; with a phase other than Running, its
// containers stop running (terminated, exit code 0) and their processes
// are killed.
func (c *Cluster) SetPhase(ns, name string, phase corev1.PodPhase) bool {
	return c.UpdatePod(ns, name, func(p *corev1.Pod) {
		p.Status.Phase = phase
		if phase == corev1.PodRunning {
			return
		}
		for i := range p.Status.ContainerStatuses {
			p.Status.ContainerStatuses[i].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}
			p.Status.ContainerStatuses[i].Ready = false
		}
	})
}

// DeletePod removes the pod and kills its processes; it reports whether it
// existed.
func (c *Cluster) DeletePod(ns, name string) bool {
	c.mu.Lock()
	_, ok := c.pods[key(ns, name)]
	delete(c.pods, key(ns, name))
	c.mu.Unlock()
	c.exec.reap()
	return ok
}

// RunningPod builds a pod in phase Running on a node, with one running
// container per name, each of image "<name>:1.0".
func RunningPod(ns, name string, podLabels map[string]string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: podLabels},
		Spec:       corev1.PodSpec{NodeName: "kubetest-node"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, n := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: n + ":1.0"})
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: n, Image: n + ":1.0", Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		})
	}
	return p
}

// PendingPod builds a pod in phase Pending, not yet on a node, whose
// containers wait (ContainerCreating).
func PendingPod(ns, name string, podLabels map[string]string, containers ...string) *corev1.Pod {
	p := RunningPod(ns, name, podLabels, containers...)
	p.Spec.NodeName, p.Status.Phase = "", corev1.PodPending
	for i := range p.Status.ContainerStatuses {
		SetWaiting(p, p.Status.ContainerStatuses[i].Name, "ContainerCreating")
	}
	return p
}

// SetWaiting makes the pod's container wait for reason (CrashLoopBackOff,
// ContainerCreating): not running.
func SetWaiting(p *corev1.Pod, container, reason string) {
	for i := range p.Status.ContainerStatuses {
		if s := &p.Status.ContainerStatuses[i]; s.Name == container {
			s.Ready, s.State = false, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
		}
	}
}

func (c *Cluster) pod(ns, name string) (*corev1.Pod, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pods[key(ns, name)]
	if !ok {
		return nil, false
	}
	return p.DeepCopy(), true
}

func (c *Cluster) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *Cluster) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, version.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2-kubetest", Platform: "linux/amd64"})
	})
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods", c.listPods)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}", c.getPod)
	mux.HandleFunc("/api/v1/namespaces/{ns}/pods/{name}/exec", c.podExec)
	mux.HandleFunc("POST "+kubeletExecPath+"{ns}/{name}/{container}", c.kubeletExec)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The streaming code logs through the request's logger the
		// disconnects that are a stream's normal end; tests need not see them.
		r = r.WithContext(klog.NewContext(r.Context(), logr.Discard()))
		if r.Header.Get("Authorization") != "Bearer "+c.opts.Token {
			writeStatus(w, apierrors.NewUnauthorized("Unauthorized").Status())
			return
		}
		mux.ServeHTTP(w, r)
	})
}

var podsResource = schema.GroupResource{Resource: "pods"}

func (c *Cluster) getPod(w http.ResponseWriter, r *http.Request) {
	p, ok := c.pod(r.PathValue("ns"), r.PathValue("name"))
	if !ok {
		writeStatus(w, apierrors.NewNotFound(podsResource, r.PathValue("name")).Status())
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// listPods answers a pod list of one namespace in name order, paged with
// limit and continue (the token is the last name returned, encoded).
func (c *Cluster) listPods(w http.ResponseWriter, r *http.Request) {
	c.count(func(s *Stats) { s.Lists++ })
	q := r.URL.Query()
	sel := labels.Everything()
	if s := q.Get("labelSelector"); s != "" {
		var err error
		if sel, err = labels.Parse(s); err != nil {
			writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err)).Status())
			return
		}
	}
	if q.Get("fieldSelector") != "" {
		writeStatus(w, apierrors.NewBadRequest("kubetest: fieldSelector is not supported").Status())
		return
	}
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeStatus(w, apierrors.NewBadRequest("limit: "+s).Status())
			return
		}
		limit = n
	}
	after := ""
	if s := q.Get("continue"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			writeStatus(w, apierrors.NewBadRequest("continue token: "+s).Status())
			return
		}
		after = string(b)
	}

	ns := r.PathValue("ns")
	c.mu.Lock()
	var items []corev1.Pod
	for _, p := range c.pods {
		if p.Namespace == ns && p.Name > after && sel.Matches(labels.Set(p.Labels)) {
			items = append(items, *p.DeepCopy())
		}
	}
	c.mu.Unlock()
	slices.SortFunc(items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })

	list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	if limit > 0 && len(items) > limit {
		items = items[:limit]
		list.Continue = base64.RawURLEncoding.EncodeToString([]byte(items[limit-1].Name))
	}
	list.Items = items
	if list.Items == nil {
		list.Items = []corev1.Pod{}
	}
	writeJSON(w, http.StatusOK, &list)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, s metav1.Status) {
	s.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	s.Status = metav1.StatusFailure
	writeJSON(w, int(s.Code), s)
}

// kubeletURL is where the API endpoint sends an exec of ns/name/container.
func (c *Cluster) kubeletURL(ns, name, container string, cmd []string, stdin, stdout, stderr bool) *url.URL {
	u, _ := url.Parse(c.srv.URL)
	u.Path = kubeletExecPath + url.PathEscape(ns) + "/" + url.PathEscape(name) + "/" + url.PathEscape(container)
	q := url.Values{"command": cmd}
	for k, on := range map[string]bool{"input": stdin, "output": stdout, "error": stderr} {
		if on {
			q.Set(k, "1")
		}
	}
	u.RawQuery = q.Encode()
	return u
}

// context merges a request's context with the cluster's life: either ending
// ends the returned one.
func (c *Cluster) context(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(c.exec.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// WriteKubeconfig writes cfg (Config() with more contexts, or another
// server) to path, readable by its owner only.
func WriteKubeconfig(cfg clientcmdapi.Config, path string) error {
	if err := clientcmd.WriteToFile(cfg, path); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}

// lingering are the packages of the streaming clients and servers whose
// goroutines outlive a finished stream for a while by design: client-go's
// WebSocket heartbeat ends at its next ping (up to 5s) when the connection
// closed without a close frame, and its stream goroutine after the
// connection's reader notices; spdystream's shutdown waits up to 1s to
// report a close error.
var lingering = []string{
	"k8s.io/client-go/tools/remotecommand.",
	"github.com/moby/spdystream.",
	"k8s.io/streaming/pkg/httpstream",
	"github.com/gorilla/websocket.",
}

// Settle waits, up to within, until no goroutine runs or was started by the
// streaming libraries, so that a goleak check after it does not report
// those that outlive their stream by design. Call it once the clusters and
// clients are closed. It fails nothing: what is left is for the leak check
// to report.
func Settle(within time.Duration) {
	deadline := time.Now().Add(within)
	buf := make([]byte, 4<<20)
	for {
		n := runtime.Stack(buf, true)
		if !slices.ContainsFunc(lingering, func(fn string) bool { return bytes.Contains(buf[:n], []byte(fn)) }) || time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
