package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
)

// Type is the kind of a cluster, as Astra's clusterType.
type Type string

// Cluster types.
const (
	// TypeKubernetes: pods found through the Kubernetes API, hooks run
	// through pods/exec.
	TypeKubernetes Type = "kubernetes"
	// TypeDocker: containers of a Docker engine, a namespace is a compose
	// project (label com.docker.compose.project), hooks run through the
	// Engine API's exec.
	TypeDocker Type = "docker"
	// TypeStatic: Hookshot's own; apps list their containers by hand and
	// hooks run on the worker's host. Only the built-in cluster "local" has
	// this type.
	TypeStatic Type = "static"
)

// Config is one cluster of the configuration.
type Config struct {
	// Name identifies the cluster in apps, jobs and worker flags: 1–128
	// characters of A–Z a–z 0–9 _ -. Required.
	Name string `yaml:"name" json:"name"`
	// Type is kubernetes or docker. Required.
	Type Type `yaml:"type" json:"type"`

	// Kubeconfig is the path of a kubeconfig file (kubernetes). Empty, and
	// InCluster not set: $KUBECONFIG, else ~/.kube/config.
	Kubeconfig string `yaml:"kubeconfig,omitempty" json:"kubeconfig,omitempty"`
	// Context is the kubeconfig context to use. Defaults to its current context.
	Context string `yaml:"context,omitempty" json:"context,omitempty"`
	// InCluster uses the service account of the pod this process runs in.
	InCluster bool `yaml:"inCluster,omitempty" json:"inCluster,omitempty"`

	// Host is the Docker engine's address, like unix:///var/run/docker.sock
	// (docker). Empty: $DOCKER_HOST, else the platform's default socket.
	Host string `yaml:"host,omitempty" json:"host,omitempty"`
}

// Validate says what is wrong with c, naming the field.
func (c Config) Validate() error {
	if !events.ValidToken(c.Name) {
		return fmt.Errorf("cluster name %q: must be 1–128 characters of A–Z a–z 0–9 _ -", c.Name)
	}
	if c.Name == events.ClusterLocal {
		return fmt.Errorf("cluster name %q is the built-in static cluster's", c.Name)
	}
	switch c.Type {
	case TypeKubernetes:
		if c.Host != "" {
			return fmt.Errorf("cluster %s: host is for docker clusters; a kubernetes cluster takes kubeconfig, context or inCluster", c.Name)
		}
		if c.InCluster && (c.Kubeconfig != "" || c.Context != "") {
			return fmt.Errorf("cluster %s: inCluster excludes kubeconfig and context", c.Name)
		}
	case TypeDocker:
		if c.Kubeconfig != "" || c.Context != "" || c.InCluster {
			return fmt.Errorf("cluster %s: kubeconfig, context and inCluster are for kubernetes clusters; a docker cluster takes host", c.Name)
		}
	default:
		return fmt.Errorf("cluster %s: type %q must be kubernetes or docker", c.Name, c.Type)
	}
	return nil
}

// idNamespace makes cluster IDs deterministic: every server and worker
// configured with the same cluster name gives it the same ID.
var idNamespace = uuid.MustParse("7d0b1c4e-31a6-4b52-9d7a-3f9a1e6c2b80")

// IDOf is the Astra id of the cluster named name.
func IDOf(name string) string { return uuid.NewSHA1(idNamespace, []byte(name)).String() }

// States of a cluster, as Astra's.
const (
	StateRunning     = "running"
	StateUnavailable = "unavailable"
)

// Info is what the API shows of a cluster: never its credentials.
type Info struct {
	ID   string
	Name string
	Type Type
	// State is running or unavailable; StateDetail says why when unavailable.
	State       string
	StateDetail string
}

// Discoverer finds an app's containers in one cluster.
type Discoverer interface {
	// Discover returns the running containers of running pods (Docker:
	// running containers) in the namespaces of scopes whose labels match
	// any one of the scope's selectors (no selector: all of them), sorted
	// with events.SortContainers. Init and ephemeral containers are not
	// included. Selectors were checked with ParseSelector.
	Discover(ctx context.Context, scopes []events.NamespaceSelector) ([]events.Container, error)
	// Ping checks that the cluster answers.
	Ping(ctx context.Context) error
}

// Backend is what a cluster type provides: discovery and a way into its
// containers.
type Backend interface {
	Discoverer
	// Execer runs processes in the cluster's containers.
	Execer() executor.ContainerExecer
	// Close releases the backend's connections.
	Close() error
}

// ParseSelector parses one label selector of Kubernetes' grammar (k=v,
// k!=v, k in (a,b), k notin (a), k, !k; comma means and).
func ParseSelector(s string) (labels.Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty label selector")
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, err
	}
	return sel, nil
}

// Matches reports whether a pod's (or Docker container's) labels match any
// of the selectors; no selector matches everything.
func Matches(selectors []labels.Selector, set map[string]string) bool {
	if len(selectors) == 0 {
		return true
	}
	return slices.ContainsFunc(selectors, func(s labels.Selector) bool { return s.Matches(labels.Set(set)) })
}

// PodLabels turns a label map into the sorted list a Container carries.
func PodLabels(m map[string]string) []events.Label {
	out := make([]events.Label, 0, len(m))
	for k, v := range m {
		out = append(out, events.Label{Name: k, Value: v})
	}
	slices.SortFunc(out, func(a, b events.Label) int { return strings.Compare(a.Name, b.Name) })
	return out
}
