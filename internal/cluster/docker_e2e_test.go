package cluster_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"go.uber.org/zap/zaptest"

	"github.com/hookshot-dev/hookshot/deploy/dockertest"
	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/node"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// TestDockerEndToEndMatching runs lifecycle events through what production
// wires (node.Start: the engine and a worker on an embedded NATS, the
// cluster registry's Docker backend and its runners) against a real Docker
// engine: an app 2.x of three containers of a compose-labelled project is
// discovered at the stage, each hook runs in exactly the containers its
// matchingCriteria select — checked by reading back, from inside every
// container, the file each hook appended to — and the stage result lists
// exactly those executions. A hook whose criteria match no container runs
// nowhere; an app whose selectors match no container fails its stage with
// a detail that says so.
func TestDockerEndToEndMatching(t *testing.T) {
	t.Parallel()
	image := dockertest.BuildTargetImage(t) // skips, or fails under HOOKSHOT_REQUIRE_DOCKER=1
	cli := dockertest.Client(t)

	suffix := randomHex()
	project, clusterName := "e2e-"+suffix, "docker-e2e"
	// Where the hooks write, inside the containers. The worker's host must
	// never have it: a hook run on the host instead would create it here.
	traceDir := "/tmp/hookshot-e2e-" + suffix
	t.Cleanup(func() { _ = os.RemoveAll(traceDir) })

	// The cache container's image is the target image under a second tag,
	// so a containerImage criterion can tell it apart. The tag is removed
	// after the containers (cleanups run last-registered first).
	cacheImage := "localhost/hookshot-e2e-cache:" + suffix
	if _, err := cli.ImageTag(t.Context(), client.ImageTagOptions{Source: image, Target: cacheImage}); err != nil {
		t.Fatalf("tag %s: %v", cacheImage, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := cli.ImageRemove(ctx, cacheImage, client.ImageRemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("remove tag %s: %v", cacheImage, err)
		}
	})
	start := func(service, img string, labels ...string) string {
		l := dockertest.Labels(t)
		l[cluster.LabelComposeProject], l[cluster.LabelComposeService] = project, service
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			l[k] = v
		}
		name := project + "-" + service + "-1"
		dockertest.StartContainer(t, cli, img, name, l)
		return name
	}
	// Three containers of the app, and one of the same project that its
	// selector leaves out although both hooks' criteria would select it.
	db := start("db", image, "app=shop", "tier=data")
	cache := start("cache", cacheImage, "app=shop", "tier=cache")
	web := start("web", image, "app=shop", "tier=front")
	admin := start("dbadmin", cacheImage, "app=admin")
	containers := []string{db, cache, web, admin}
	key := func(name, service string) string { return project + "/" + name + "/" + service }
	dbKey, cacheKey, webKey := key(db, "db"), key(cache, "cache"), key(web, "web")

	// Production wiring: the registry of the configured clusters, its
	// runners for the worker (local plus every cluster, the default of
	// `hookshot worker`), engine and worker started by node.Start.
	env := natstest.Start(t)
	ctx := natstest.Context(t, 4*time.Minute)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	reg, err := cluster.NewRegistry(cluster.RegistryConfig{Clusters: []cluster.Config{{Name: clusterName, Type: cluster.TypeDocker}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	local, err := executor.NewLocalRunner(executor.LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	runnerFor, err := reg.Runners(local, executor.ContainerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(ctx, node.Config{JS: env.JS, Logger: zaptest.NewLogger(t), Clusters: reg,
		Engine: &engine.Config{},
		Worker: &worker.Config{Runner: local, Clusters: reg.Names(), RunnerFor: runnerFor, AckWait: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("node stop: %v", err)
		}
	})
	st := n.Engine.Store()

	const account = "e2e"
	app, err := st.CreateAppV2(ctx, account, store.App{Name: "shop", Version: "2.2", ClusterID: cluster.IDOf(clusterName),
		NamespaceScopedResources: []events.NamespaceSelector{{Namespace: project, LabelSelectors: []string{"app=shop"}}}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	// Each hook appends "hook|cluster|namespace|pod|container|$1|hostname"
	// to a file named after itself in the container it runs in.
	src, err := st.SaveSource(ctx, account, *executor.NewScriptSource("trace", []byte(`#!/bin/sh
set -e
mkdir -p `+traceDir+`
echo "$HOOKSHOT_HOOK_NAME|$HOOKSHOT_CLUSTER|$HOOKSHOT_NAMESPACE|$HOOKSHOT_POD_NAME|$HOOKSHOT_CONTAINER_NAME|$1|$(hostname)" >> `+traceDir+`/"$HOOKSHOT_HOOK_NAME"
`)), "test")
	if err != nil {
		t.Fatal(err)
	}
	hook := func(t *testing.T, appID, name string, action matcher.Action, stage matcher.Stage, criteria ...matcher.Criterion) {
		t.Helper()
		_, err := st.SaveHook(ctx, account, matcher.ExecutionHook{Type: matcher.MediaType, Version: "1.3", HookType: "custom",
			Name: name, AppID: appID, Action: action, Stage: stage, HookSourceID: src.Source.ID,
			Arguments: []string{"arg-" + name}, MatchingCriteria: criteria}, "test")
		if err != nil {
			t.Fatal(err)
		}
	}
	// freeze: db and cache by container name; flush: cache by image. Both
	// would also select dbadmin, which is not in the app.
	hook(t, app.ID, "freeze", "snapshot", "pre", matcher.Criterion{Type: matcher.CriterionContainerName, Value: `^(db|cache)`})
	hook(t, app.ID, "flush", "snapshot", "pre", matcher.Criterion{Type: matcher.CriterionContainerImage, Value: `hookshot-e2e-cache:`})
	// never: its criteria select none of the app's containers.
	hook(t, app.ID, "never", "backup", "pre", matcher.Criterion{Type: matcher.CriterionContainerName, Value: `^postgres$`})
	if err := n.Engine.SyncIndex(ctx); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, appID string, action events.Action, stage events.Stage) *events.StageResult {
		t.Helper()
		ev := &events.LifecycleEvent{RunID: "run-" + randomHex(), AccountID: account, AppID: appID, Action: action, Stage: stage}
		if _, err := events.PublishLifecycle(ctx, env.JS, ev); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		sr, err := events.WaitStageResult(wctx, env.JS, account, ev.RunID, action, stage)
		if err != nil {
			t.Fatalf("%s/%s of %s: %v", action, stage, appID, err)
		}
		return sr
	}
	// traces reads, from inside each container, every hook's file.
	traces := func(t *testing.T) map[string]string {
		t.Helper()
		got := map[string]string{}
		for _, c := range containers {
			out, code, err := execIn(t.Context(), cli, c, "sh", "-c", "cat "+traceDir+"/* 2>/dev/null || true")
			if err != nil || code != 0 {
				t.Fatalf("read the traces in %s: exit %d, %v", c, code, err)
			}
			got[c] = out
		}
		return got
	}
	hostname := map[string]string{}
	for _, c := range containers {
		out, code, err := execIn(t.Context(), cli, c, "hostname")
		if err != nil || code != 0 {
			t.Fatalf("hostname of %s: exit %d, %v", c, code, err)
		}
		hostname[c] = strings.TrimSpace(out)
	}
	line := func(hook, name, service string) string {
		return hook + "|" + clusterName + "|" + project + "|" + name + "|" + service + "|arg-" + hook + "|" + hostname[name] + "\n"
	}
	// What each container holds once the snapshot/pre stage ran: files
	// are read in name order (flush before freeze), one line per run.
	want := map[string]string{
		db:    line("freeze", db, "db"),
		cache: line("flush", cache, "cache") + line("freeze", cache, "cache"),
		web:   "",
		admin: "",
	}

	t.Run("each hook runs in the containers it matches", func(t *testing.T) {
		sr := run(t, app.ID, "snapshot", "pre")
		if sr.HookState != events.HookStateSuccess || len(sr.HookStateDetails) != 0 || sr.AbortAction {
			t.Fatalf("stage result: %+v", sr)
		}
		var ran []string
		for _, e := range sr.Executions {
			if e.Status != events.StatusSucceeded || e.ExitCode != 0 || e.Attempt != 1 {
				t.Errorf("execution %s in %s: %+v", e.HookName, e.Container.Key(), e)
			}
			ran = append(ran, e.HookName+" in "+e.Container.Key())
		}
		slices.Sort(ran)
		if wantRan := []string{"flush in " + cacheKey, "freeze in " + cacheKey, "freeze in " + dbKey}; !slices.Equal(ran, wantRan) {
			t.Errorf("stage result executions:\n  %s\nwant\n  %s", strings.Join(ran, "\n  "), strings.Join(wantRan, "\n  "))
		}
		if got := traces(t); !maps.Equal(got, want) {
			t.Errorf("files written in the containers:\n%s\nwant\n%s", dump(got), dump(want))
		}
		if _, err := os.Stat(traceDir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a hook wrote %s on the worker's host (stat: %v)", traceDir, err)
		}

		// The run records where the stage ran: the cluster and the
		// inventory discovered from it, without the container left out.
		view, err := n.Engine.Run(ctx, account, sr.RunID)
		if err != nil {
			t.Fatal(err)
		}
		st := view.Stages[0]
		var inv []string
		for _, c := range st.Inventory {
			inv = append(inv, c.Key())
		}
		if st.Cluster != clusterName || !st.Discovered || !slices.Equal(inv, []string{cacheKey, dbKey, webKey}) {
			t.Errorf("run view: cluster %q discovered %v inventory %q", st.Cluster, st.Discovered, inv)
		}
	})

	t.Run("a hook that matches no container runs nowhere", func(t *testing.T) {
		sr := run(t, app.ID, "backup", "pre")
		// The engine's rule: hooks whose criteria select none of the
		// inventory are not a failure; the stage succeeds with no execution
		// (`runs get` shows "(no hook matched)") and explain says why.
		if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 0 || len(sr.HookStateDetails) != 0 {
			t.Fatalf("stage result: %+v", sr)
		}
		if got := traces(t); !maps.Equal(got, want) {
			t.Errorf("files written in the containers:\n%s\nwant (unchanged)\n%s", dump(got), dump(want))
		}
		view, err := n.Engine.Run(ctx, account, sr.RunID)
		if err != nil {
			t.Fatal(err)
		}
		st := view.Stages[0]
		if len(st.Inventory) != 3 || len(st.Executions) != 0 {
			t.Fatalf("run view: inventory %+v executions %+v", st.Inventory, st.Executions)
		}
		var never *matcher.Explanation
		for _, x := range n.Engine.Index().Explain(account, app.ID, "backup", "pre", st.Inventory) {
			if x.HookName == "never" {
				never = &x
			}
		}
		if never == nil || never.WouldRun || never.Reason != matcher.ReasonNoContainerMatched || len(never.Containers) != 3 ||
			!strings.Contains(never.Containers[0].Detail, "containerName") {
			t.Errorf("explain of never: %+v", never)
		}
	})

	t.Run("selectors that match no container fail the stage", func(t *testing.T) {
		none, err := st.CreateAppV2(ctx, account, store.App{Name: "nothing", Version: "2.2", ClusterID: cluster.IDOf(clusterName),
			NamespaceScopedResources: []events.NamespaceSelector{{Namespace: project, LabelSelectors: []string{"app=nothing"}}}}, "test")
		if err != nil {
			t.Fatal(err)
		}
		hook(t, none.ID, "anywhere", "snapshot", "pre") // no criteria: every container
		if err := n.Engine.SyncIndex(ctx); err != nil {
			t.Fatal(err)
		}
		sr := run(t, none.ID, "snapshot", "pre")
		if sr.HookState != events.HookStateFailed || len(sr.Executions) != 0 || len(sr.HookStateDetails) != 1 {
			t.Fatalf("stage result: %+v", sr)
		}
		d := sr.HookStateDetails[0]
		for _, s := range []string{"no running container of app " + none.ID, "cluster " + clusterName, "app=nothing", "1 enabled snapshot/pre hooks"} {
			if !strings.Contains(d.Detail, s) {
				t.Errorf("detail %q does not say %q", d.Detail, s)
			}
		}
		if d.Type != events.DetailMatchFailed {
			t.Errorf("detail type %s", d.Type)
		}
		if got := traces(t); !maps.Equal(got, want) {
			t.Errorf("files written in the containers:\n%s\nwant (unchanged)\n%s", dump(got), dump(want))
		}
	})
}

// execIn runs argv in container name through the Engine API alone (what
// `docker exec` does), and returns its stdout and exit code; a non-zero
// exit is an error carrying its stderr.
func execIn(ctx context.Context, cli *client.Client, name string, argv ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, errOut, code, err := dockertest.Exec(ctx, cli, name, argv...)
	if err == nil && code != 0 {
		err = errors.New(strings.TrimSpace(errOut))
	}
	return out, code, err
}

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func dump(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("  " + k + ":\n")
		for _, l := range strings.Split(strings.TrimSuffix(m[k], "\n"), "\n") {
			if l != "" {
				b.WriteString("    " + l + "\n")
			}
		}
	}
	return b.String()
}
