package executor

import (
	"context"
	"errors"
)

// Placeholder until ContainerRunner lands.

// ContainerConfig configures a ContainerRunner.
type ContainerConfig struct {
	// Shell runs the runner's bootstrap in the container. Defaults to /bin/sh.
	Shell string
}

// ContainerRunner runs hooks inside containers through a ContainerExecer.
type ContainerRunner struct {
	ex  ContainerExecer
	cfg ContainerConfig
}

var _ Runner = (*ContainerRunner)(nil)

// NewContainerRunner returns a runner that executes hooks through ex.
func NewContainerRunner(ex ContainerExecer, cfg ContainerConfig) (*ContainerRunner, error) {
	return &ContainerRunner{ex: ex, cfg: cfg}, nil
}

// Run runs spec.Script in spec.Target. See Runner.
func (r *ContainerRunner) Run(ctx context.Context, spec Spec) (Outcome, error) {
	return Outcome{}, errors.New("not built yet")
}
