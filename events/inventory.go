package events

import (
	"cmp"
	"slices"
	"strings"
)

// Label is one Kubernetes label of a pod, as Astra spells it.
type Label struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Container is one container of an application: the unit hooks are matched
// against and run in. Field names follow Astra's matchingContainers items.
type Container struct {
	NamespaceName  string  `json:"namespaceName"`
	PodName        string  `json:"podName"`
	PodLabels      []Label `json:"podLabels,omitempty"`
	ContainerName  string  `json:"containerName"`
	ContainerImage string  `json:"containerImage"`
}

// Key identifies a container within an inventory: namespace/pod/container.
func (c Container) Key() string {
	return c.NamespaceName + "/" + c.PodName + "/" + c.ContainerName
}

// SortContainers orders containers by namespace, pod, then container name:
// the deterministic order used everywhere a list of containers is produced.
func SortContainers(cs []Container) {
	slices.SortStableFunc(cs, CompareContainers)
}

// CompareContainers orders two containers by namespace, pod, then container
// name, without allocating.
func CompareContainers(a, b Container) int {
	return cmp.Or(
		strings.Compare(a.NamespaceName, b.NamespaceName),
		strings.Compare(a.PodName, b.PodName),
		strings.Compare(a.ContainerName, b.ContainerName),
	)
}

// NamespaceSelector is one entry of an Astra app 2.x's
// namespaceScopedResources: a namespace (a compose project on Docker) and
// optional Kubernetes label selectors. A container belongs to the app when
// it is in the namespace and its pod's labels match any one of the
// selectors; with no selector, every container of the namespace belongs.
type NamespaceSelector struct {
	Namespace      string   `json:"namespace"`
	LabelSelectors []string `json:"labelSelectors,omitempty"`
}
