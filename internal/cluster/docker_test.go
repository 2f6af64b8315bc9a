package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/hookshot-dev/hookshot/deploy/dockertest"
	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
)

// composeApp starts the containers of a compose-labelled project named
// project-<random> and returns the project's name. Each service is
// "name:label=value,label=value"; a service named with a leading "-" is
// created and then stopped; "?" as the service name gives a container with
// no service label.
func composeApp(t *testing.T, cli *client.Client, image, project string, services ...string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	project += "-" + hex.EncodeToString(b[:])
	for i, s := range services {
		name, extra, _ := strings.Cut(s, ":")
		stopped := strings.HasPrefix(name, "-")
		name = strings.TrimPrefix(name, "-")
		labels := dockertest.Labels(t)
		labels[LabelComposeProject] = project
		if name != "?" {
			labels[LabelComposeService] = name
		} else {
			name = "unnamed" + strconv.Itoa(i)
		}
		for _, kv := range strings.Split(extra, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				labels[k] = v
			}
		}
		id := dockertest.StartContainer(t, cli, image, project+"-"+name+"-1", labels)
		if stopped {
			zero := 0
			if _, err := cli.ContainerStop(t.Context(), id, client.ContainerStopOptions{Timeout: &zero}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return project
}

func newTestDocker(t testing.TB, c Config) *Docker {
	t.Helper()
	d, err := newDocker(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestDockerDiscover(t *testing.T) {
	t.Parallel()
	image := dockertest.BuildTargetImage(t)
	cli := dockertest.Client(t)
	shop := composeApp(t, cli, image, "shop",
		"db:app=shop,tier=data",
		"web:app=shop,tier=front",
		"cache:app=shop,tier=cache,role=cache",
		"-old:app=shop,tier=data",
	)
	other := composeApp(t, cli, image, "other", "?:app=shop,tier=data")
	d := newTestDocker(t, Config{Name: "docker", Type: TypeDocker})
	if err := d.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	db, web, cache := shop+"/"+shop+"-db-1/db", shop+"/"+shop+"-web-1/web", shop+"/"+shop+"-cache-1/cache"
	unnamed := other + "/" + other + "-unnamed0-1/" + other + "-unnamed0-1"
	tests := []struct {
		name    string
		given   []events.NamespaceSelector
		want    []string // Keys
		wantErr string
	}{
		{name: "whole project", given: []events.NamespaceSelector{{Namespace: shop}}, want: []string{cache, db, web}},
		{name: "equals", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"tier=data"}}}, want: []string{db}},
		{name: "not equals", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"tier!=data"}}}, want: []string{cache, web}},
		{name: "in", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"tier in (front, cache)"}}}, want: []string{cache, web}},
		{name: "notin", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"tier notin (front)"}}}, want: []string{cache, db}},
		{name: "exists", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"role"}}}, want: []string{cache}},
		{name: "does not exist", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"!role"}}}, want: []string{db, web}},
		{name: "and", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"app=shop,tier=front"}}}, want: []string{web}},
		{name: "matches nothing", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"tier=gpu"}}}, want: nil},
		{name: "unknown project", given: []events.NamespaceSelector{{Namespace: shop + "-none"}}, want: nil},
		{name: "selectors are or", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"tier=data", "tier=front"}}}, want: []string{db, web}},
		{
			name: "scopes merge without duplicates",
			given: []events.NamespaceSelector{
				{Namespace: shop, LabelSelectors: []string{"tier=data"}},
				{Namespace: shop, LabelSelectors: []string{"app=shop"}},
				{Namespace: other},
				{Namespace: other, LabelSelectors: []string{"tier=data"}},
			},
			want: []string{unnamed, cache, db, web},
		},
		{name: "bad selector", given: []events.NamespaceSelector{{Namespace: shop, LabelSelectors: []string{"tier in ("}}}, wantErr: `label selector "tier in ("`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := d.Discover(t.Context(), tt.given)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Discover error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			keys := []string{}
			for _, c := range got {
				keys = append(keys, c.Key())
			}
			if !slices.Equal(keys, append([]string{}, tt.want...)) {
				t.Fatalf("Discover = %q, want %q", keys, tt.want)
			}
			if !slices.IsSortedFunc(got, events.CompareContainers) {
				t.Fatalf("not sorted: %q", keys)
			}
		})
	}

	t.Run("container fields", func(t *testing.T) {
		t.Parallel()
		c := discoverOne(t, d, shop, "tier=front")
		labels := map[string]string{}
		for _, l := range c.PodLabels {
			labels[l.Name] = l.Value
		}
		if c.NamespaceName != shop || c.PodName != shop+"-web-1" || c.ContainerName != "web" || c.ContainerImage != image ||
			labels["app"] != "shop" || labels["tier"] != "front" || labels[LabelComposeProject] != shop ||
			!slices.IsSortedFunc(c.PodLabels, func(a, b events.Label) int { return strings.Compare(a.Name, b.Name) }) {
			t.Fatalf("container = %+v", c)
		}
	})

	t.Run("runs hooks in what it found", func(t *testing.T) {
		t.Parallel()
		c := discoverOne(t, d, shop, "tier=data")
		r, err := executor.NewContainerRunner(d.Execer(), executor.ContainerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.Run(t.Context(), executor.Spec{
			Script:  []byte(`echo "$1 in $(hostname)"`),
			Args:    []string{c.ContainerName},
			Target:  executor.Target{Cluster: "docker", Namespace: c.NamespaceName, Pod: c.PodName, Container: c.ContainerName},
			Timeout: 30 * time.Second,
		})
		if err != nil || !out.Succeeded() || !strings.HasPrefix(out.Stdout.Text, "db in ") {
			t.Fatalf("Run = %+v, %v", out, err)
		}
	})
}

