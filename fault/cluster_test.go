package fault_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/deploy/dockertest"
)

// account is the Hookshot account every scenario uses; apiSecret its admin
// token.
const (
	account   = "fault"
	apiSecret = "fault-suite-secret"
	// ackWait of the workers: how long a job of a dead worker waits before
	// it is redelivered.
	ackWait = 5 * time.Second
)

// env is one scenario's world: a Docker network with a 3-node NATS
// JetStream cluster, a Hookshot server (--workers=false) and worker daemons
// (--replicas 3), and a NATS connection of the test through mapped ports.
type env struct {
	t      *testing.T
	cli    *client.Client
	labels map[string]string
	prefix string
	net    string

	natsImage, hookshotImage string
	nodes                    []*node
	server                   *daemon
	workers                  []*daemon
	traceDir                 string

	nc *nats.Conn
	js jetstream.JetStream
}

// node is a NATS server container.
type node struct {
	name       string // container name and DNS name on the network
	server     string // server_name
	id         string
	clientPort int
	monPort    int
}

// daemon is a Hookshot container.
type daemon struct {
	name string
	id   string
	cmd  []string
	port int // host port of its HTTP listener (API or ops), 0 if none
}

type envOpts struct {
	workers int
	// maxFileStore limits each node's JetStream file storage ("" unlimited).
	maxFileStore string
	// noServer leaves the server to the scenario.
	noServer bool
	// nodesUp is how many NATS nodes to start (default 3).
	nodesUp int
}

var envSeq struct {
	sync.Mutex
	n int
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	dockertest.RequireDocker(t)
	if o.workers == 0 {
		o.workers = 3
	}
	if o.nodesUp == 0 {
		o.nodesUp = 3
	}
	envSeq.Lock()
	envSeq.n++
	n := envSeq.n
	envSeq.Unlock()
	e := &env{
		t:             t,
		cli:           dockertest.Client(t),
		labels:        dockertest.Labels(t),
		prefix:        fmt.Sprintf("hsf-%s-%d", dockertest.RunID(), n),
		natsImage:     dockertest.BuildNATSImage(t),
		hookshotImage: dockertest.BuildHookshotShellImage(t),
		traceDir:      t.TempDir(),
	}
	// Hooks run as 65532 in the worker containers and append to this dir.
	if err := os.Chmod(e.traceDir, 0o777); err != nil {
		t.Fatal(err)
	}
	e.net = e.prefix + "-net"
	ctx := t.Context()
	if _, err := e.cli.NetworkCreate(ctx, e.net, client.NetworkCreateOptions{Driver: "bridge", Labels: e.labels}); err != nil {
		t.Fatalf("create network: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := e.cli.NetworkRemove(ctx, e.net, client.NetworkRemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("remove network %s: %v", e.net, err)
		}
	})

	for i := range 3 {
		e.nodes = append(e.nodes, &node{name: fmt.Sprintf("%s-nats-%d", e.prefix, i), server: fmt.Sprintf("n%d", i),
			clientPort: freePort(t), monPort: freePort(t)})
	}
	confDir := t.TempDir()
	for i, nd := range e.nodes {
		var routes []string
		for _, o := range e.nodes {
			routes = append(routes, "nats://"+o.name+":6222")
		}
		conf := fmt.Sprintf(`server_name: %s
listen: 0.0.0.0:4222
http: 0.0.0.0:8222
max_payload: 1MB
jetstream {
  store_dir: %s
  max_memory_store: 64MB
  %s
}
cluster {
  name: hookshot-fault
  listen: 0.0.0.0:6222
  routes: [%s]
  no_advertise: true
}
`, nd.server, dockertest.NATSStoreDir, maxFileStore(o.maxFileStore), strings.Join(routes, ", "))
		path := filepath.Join(confDir, nd.server+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if i < o.nodesUp {
			e.startNode(nd, path)
		} else {
			e.createNode(nd, path)
		}
	}
	if o.nodesUp == 3 {
		e.waitClusterReady(2 * time.Minute)
	}
	e.connect()
	if !o.noServer {
		e.startServer()
		e.waitServerReady(2 * time.Minute)
	}
	for i := range o.workers {
		e.startWorker(i)
	}
	return e
}

func maxFileStore(v string) string {
	if v == "" {
		return ""
	}
	return "max_file_store: " + v
}

