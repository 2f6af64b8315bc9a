package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
)

// kubePageSize is how many pods one list request asks for.
const kubePageSize = 500

// kubeBackend is a Kubernetes cluster: pods listed through the API, hooks
// run through pods/exec.
type kubeBackend struct {
	http     *http.Client
	cs       kubernetes.Interface
	ex       *executor.KubeExecer
	pageSize int64
}

var _ Backend = (*kubeBackend)(nil)

// NewKubernetes makes the backend of a Kubernetes cluster from in-cluster
// credentials (InCluster) or a kubeconfig: Kubeconfig, else $KUBECONFIG,
// else ~/.kube/config, in the context Context (default: the file's current
// context). It reads the credentials but does not contact the cluster.
func NewKubernetes(c Config) (Backend, error) {
	cfg, err := kubeRESTConfig(c)
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "hookshot"
	// Discovery of many namespaces and selectors must not wait on
	// client-go's default 5 requests/s.
	cfg.QPS, cfg.Burst = 50, 100
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	ex, err := executor.NewKubeExecer(cfg, cs)
	if err != nil {
		return nil, err
	}
	return &kubeBackend{http: hc, cs: cs, ex: ex, pageSize: kubePageSize}, nil
}

func kubeRESTConfig(c Config) (*rest.Config, error) {
	if c.InCluster {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster credentials: %w", err)
		}
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules() // $KUBECONFIG, else ~/.kube/config
	where := "kubeconfig from $KUBECONFIG or ~/.kube/config"
	if c.Kubeconfig != "" {
		rules.ExplicitPath = c.Kubeconfig
		where = "kubeconfig " + c.Kubeconfig
	}
	if c.Context != "" {
		where += ", context " + c.Context
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return cfg, nil
}

// Ping asks the API server for its version.
func (b *kubeBackend) Ping(ctx context.Context) error {
	raw, err := b.cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return fmt.Errorf("server version: %w", err)
	}
	var v version.Info
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("server version: %w", err)
	}
	return nil
}

// Discover lists the pods of each scope's namespace, once per label
// selector (the API server filters them with the selector, so a big
// namespace is not transferred whole), in pages of 500, and takes the
// union: the running containers (spec.containers, not init or ephemeral
// ones) of pods in phase Running.
func (b *kubeBackend) Discover(ctx context.Context, scopes []events.NamespaceSelector) ([]events.Container, error) {
	var out []events.Container
	seen := map[string]bool{}
	add := func(pod *corev1.Pod) {
		if pod.Status.Phase != corev1.PodRunning {
			return
		}
		for _, ct := range pod.Spec.Containers {
			if !containerRuns(pod, ct.Name) {
				continue
			}
			c := events.Container{
				NamespaceName:  pod.Namespace,
				PodName:        pod.Name,
				PodLabels:      PodLabels(pod.Labels),
				ContainerName:  ct.Name,
				ContainerImage: ct.Image,
			}
			if !seen[c.Key()] {
				seen[c.Key()] = true
				out = append(out, c)
			}
		}
	}
	for _, s := range scopes {
		selectors := s.LabelSelectors
		if len(selectors) == 0 {
			selectors = []string{""}
		}
		for _, text := range selectors {
			selector := ""
			if text != "" {
				sel, err := ParseSelector(text)
				if err != nil {
					return nil, fmt.Errorf("namespace %s: label selector %q: %w", s.Namespace, text, err)
				}
				selector = sel.String()
			}
			if err := b.listPods(ctx, s.Namespace, selector, add); err != nil {
				if selector != "" {
					return nil, fmt.Errorf("list pods in namespace %s with label selector %q: %w", s.Namespace, selector, err)
				}
				return nil, fmt.Errorf("list pods in namespace %s: %w", s.Namespace, err)
			}
		}
	}
	events.SortContainers(out)
	return out, nil
}

// listPods calls each for every pod of the namespace the selector matches,
// page by page. When the continue token has expired (410 Gone), it lists
// again from the start, once; pods seen twice are merged by the caller.
func (b *kubeBackend) listPods(ctx context.Context, ns, selector string, each func(*corev1.Pod)) error {
	opts := metav1.ListOptions{LabelSelector: selector, Limit: b.pageSize}
	restarted := false
	for {
		list, err := b.cs.CoreV1().Pods(ns).List(ctx, opts)
		if apierrors.IsResourceExpired(err) && !restarted {
			restarted, opts.Continue = true, ""
			continue
		}
		if err != nil {
			return err
		}
		for i := range list.Items {
			each(&list.Items[i])
		}
		if list.Continue == "" {
			return nil
		}
		opts.Continue = list.Continue
	}
}

// containerRuns reports whether the pod's status says the (regular)
// container runs.
func containerRuns(pod *corev1.Pod, name string) bool {
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == name {
			return s.State.Running != nil
		}
	}
	return false
}

// Execer runs processes in the cluster's containers through pods/exec.
func (b *kubeBackend) Execer() executor.ContainerExecer { return b.ex }

// Close drops the backend's idle connections.
func (b *kubeBackend) Close() error {
	b.http.CloseIdleConnections()
	return nil
}