// discoverOne discovers the one container of project that selector picks.
func discoverOne(t *testing.T, d *Docker, project, selector string) events.Container {
	t.Helper()
	got, err := d.Discover(t.Context(), []events.NamespaceSelector{{Namespace: project, LabelSelectors: []string{selector}}})
	if err != nil || len(got) != 1 {
		t.Fatalf("Discover(%s) = %+v, %v; want one container", selector, got, err)
	}
	return got[0]
}

func TestDockerRegistry(t *testing.T) {
	t.Parallel()
	image := dockertest.BuildTargetImage(t)
	project := composeApp(t, dockertest.Client(t), image, "reg", "api:tier=front")
	reg, err := NewRegistry(RegistryConfig{Clusters: []Config{
		{Name: "engine", Type: TypeDocker},
		{Name: "gone", Type: TypeDocker, Host: "unix:///nonexistent/docker.sock"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	got, err := reg.Discover(t.Context(), "engine", []events.NamespaceSelector{{Namespace: project}})
	if err != nil || len(got) != 1 || got[0].ContainerName != "api" {
		t.Fatalf("Discover = %+v, %v", got, err)
	}
	infos := map[string]Info{}
	for _, in := range reg.List(t.Context()) {
		infos[in.Name] = in
	}
	if infos["engine"].State != StateRunning {
		t.Fatalf("engine: %+v", infos["engine"])
	}
	if g := infos["gone"]; g.State != StateUnavailable || !strings.Contains(g.StateDetail, "unix:///nonexistent/docker.sock") || !strings.Contains(g.StateDetail, "unreachable") {
		t.Fatalf("gone: %+v", g)
	}
	_, err = reg.Discover(t.Context(), "gone", []events.NamespaceSelector{{Namespace: project}})
	if err == nil || !strings.Contains(err.Error(), "list the containers of compose project "+project) {
		t.Fatalf("Discover on an unreachable engine: %v", err)
	}
}

func TestNewDockerHost(t *testing.T) {
	t.Parallel()
	if _, err := NewDocker(Config{Name: "x", Type: TypeDocker, Host: "docker.example.com"}); err == nil || !strings.Contains(err.Error(), "docker.example.com") {
		t.Fatalf("NewDocker with a bad host: %v", err)
	}
}

// BenchmarkDockerDiscover compares Discover of a compose project of N
// running containers (HOOKSHOT_BENCH_CONTAINERS, default 10; try 200 by
// hand) with the bare ContainerList it makes.
func BenchmarkDockerDiscover(b *testing.B) {
	n := 10
	if s := os.Getenv("HOOKSHOT_BENCH_CONTAINERS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	image := dockertest.BuildTargetImage(b)
	cli := dockertest.Client(b)
	var r [4]byte
	_, _ = rand.Read(r[:])
	project := "bench-" + hex.EncodeToString(r[:])
	labels := dockertest.Labels(b)
	labels[LabelComposeProject] = project
	for i := range n {
		l := maps.Clone(labels)
		l[LabelComposeService] = fmt.Sprintf("svc%d", i)
		l["tier"] = []string{"data", "front"}[i%2]
		dockertest.StartContainer(b, cli, image, fmt.Sprintf("%s-svc%d-1", project, i), l)
	}
	d := newTestDocker(b, Config{Name: "bench", Type: TypeDocker})
	scopes := []events.NamespaceSelector{{Namespace: project, LabelSelectors: []string{"tier in (data, front)"}}}
	opts := client.ContainerListOptions{Filters: make(client.Filters).Add("label", LabelComposeProject+"="+project).Add("status", "running")}
	ctx := context.Background()
	var discover, list time.Duration
	for b.Loop() {
		t0 := time.Now()
		got, err := d.Discover(ctx, scopes)
		t1 := time.Now()
		res, lerr := cli.ContainerList(ctx, opts)
		t2 := time.Now()
		if err != nil || lerr != nil || len(got) != n || len(res.Items) != n {
			b.Fatalf("Discover: %d, %v; ContainerList: %d, %v", len(got), err, len(res.Items), lerr)
		}
		discover += t1.Sub(t0)
		list += t2.Sub(t1)
	}
	b.ReportMetric(float64(discover.Microseconds())/float64(b.N), "µs/discover")
	b.ReportMetric(float64(list.Microseconds())/float64(b.N), "µs/list")
	b.ReportMetric(float64(discover)/float64(list), "discover/list")
	b.ReportMetric(float64(n), "containers")
}