// urls is what Hookshot's daemons connect to, inside the network.
func (e *env) urls() string {
	var u []string
	for _, nd := range e.nodes {
		u = append(u, "nats://"+nd.name+":4222")
	}
	return strings.Join(u, ",")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// publish binds containerPort to 127.0.0.1:hostPort, a fixed port so that a
// restarted container keeps it.
func publish(containerPort string, hostPort int) dockertest.ContainerOption {
	return func(c *container.Config, h *container.HostConfig) {
		p := network.MustParsePort(containerPort)
		if c.ExposedPorts == nil {
			c.ExposedPorts = network.PortSet{}
		}
		c.ExposedPorts[p] = struct{}{}
		if h.PortBindings == nil {
			h.PortBindings = network.PortMap{}
		}
		h.PortBindings[p] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(hostPort)}}
	}
}

func (e *env) onNetwork(cmd []string, binds ...string) dockertest.ContainerOption {
	return func(c *container.Config, h *container.HostConfig) {
		c.Cmd = cmd
		h.NetworkMode = container.NetworkMode(e.net)
		h.Binds = append(h.Binds, binds...)
	}
}

func (e *env) createNode(nd *node, conf string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), time.Minute)
	defer cancel()
	cfg := &container.Config{Image: e.natsImage, Labels: e.labels}
	host := &container.HostConfig{}
	for _, o := range []dockertest.ContainerOption{e.onNetwork([]string{"-c", "/nats.conf"}, conf+":/nats.conf:ro"),
		publish("4222/tcp", nd.clientPort), publish("8222/tcp", nd.monPort)} {
		o(cfg, host)
	}
	created, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: nd.name, Config: cfg, HostConfig: host})
	if err != nil {
		e.t.Fatalf("create %s: %v", nd.name, err)
	}
	nd.id = created.ID
	e.t.Cleanup(func() { e.remove(nd.name, nd.id) })
}

func (e *env) startNode(nd *node, conf string) {
	e.t.Helper()
	nd.id = dockertest.StartContainer(e.t, e.cli, e.natsImage, nd.name, e.labels,
		e.onNetwork([]string{"-c", "/nats.conf"}, conf+":/nats.conf:ro"),
		publish("4222/tcp", nd.clientPort), publish("8222/tcp", nd.monPort))
}

func (e *env) remove(name, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
		e.t.Errorf("remove container %s: %v", name, err)
	}
}

// startServer starts the Hookshot server: API on a mapped port, no workers
// of its own.
func (e *env) startServer() {
	e.t.Helper()
	d := &daemon{name: e.prefix + "-server", port: freePort(e.t)}
	d.cmd = []string{"server", "--nats-url", e.urls(), "--replicas", "3", "--workers=false",
		"--api-listen", "0.0.0.0:8080", "--token", account + ":admin:" + apiSecret,
		"--log-format", "json", "--nats-reconnect-wait", "500ms"}
	d.id = dockertest.StartContainer(e.t, e.cli, e.hookshotImage, d.name, e.labels,
		e.onNetwork(d.cmd), publish("8080/tcp", d.port))
	e.server = d
}

// startWorker starts a worker daemon as its container's entrypoint (PID 1),
// as deploy/Dockerfile runs it: the hooks' reaper must work there too.
func (e *env) startWorker(i int) {
	e.t.Helper()
	d := &daemon{name: fmt.Sprintf("%s-worker-%d", e.prefix, i), port: freePort(e.t)}
	d.cmd = []string{"worker", "--nats-url", e.urls(), "--replicas", "3", "--concurrency", "4",
		"--ack-wait", ackWait.String(), "--ops-listen", "0.0.0.0:9091", "--log-format", "json",
		"--nats-name", fmt.Sprintf("worker-%d", i), "--nats-reconnect-wait", "500ms"}
	d.id = dockertest.StartContainer(e.t, e.cli, e.hookshotImage, d.name, e.labels,
		e.onNetwork(d.cmd, e.traceDir+":/trace"), publish("9091/tcp", d.port))
	e.workers = append(e.workers, d)
}

// ---------------------------------------------------------------------------
// Faults

// kill sends SIGKILL to a container (docker kill -s KILL).
func (e *env) kill(id string) {
	e.t.Helper()
	if _, err := e.cli.ContainerKill(e.t.Context(), id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		e.t.Fatalf("kill %s: %v", id[:12], err)
	}
	e.waitNotRunning(id)
}

