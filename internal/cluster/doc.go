// Package cluster knows where an app's containers live and how to reach
// them.
//
// A cluster is a Kubernetes cluster (kubeconfig and context, or in-cluster
// service-account credentials), a Docker engine, or the built-in static
// cluster "local" whose apps list their containers by hand and whose hooks
// run on the worker's host. Clusters are configured in the server's and
// workers' configuration (credentials never reach the API); a Registry
// holds them, reports their state, discovers an app's containers at every
// stage (Kubernetes pods of the app's namespaces matching its label
// selectors; Docker containers of a compose project matching them), and
// gives workers the runner that executes a hook inside a container.
//
// Label selectors use Kubernetes' own grammar, parsed by
// k8s.io/apimachinery/pkg/labels.
package cluster
