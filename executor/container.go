package executor

import (
	"context"
	"errors"
	"io"
)

// ContainerExecer starts processes inside containers: the one thing a
// container runtime (Docker's Engine API, Kubernetes' pods/exec) provides to
// ContainerRunner.
type ContainerExecer interface {
	// Exec runs argv (no shell is added) in target's container, with stdin
	// attached when it is not nil, and copies the process's stdout and
	// stderr until they end. It returns the process's exit code.
	//
	// It returns an error wrapping ErrContainerNotFound or
	// ErrContainerNotRunning when the container cannot run the process, and
	// any other error for trouble of the runtime itself (unreachable,
	// refused). When ctx ends, Exec stops streaming and returns promptly
	// with an error wrapping ctx's; the process in the container may live
	// on (ContainerRunner ends it with another Exec).
	Exec(ctx context.Context, target Target, argv []string, stdin io.Reader, stdout, stderr io.Writer) (exitCode int, err error)
	// Running reports whether target's container exists and runs now. It
	// returns an error only when it cannot tell.
	Running(ctx context.Context, target Target) (bool, error)
}

// Errors of a ContainerExecer.
var (
	// ErrContainerNotFound: the pod, container or Docker container does
	// not exist.
	ErrContainerNotFound = errors.New("container not found")
	// ErrContainerNotRunning: the container exists but is not running.
	ErrContainerNotRunning = errors.New("container is not running")
)