// stop stops a container gracefully (SIGTERM, then SIGKILL after 20 s).
func (e *env) stop(id string) {
	e.t.Helper()
	timeout := 20
	if _, err := e.cli.ContainerStop(e.t.Context(), id, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		e.t.Fatalf("stop %s: %v", id[:12], err)
	}
}

func (e *env) start(id string) {
	e.t.Helper()
	if _, err := e.cli.ContainerStart(e.t.Context(), id, client.ContainerStartOptions{}); err != nil {
		e.t.Fatalf("start %s: %v", id[:12], err)
	}
}

func (e *env) waitNotRunning(id string) {
	e.t.Helper()
	e.waitFor("container "+id[:12]+" stopped", 30*time.Second, func() error {
		res, err := e.cli.ContainerInspect(e.t.Context(), id, client.ContainerInspectOptions{})
		if err != nil {
			return err
		}
		if res.Container.State != nil && res.Container.State.Running {
			return fmt.Errorf("still running")
		}
		return nil
	})
}

func (e *env) running(id string) bool {
	res, err := e.cli.ContainerInspect(e.t.Context(), id, client.ContainerInspectOptions{})
	return err == nil && res.Container.State != nil && res.Container.State.Running
}

// disconnect cuts a container off the network (docker network disconnect);
// connect heals it.
func (e *env) disconnect(id string) {
	e.t.Helper()
	if _, err := e.cli.NetworkDisconnect(e.t.Context(), e.net, client.NetworkDisconnectOptions{Container: id, Force: true}); err != nil {
		e.t.Fatalf("network disconnect: %v", err)
	}
}

func (e *env) connect_(id string) {
	e.t.Helper()
	if _, err := e.cli.NetworkConnect(e.t.Context(), e.net, client.NetworkConnectOptions{Container: id}); err != nil {
		e.t.Fatalf("network connect: %v", err)
	}
}

// ---------------------------------------------------------------------------
// NATS

func (e *env) connect() {
	e.t.Helper()
	var urls []string
	for _, nd := range e.nodes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", nd.clientPort))
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.Name("fault-suite"), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.RetryOnFailedConnect(true), nats.Timeout(5*time.Second))
	if err != nil {
		e.t.Fatalf("connect to NATS: %v", err)
	}
	e.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		e.t.Fatal(err)
	}
	e.nc, e.js = nc, js
}

// jsz is the part of a node's /jsz we read.
type jsz struct {
	Meta *struct {
		Leader string `json:"leader"`
	} `json:"meta_cluster"`
}

func (e *env) monitor(nd *node, path string, v any) error {
	ctx, cancel := context.WithTimeout(e.t.Context(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", nd.monPort, path), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", path, res.Status, body)
	}
	if v != nil {
		return json.Unmarshal(body, v)
	}
	return nil
}

// metaLeader asks the running nodes who the JetStream meta leader is.
func (e *env) metaLeader() (*node, error) {
	var errs []string
	for _, nd := range e.nodes {
		if !e.running(nd.id) {
			continue
		}
		var j jsz
		if err := e.monitor(nd, "/jsz", &j); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if j.Meta != nil && j.Meta.Leader != "" {
			if l := e.nodeByServer(j.Meta.Leader); l != nil {
				return l, nil
			}
		}
	}
	return nil, fmt.Errorf("no meta leader: %s", strings.Join(errs, "; "))
}

