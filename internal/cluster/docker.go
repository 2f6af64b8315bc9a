package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/moby/moby/client"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
)

// Labels Docker Compose puts on the containers of a project: a Docker
// cluster's namespace is the project, a container's name within its pod
// (the Docker container) is its service.
const (
	LabelComposeProject = "com.docker.compose.project"
	LabelComposeService = "com.docker.compose.service"
)

// Docker is the backend of a Docker engine.
type Docker struct {
	c    *client.Client
	ex   *executor.DockerExecer
	host string // for messages
}

var _ Backend = (*Docker)(nil)

// NewDocker makes the backend of a Docker engine: a client of c.Host, else
// of $DOCKER_HOST (with $DOCKER_TLS_VERIFY, $DOCKER_CERT_PATH and
// $DOCKER_API_VERSION, as the docker CLI reads them), else of the default
// socket. The API version is negotiated with the engine on first contact;
// NewDocker itself does not contact it.
func NewDocker(c Config) (Backend, error) {
	return newDocker(c)
}

func newDocker(c Config) (*Docker, error) {
	opts := []client.Opt{client.FromEnv}
	if c.Host != "" {
		opts = append(opts, client.WithHost(c.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", cmp.Or(c.Host, os.Getenv("DOCKER_HOST"), client.DefaultDockerHost), err)
	}
	return &Docker{c: cli, ex: executor.NewDockerExecer(cli), host: cli.DaemonHost()}, nil
}

// Ping checks that the engine answers (and settles the API version).
func (d *Docker) Ping(ctx context.Context) error {
	if _, err := d.c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return d.error("ping", err)
	}
	return nil
}

// Discover lists the running containers of each scope's compose project
// (the engine filters by project label and state) and keeps those whose
// labels match one of the scope's selectors. See Discoverer.
func (d *Docker) Discover(ctx context.Context, scopes []events.NamespaceSelector) ([]events.Container, error) {
	// The selectors of every scope of a project: a container matches its
	// project's scopes if it matches any of them; a scope without
	// selectors matches all its project's containers.
	type project struct {
		all       bool
		selectors []labels.Selector
	}
	projects := map[string]*project{}
	var order []string
	for _, s := range scopes {
		p := projects[s.Namespace]
		if p == nil {
			p = &project{}
			projects[s.Namespace] = p
			order = append(order, s.Namespace)
		}
		if len(s.LabelSelectors) == 0 {
			p.all = true
		}
		for _, raw := range s.LabelSelectors {
			sel, err := ParseSelector(raw)
			if err != nil {
				return nil, fmt.Errorf("namespace %s: label selector %q: %w", s.Namespace, raw, err)
			}
			p.selectors = append(p.selectors, sel)
		}
	}
	var out []events.Container
	seen := map[string]bool{}
	for _, ns := range order {
		p := projects[ns]
		res, err := d.c.ContainerList(ctx, client.ContainerListOptions{
			Filters: make(client.Filters).Add("label", LabelComposeProject+"="+ns).Add("status", "running"),
		})
		if err != nil {
			return nil, d.error("list the containers of compose project "+ns, err)
		}
		for _, c := range res.Items {
			if seen[c.ID] || c.Labels[LabelComposeProject] != ns {
				continue
			}
			if !p.all && !Matches(p.selectors, c.Labels) {
				continue
			}
			seen[c.ID] = true
			name := c.ID
			if len(c.Names) > 0 {
				name = strings.TrimPrefix(c.Names[0], "/")
			}
			out = append(out, events.Container{
				NamespaceName:  ns,
				PodName:        name,
				PodLabels:      PodLabels(c.Labels),
				ContainerName:  cmp.Or(c.Labels[LabelComposeService], name),
				ContainerImage: c.Image,
			})
		}
	}
	events.SortContainers(out)
	return out, nil
}

// Execer runs processes in the engine's containers.
func (d *Docker) Execer() executor.ContainerExecer { return d.ex }

// Close releases the client's connections.
func (d *Docker) Close() error { return d.c.Close() }

// error says what failed, and why in words an operator can act on when the
// engine could not be reached.
func (d *Docker) error(op string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("docker engine at %s: %s: permission denied on its socket (is this user allowed to use Docker?): %w", d.host, op, err)
	case client.IsErrConnectionFailed(err):
		return fmt.Errorf("docker engine at %s: %s: unreachable: %w", d.host, op, err)
	}
	return fmt.Errorf("docker engine at %s: %s: %w", d.host, op, err)
}
