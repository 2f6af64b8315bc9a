package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	clientexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
)

// KubeExecer runs processes in the containers of Kubernetes pods through
// the pods/exec subresource, as kubectl exec does: a WebSocket
// (v5.channel.k8s.io, Kubernetes 1.30+) first, SPDY (v4.channel.k8s.io)
// when the server or a proxy refuses the WebSocket upgrade. No TTY.
//
// When an exec fails without an exit code, KubeExecer reads the pod to say
// why: ErrContainerNotFound when the pod or its container does not exist,
// ErrContainerNotRunning when the pod is not in phase Running or the
// container's status is not running. The API's own messages for these
// cases differ by version and path (a 400 "container … is not valid", the
// kubelet's "container not found", a WebSocket status), so they are not
// parsed.
type KubeExecer struct {
	cfg *rest.Config
	cs  kubernetes.Interface
}

var _ ContainerExecer = (*KubeExecer)(nil)

// NewKubeExecer returns an execer for the cluster cfg points at; cs is a
// clientset of the same cluster (it builds the exec URL and reads pods).
func NewKubeExecer(cfg *rest.Config, cs kubernetes.Interface) (*KubeExecer, error) {
	if cfg == nil || cs == nil {
		return nil, errors.New("kube execer: a rest config and a clientset are required")
	}
	return &KubeExecer{cfg: rest.CopyConfig(cfg), cs: cs}, nil
}

// Exec runs argv in target's container. See ContainerExecer. A non-zero
// exit is an exit code with a nil error; a process ended by a signal
// reports the runtime's code for it (128+signal). A command the runtime
// cannot start in a running container (no such file, not executable) is
// exit code 127 or 126 with the runtime's message on stderr, as Docker
// reports it.
func (k *KubeExecer) Exec(ctx context.Context, target Target, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(argv) == 0 {
		return -1, fmt.Errorf("exec in %s: %w: no command", target, ErrInvalidSpec)
	}
	if stdout == nil && stderr == nil && stdin == nil {
		stdout = io.Discard // the API wants at least one stream
	}
	req := k.cs.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(target.Namespace).Name(target.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: target.Container,
			Command:   argv,
			Stdin:     stdin != nil,
			Stdout:    stdout != nil,
			Stderr:    stderr != nil,
		}, scheme.ParameterCodec)
	ex, err := k.executor(req.URL())
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", target, err)
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	var exitErr clientexec.CodeExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		return exitErr.Code, nil
	case ctx.Err() != nil:
		return -1, fmt.Errorf("exec in %s: %w", target, ctx.Err())
	}
	if err := k.explain(ctx, target, err); err != nil {
		return -1, err
	}
	// The container runs, yet the runtime could not start argv[0]: no exit
	// code comes back, only the runtime's message. Report it as a shell and
	// Docker do, 127 (not found) or 126 (not executable), with the
	// message on stderr.
	code := 127
	if msg := err.Error(); strings.Contains(msg, "permission denied") || strings.Contains(msg, "exec format error") {
		code = 126
	}
	if stderr != nil {
		_, _ = fmt.Fprintln(stderr, err.Error())
	}
	return code, nil
}

// notStartable reports whether an exec's error is the container runtime's
// failure to start the command (runc: "exec failed: unable to start
// container process: exec: …: no such file or directory").
func notStartable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unable to start container process") ||
		strings.Contains(msg, "executable file not found") ||
		(strings.Contains(msg, "OCI runtime exec failed") && (strings.Contains(msg, "no such file or directory") || strings.Contains(msg, "permission denied") || strings.Contains(msg, "exec format error")))
}

// executor is kubectl's: WebSocket, falling back to SPDY when the upgrade
// fails. A new one per exec: an executor holds the state of one stream.
func (k *KubeExecer) executor(u *url.URL) (remotecommand.Executor, error) {
	ws, err := remotecommand.NewWebSocketExecutor(k.cfg, http.MethodGet, u.String())
	if err != nil {
		return nil, fmt.Errorf("websocket executor: %w", err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(k.cfg, http.MethodPost, u)
	if err != nil {
		return nil, fmt.Errorf("spdy executor: %w", err)
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}

// explain turns a failed exec into ErrContainerNotFound or
// ErrContainerNotRunning when the pod says so. It returns nil when the
// container runs and the runtime said it could not start the command
// (notStartable), else the exec's error.
func (k *KubeExecer) explain(ctx context.Context, t Target, execErr error) error {
	pod, err := k.cs.CoreV1().Pods(t.Namespace).Get(ctx, t.Pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("exec in %s: pod %s/%s: %w", t, t.Namespace, t.Pod, ErrContainerNotFound)
	case err != nil:
		return fmt.Errorf("exec in %s: %w (reading the pod to tell why failed too: %v)", t, execErr, err)
	}
	name, spec, status := podContainer(pod, t.Container)
	switch {
	case !spec:
		return fmt.Errorf("exec in %s: pod %s/%s has no container %q: %w", t, t.Namespace, t.Pod, t.Container, ErrContainerNotFound)
	case pod.Status.Phase != corev1.PodRunning:
		return fmt.Errorf("exec in %s: pod %s/%s is %s: %w", t, t.Namespace, t.Pod, pod.Status.Phase, ErrContainerNotRunning)
	case status == nil || status.State.Running == nil:
		return fmt.Errorf("exec in %s: container %s is %s: %w", t, name, stateName(status), ErrContainerNotRunning)
	case notStartable(execErr):
		return nil
	}
	return fmt.Errorf("exec in %s: %w", t, execErr)
}

// Running reports whether the pod is in phase Running and the container's
// status is running. A pod or container that does not exist is not
// running; only a failure to read the pod is an error.
func (k *KubeExecer) Running(ctx context.Context, t Target) (bool, error) {
	pod, err := k.cs.CoreV1().Pods(t.Namespace).Get(ctx, t.Pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read pod %s/%s: %w", t.Namespace, t.Pod, err)
	}
	_, _, status := podContainer(pod, t.Container)
	return pod.Status.Phase == corev1.PodRunning && status != nil && status.State.Running != nil, nil
}

// podContainer finds a container of any kind by name (the only one of the
// pod when name is empty, as the API does): its name, whether the spec has
// it, and its status if it has one.
func podContainer(pod *corev1.Pod, name string) (string, bool, *corev1.ContainerStatus) {
	if name == "" && len(pod.Spec.Containers) == 1 {
		name = pod.Spec.Containers[0].Name
	}
	spec := false
	for _, c := range pod.Spec.InitContainers {
		spec = spec || c.Name == name
	}
	for _, c := range pod.Spec.Containers {
		spec = spec || c.Name == name
	}
	for _, c := range pod.Spec.EphemeralContainers {
		spec = spec || c.Name == name
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return name, spec, &list[i]
			}
		}
	}
	return name, spec, nil
}

func stateName(s *corev1.ContainerStatus) string {
	switch {
	case s == nil:
		return "without a status"
	case s.State.Waiting != nil:
		return "waiting (" + s.State.Waiting.Reason + ")"
	case s.State.Terminated != nil:
		return fmt.Sprintf("terminated (%s, exit code %d)", s.State.Terminated.Reason, s.State.Terminated.ExitCode)
	}
	return "not running"
}