// streamLeader is the leader of a stream, from $JS.API.STREAM.INFO.
func (e *env) streamLeader(stream string) (*node, error) {
	ctx, cancel := context.WithTimeout(e.t.Context(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.Cluster == nil || e.nodeByServer(info.Cluster.Leader) == nil {
		return nil, fmt.Errorf("stream %s has no leader", stream)
	}
	return e.nodeByServer(info.Cluster.Leader), nil
}

func (e *env) nodeByServer(name string) *node {
	for _, nd := range e.nodes {
		if nd.server == name {
			return nd
		}
	}
	return nil
}

// waitClusterReady waits until every node is healthy (JetStream current)
// and there is a meta leader.
func (e *env) waitClusterReady(within time.Duration) {
	e.t.Helper()
	e.waitFor("NATS cluster ready", within, func() error {
		for _, nd := range e.nodes {
			if err := e.monitor(nd, "/healthz", nil); err != nil {
				return fmt.Errorf("%s: %w", nd.server, err)
			}
		}
		_, err := e.metaLeader()
		return err
	})
}

// waitNodeHealthy waits until one node says it is healthy.
func (e *env) waitNodeHealthy(nd *node, within time.Duration) {
	e.t.Helper()
	e.waitFor(nd.server+" healthy", within, func() error { return e.monitor(nd, "/healthz", nil) })
}

// ---------------------------------------------------------------------------
// Hookshot's HTTP

func (e *env) httpGet(port int, path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(e.t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
	req.Header.Set("Authorization", "Bearer "+apiSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), nil
}

func (e *env) api(method, path string, body any) (int, map[string]any, error) {
	ctx, cancel := context.WithTimeout(e.t.Context(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = strings.NewReader(string(raw))
	}
	req, _ := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://127.0.0.1:%d/accounts/%s/%s", e.server.port, account, path), rd)
	req.Header.Set("Authorization", "Bearer "+apiSecret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"raw": string(raw)}
	}
	return res.StatusCode, m, nil
}

func (e *env) waitServerReady(within time.Duration) {
	e.t.Helper()
	e.waitFor("server /readyz", within, func() error {
		code, body, err := e.httpGet(e.server.port, "/readyz")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
}

func (e *env) waitFor(what string, within time.Duration, f func() error) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) || e.t.Context().Err() != nil {
			e.dumpLogs()
			e.t.Fatalf("%s: not within %s: %v", what, within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dumpLogs logs the tail of every Hookshot container's log, for a failure.
func (e *env) dumpLogs() {
	ds := append([]*daemon{}, e.workers...)
	if e.server != nil {
		ds = append(ds, e.server)
	}
	for _, d := range ds {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rc, err := e.cli.ContainerLogs(ctx, d.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "30"})
		if err == nil {
			raw, _ := io.ReadAll(rc)
			rc.Close()
			e.t.Logf("--- %s log tail:\n%s", d.name, stripMux(raw))
		}
		cancel()
	}
}

// stripMux drops Docker's 8-byte stream headers from a non-TTY log.
func stripMux(raw []byte) string {
	var b strings.Builder
	for len(raw) >= 8 {
		n := int(raw[4])<<24 | int(raw[5])<<16 | int(raw[6])<<8 | int(raw[7])
		raw = raw[8:]
		if n > len(raw) {
			n = len(raw)
		}
		b.Write(raw[:n])
		raw = raw[n:]
	}
	return b.String()
}

const fillerStream = "FAULT_FILLER"

// fillStorage creates a file stream of 3 replicas and publishes into it
// until JetStream refuses for lack of storage; it returns the bytes stored.
func (e *env) fillStorage(limit int) int {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: fillerStream, Subjects: []string{"fault.filler"},
		Storage: jetstream.FileStorage, Replicas: 3}); err != nil {
		e.t.Fatalf("create filler stream: %v", err)
	}
	chunk := make([]byte, 512<<10)
	stored := 0
	for stored <= 2*limit {
		_, err := e.js.Publish(ctx, "fault.filler", chunk)
		if err != nil {
			// 10023: JetStream's "insufficient resources".
			var apiErr *jetstream.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode == 10023 || strings.Contains(err.Error(), "insufficient resources") {
				e.t.Logf("storage full after %d MiB: %v", stored>>20, err)
				return stored
			}
			e.t.Logf("filler publish: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		stored += len(chunk)
	}
	e.t.Fatalf("stored %d MiB without filling a %d MiB store", stored>>20, limit>>20)
	return 0
}

func (e *env) deleteFiller() {
	e.t.Helper()
	e.waitFor("delete filler stream", time.Minute, func() error {
		ctx, cancel := context.WithTimeout(e.t.Context(), 10*time.Second)
		defer cancel()
		err := e.js.DeleteStream(ctx, fillerStream)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil
		}
		return err
	})
}

// rssMiB is the resident memory of a container's processes (cgroup rss, or
// anon on cgroup v2), in MiB.
func (e *env) rssMiB(id string) (float64, error) {
	ctx, cancel := context.WithTimeout(e.t.Context(), 10*time.Second)
	defer cancel()
	res, err := e.cli.ContainerStats(ctx, id, client.ContainerStatsOptions{})
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var st struct {
		Memory struct {
			Stats map[string]uint64 `json:"stats"`
		} `json:"memory_stats"`
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return 0, err
	}
	for _, k := range []string{"total_rss", "rss", "anon"} {
		if v, ok := st.Memory.Stats[k]; ok {
			return float64(v) / (1 << 20), nil
		}
	}
	return 0, fmt.Errorf("no rss in %v", st.Memory.Stats)
}
