package cluster

// Placeholder until the Kubernetes backend lands.

import "errors"

// NewKubernetes makes the backend of a Kubernetes cluster.
func NewKubernetes(c Config) (Backend, error) { return nil, errors.New("kubernetes clusters: not built yet") }
