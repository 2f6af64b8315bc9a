package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// DockerExecer is the ContainerExecer of a Docker engine: it runs processes
// in containers through the Engine API's exec (create, attach, inspect).
// Target.Pod is the Docker container's name (or ID); the other fields of a
// Target only appear in messages.
//
// A DockerExecer is safe for concurrent use. It does not own the client.
type DockerExecer struct {
	c *client.Client
}

var _ ContainerExecer = (*DockerExecer)(nil)

// NewDockerExecer returns the ContainerExecer of the engine c talks to.
func NewDockerExecer(c *client.Client) *DockerExecer { return &DockerExecer{c: c} }

// exitWait bounds how long Exec waits, once the process's stream has ended,
// for the engine to report the process as exited.
const exitWait = 5 * time.Second

// Exec runs argv in target's container without a TTY: stdin (if not nil)
// is sent through the attached stream, which is then half-closed so the
// process reads end of file; stdout and stderr are demultiplexed from it.
// See ContainerExecer.
func (d *DockerExecer) Exec(ctx context.Context, target Target, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	name := target.Pod
	created, err := d.c.ExecCreate(ctx, name, client.ExecCreateOptions{
		Cmd:          argv,
		AttachStdin:  stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return -1, dockerError(ctx, "create exec in", name, err)
	}
	att, err := d.c.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return -1, dockerError(ctx, "start exec in", name, err)
	}
	// The hijacked connection does not follow ctx once established: close
	// it when ctx ends so the copies below return.
	stop := context.AfterFunc(ctx, att.Close)
	var feeder sync.WaitGroup
	if stdin != nil {
		feeder.Go(func() {
			if _, err := io.Copy(att.Conn, stdin); err == nil {
				_ = att.CloseWrite()
			}
		})
	}
	_, copyErr := stdcopy.StdCopy(stdout, stderr, att.Reader)
	stop()
	att.Close()
	feeder.Wait()
	if ctx.Err() != nil {
		return -1, fmt.Errorf("executor: exec in docker container %s: %w", name, ctx.Err())
	}
	if copyErr != nil {
		// A broken stream may mean the container went away; inspect tells.
		if _, err := d.c.ExecInspect(ctx, created.ID, client.ExecInspectOptions{}); err != nil {
			return -1, dockerError(ctx, "inspect exec in", name, err)
		}
		return -1, fmt.Errorf("executor: exec in docker container %s: stream: %w", name, copyErr)
	}
	return d.exitCode(ctx, created.ID, name)
}

// exitCode waits for the engine to see the exec's process exited and
// returns its exit code.
func (d *DockerExecer) exitCode(ctx context.Context, execID, name string) (int, error) {
	deadline := time.Now().Add(exitWait)
	pause := time.Millisecond
	for {
		res, err := d.c.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return -1, dockerError(ctx, "inspect exec in", name, err)
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("executor: exec in docker container %s: its output ended but the engine still reports it running after %v", name, exitWait)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return -1, fmt.Errorf("executor: exec in docker container %s: %w", name, ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// Running reports whether target's container exists and runs (a paused
// container does not run).
func (d *DockerExecer) Running(ctx context.Context, target Target) (bool, error) {
	res, err := d.c.ContainerInspect(ctx, target.Pod, client.ContainerInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		return false, dockerError(ctx, "inspect", target.Pod, err)
	}
	st := res.Container.State
	return st != nil && st.Running && !st.Paused, nil
}

// dockerError wraps an Engine API error by kind: ErrContainerNotFound,
// ErrContainerNotRunning (the engine's 409 Conflict for an exec into a
// stopped, paused or restarting container), ctx's error, or the engine's
// own trouble.
func dockerError(ctx context.Context, op, name string, err error) error {
	switch {
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		return fmt.Errorf("executor: %s docker container %s: %w (%w)", op, name, ctx.Err(), err)
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%w: %s docker container %s: %w", ErrContainerNotFound, op, name, err)
	case cerrdefs.IsConflict(err):
		return fmt.Errorf("%w: %s docker container %s: %w", ErrContainerNotRunning, op, name, err)
	}
	return fmt.Errorf("executor: %s docker container %s: %w", op, name, err)
}
