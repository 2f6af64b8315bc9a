package kubetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	clientexec "k8s.io/client-go/util/exec"
	streamserver "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// kubeletExecPath is the kubelet's exec endpoint, behind the API endpoint.
const kubeletExecPath = "/kubetest/kubelet/exec/"

// streamCreationTimeout is the kubelet's default.
const streamCreationTimeout = 30 * time.Second

// execRequest is a pods/exec request's PodExecOptions, resolved against its
// pod.
type execRequest struct {
	pod       *corev1.Pod
	container string
	command   []string
	stdin     bool
	stdout    bool
	stderr    bool
	tty       bool
}

// podExec serves the pods/exec subresource as the API server does: it
// checks the request and the pod, then translates a WebSocket to SPDY
// toward the kubelet, or passes SPDY through.
func (c *Cluster) podExec(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeStatus(w, apierrors.NewMethodNotSupported(podsResource, r.Method).Status())
		return
	}
	websocket := wsstream.IsWebSocketRequest(r)
	c.count(func(s *Stats) {
		if websocket {
			s.WebSocketExecs++
		} else {
			s.SPDYExecs++
		}
	})
	q := r.URL.Query()
	req := execRequest{command: q["command"], container: q.Get("container")}
	for _, f := range []struct {
		name string
		v    *bool
	}{{"stdin", &req.stdin}, {"stdout", &req.stdout}, {"stderr", &req.stderr}, {"tty", &req.tty}} {
		if s := q.Get(f.name); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("%s: %q is not a boolean", f.name, s)).Status())
				return
			}
			*f.v = b
		}
	}
	switch {
	case len(req.command) == 0:
		writeStatus(w, apierrors.NewBadRequest("command: Required value").Status())
		return
	case !req.stdin && !req.stdout && !req.stderr:
		writeStatus(w, apierrors.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr").Status())
		return
	}

	name := r.PathValue("name")
	pod, ok := c.pod(r.PathValue("ns"), name)
	if !ok {
		writeStatus(w, apierrors.NewNotFound(podsResource, name).Status())
		return
	}
	req.pod = pod
	names := containerNames(pod)
	switch {
	case req.container == "" && len(pod.Spec.Containers) == 1:
		req.container = pod.Spec.Containers[0].Name
	case req.container == "":
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", name, names)).Status())
		return
	case !slices.Contains(names, req.container):
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", req.container, name)).Status())
		return
	}
	if pod.Spec.NodeName == "" {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", name)).Status())
		return
	}

	switch {
	case websocket && c.opts.Mode == ModeSPDYOnly:
		// An API server before 1.30 proxies the WebSocket to the kubelet,
		// whose streaming server does not speak v5.
		c.serveKubelet(w, r, req)
	case websocket:
		c.translate(w, r, req)
	case c.opts.Mode == ModeWebSocketOnly:
		writeStatus(w, apierrors.NewForbidden(podsResource, name, errors.New("kubetest: SPDY upgrades are refused (ModeWebSocketOnly)")).Status())
	case !httpstream.IsUpgradeRequest(r):
		writeStatus(w, apierrors.NewBadRequest("Upgrade request required").Status())
	default:
		c.serveKubelet(w, r, req)
	}
}

// containerNames are the pod's containers of every kind: exec may target
// any of them while it runs.
func containerNames(p *corev1.Pod) []string {
	var out []string
	for _, ct := range p.Spec.InitContainers {
		out = append(out, ct.Name)
	}
	for _, ct := range p.Spec.Containers {
		out = append(out, ct.Name)
	}
	for _, ct := range p.Spec.EphemeralContainers {
		out = append(out, ct.Name)
	}
	return out
}

// containerRunning reports whether the named container's status says it
// runs: the kubelet only execs into a running container.
func containerRunning(p *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses, p.Status.EphemeralContainerStatuses} {
		for _, s := range list {
			if s.Name == name {
				return s.State.Running != nil
			}
		}
	}
	return false
}

// kubeletExec is the kubelet's exec endpoint, reached by the API
// endpoint's stream translator with the kubelet's query parameters.
func (c *Cluster) kubeletExec(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pod, ok := c.pod(r.PathValue("ns"), r.PathValue("name"))
	if !ok {
		http.Error(w, fmt.Sprintf("pod %s/%s not found", r.PathValue("ns"), r.PathValue("name")), http.StatusNotFound)
		return
	}
	c.serveKubelet(w, r, execRequest{
		pod: pod, container: r.PathValue("container"), command: q["command"],
		stdin:  q.Get(streamserver.ExecStdinParam) == "1",
		stdout: q.Get(streamserver.ExecStdoutParam) == "1",
		stderr: q.Get(streamserver.ExecStderrParam) == "1",
		tty:    q.Get(streamserver.ExecTTYParam) == "1",
	})
}

