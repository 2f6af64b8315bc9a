// Package clustertest is a cluster backend for tests: pods held in memory,
// discovered with the real selector grammar, and a switch that makes the
// cluster stop answering. It runs no process; tests that exec into
// containers use kubetest or a Docker engine.
package clustertest

import (
	"context"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/cluster"
)

// Backend is a cluster of in-memory containers. The zero value is an empty
// cluster that answers; it is safe for concurrent use.
type Backend struct {
	mu         sync.Mutex
	containers []events.Container
	down       error
}

var _ cluster.Backend = (*Backend)(nil)

// New is a cluster holding containers.
func New(containers ...events.Container) *Backend {
	return &Backend{containers: slices.Clone(containers)}
}

// SetDown makes every call fail with err (nil: answer again).
func (b *Backend) SetDown(err error) {
	b.mu.Lock()
	b.down = err
	b.mu.Unlock()
}

// SetContainers replaces the cluster's containers.
func (b *Backend) SetContainers(containers ...events.Container) {
	b.mu.Lock()
	b.containers = slices.Clone(containers)
	b.mu.Unlock()
}

// Discover implements cluster.Discoverer with Kubernetes' selector grammar.
func (b *Backend) Discover(ctx context.Context, scopes []events.NamespaceSelector) ([]events.Container, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down != nil {
		return nil, b.down
	}
	out := []events.Container{}
	for _, sc := range scopes {
		var sels []labels.Selector
		for _, s := range sc.LabelSelectors {
			sel, err := cluster.ParseSelector(s)
			if err != nil {
				return nil, err
			}
			sels = append(sels, sel)
		}
		for _, c := range b.containers {
			set := map[string]string{}
			for _, l := range c.PodLabels {
				set[l.Name] = l.Value
			}
			if c.NamespaceName == sc.Namespace && cluster.Matches(sels, set) {
				out = append(out, c)
			}
		}
	}
	events.SortContainers(out)
	return out, ctx.Err()
}

// Ping implements cluster.Discoverer.
func (b *Backend) Ping(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down != nil {
		return b.down
	}
	return ctx.Err()
}

// Execer implements cluster.Backend: nil, the backend runs no process
// (workers cannot serve it).
func (b *Backend) Execer() executor.ContainerExecer { return nil }

// Close implements cluster.Backend.
func (b *Backend) Close() error { return nil }

// Registry is a registry of the clusters named in backends (all of type
// kubernetes), probed at every call, closed when t ends.
func Registry(t interface {
	Helper()
	Fatal(...any)
	Cleanup(func())
}, backends map[string]*Backend) *cluster.Registry {
	t.Helper()
	var cfgs []cluster.Config
	for name := range backends {
		cfgs = append(cfgs, cluster.Config{Name: name, Type: cluster.TypeKubernetes})
	}
	reg, err := cluster.NewRegistry(cluster.RegistryConfig{
		Clusters: cfgs, ProbeTTL: time.Nanosecond,
		NewBackend: func(c cluster.Config) (cluster.Backend, error) { return backends[c.Name], nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg
}