// serveKubelet is the kubelet: it finds the running container and hands
// the request to its streaming server.
func (c *Cluster) serveKubelet(w http.ResponseWriter, r *http.Request, req execRequest) {
	c.count(func(s *Stats) { s.KubeletExecs++ })
	if !containerRunning(req.pod, req.container) {
		// The kubelet's GetExec, through streaming.WriteError.
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, "container not found (%q)", req.container)
		return
	}
	opts := &streamserver.Options{Stdin: req.stdin, Stdout: req.stdout, Stderr: req.stderr && !req.tty, TTY: req.tty}
	streamserver.ServeExec(w, r, c.exec, req.pod.Name+"_"+req.pod.Namespace, string(req.pod.UID), req.container, req.command,
		opts, 0, streamCreationTimeout, []string{remotecommandconsts.StreamProtocolV4Name})
}

// translate serves a v5 WebSocket exec by relaying it over SPDY to the
// kubelet, as the API server's StreamTranslatorHandler does.
func (c *Cluster) translate(w http.ResponseWriter, r *http.Request, req execRequest) {
	read := func(on bool) wsstream.ChannelType {
		if on {
			return wsstream.ReadChannel
		}
		return wsstream.IgnoreChannel
	}
	write := func(on bool) wsstream.ChannelType {
		if on {
			return wsstream.WriteChannel
		}
		return wsstream.IgnoreChannel
	}
	channels := []wsstream.ChannelType{
		remotecommandconsts.StreamStdIn:  read(req.stdin),
		remotecommandconsts.StreamStdOut: write(req.stdout),
		remotecommandconsts.StreamStdErr: write(req.stderr),
		remotecommandconsts.StreamErr:    wsstream.WriteChannel,
		remotecommandconsts.StreamResize: wsstream.ReadChannel,
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommandconsts.StreamProtocolV5Name: {Binary: true, Channels: channels},
	})
	_, streams, err := conn.Open(w, r)
	if err != nil {
		return // the handshake answered the client
	}
	defer conn.Close()
	errStream := streams[remotecommandconsts.StreamErr]
	// An empty frame on the first writable stream tells the client the
	// streams are open.
	switch {
	case req.stdout:
		_, _ = streams[remotecommandconsts.StreamStdOut].Write(nil)
	case req.stderr:
		_, _ = streams[remotecommandconsts.StreamStdErr].Write(nil)
	default:
		_, _ = errStream.Write(nil)
	}

	ctx, cancel := c.context(r)
	defer cancel()
	kubelet := c.kubeletURL(req.pod.Namespace, req.pod.Name, req.container, req.command, req.stdin, req.stdout, req.stderr)
	spdy, err := remotecommand.NewSPDYExecutor(c.rest.Load(), http.MethodPost, kubelet)
	if err != nil {
		writeStreamStatus(errStream, err)
		return
	}
	var opts remotecommand.StreamOptions
	if req.stdin {
		opts.Stdin = streams[remotecommandconsts.StreamStdIn]
	}
	if req.stdout {
		opts.Stdout = streams[remotecommandconsts.StreamStdOut]
	}
	if req.stderr {
		opts.Stderr = streams[remotecommandconsts.StreamStdErr]
	}
	writeStreamStatus(errStream, spdy.StreamWithContext(ctx, opts))
}

// writeStreamStatus writes the outcome of an exec to the error stream as
// the v4/v5 protocols carry it: a JSON metav1.Status.
func writeStreamStatus(w io.Writer, err error) {
	st := metav1.Status{Status: metav1.StatusSuccess}
	var statusErr *apierrors.StatusError
	var exitErr clientexec.CodeExitError
	switch {
	case err == nil:
	case errors.As(err, &statusErr):
		st = statusErr.ErrStatus
	case errors.As(err, &exitErr) && exitErr.Exited():
		st = metav1.Status{
			Status: metav1.StatusFailure,
			Reason: remotecommandconsts.NonZeroExitCodeReason,
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
				Type:    remotecommandconsts.ExitCodeCauseType,
				Message: strconv.Itoa(exitErr.ExitStatus()),
			}}},
			Message: fmt.Sprintf("command terminated with non-zero exit code: %v", exitErr),
		}
	default:
		st = apierrors.NewInternalError(err).ErrStatus
	}
	b, _ := json.Marshal(st)
	_, _ = w.Write(b)
}

// podByUID finds the container of a pod by the pod's UID, for the
// executor.
func (c *Cluster) podByUID(uid, container string) (*corev1.Pod, *corev1.Container, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pods {
		if string(p.UID) != uid {
			continue
		}
		for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
			for i := range list {
				if list[i].Name == container && containerRunning(p, container) {
					return p.DeepCopy(), list[i].DeepCopy(), true
				}
			}
		}
		for i := range p.Spec.EphemeralContainers {
			if ec := &p.Spec.EphemeralContainers[i]; ec.Name == container && containerRunning(p, container) {
				ct := corev1.Container(ec.EphemeralContainerCommon)
				return p.DeepCopy(), &ct, true
			}
		}
	}
	return nil, nil, false
}

// containerEnv is the environment a process of the container starts with:
// PATH, HOSTNAME (the pod's name), HOME, and the container's literal env.
func containerEnv(p *corev1.Pod, ct *corev1.Container) []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME=" + p.Name,
		"HOME=/root",
	}
	for _, e := range ct.Env {
		if e.ValueFrom == nil && !strings.ContainsRune(e.Name, '=') {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	return env
}
