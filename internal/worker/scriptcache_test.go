//go:build linux

package worker_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/node"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

const account = "acct"

// scriptHarness is an engine and a worker on a real embedded NATS, with a
// local runner of its own TempDir, and one hook of one source.
type scriptHarness struct {
	t      *testing.T
	ctx    context.Context
	env    *natstest.Env
	n      *node.Node
	tmp    string // the runner's TempDir
	app    string
	source string // the source's ID
	runs   int
}

func newScriptHarness(t *testing.T, script string) *scriptHarness {
	t.Helper()
	h := &scriptHarness{t: t, ctx: natstest.Context(t, 2*time.Minute), env: natstest.Start(t), tmp: t.TempDir(), app: uuid.NewString()}
	if err := events.Provision(h.ctx, h.env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	h.start()
	src, err := h.n.Engine.Store().SaveSource(h.ctx, account, *executor.NewScriptSource("s", []byte(script)), "test")
	if err != nil {
		t.Fatal(err)
	}
	h.source = src.Source.ID
	if _, err := h.n.Engine.Store().SaveHook(h.ctx, account, matcher.ExecutionHook{Type: matcher.MediaType, Version: matcher.CurrentVersion,
		HookType: matcher.HookTypeCustom, Name: "h", AppID: h.app, Action: "snapshot", Stage: "pre", HookSourceID: h.source,
		Arguments: []string{h.tmp}}, "test"); err != nil {
		t.Fatal(err)
	}
	return h
}

// start starts a node (engine and worker) with a fresh local runner.
func (h *scriptHarness) start() {
	h.t.Helper()
	r, err := executor.NewLocalRunner(executor.LocalConfig{TempDir: h.tmp})
	if err != nil {
		h.t.Fatal(err)
	}
	if h.n, err = node.Start(h.ctx, node.Config{JS: h.env.JS, Engine: &engine.Config{}, Worker: &worker.Config{Runner: r, Concurrency: 2}}); err != nil {
		h.t.Fatal(err)
	}
	n := h.n
	h.t.Cleanup(func() { _ = n.Stop(context.Background()) })
}

// run publishes one stage of containers and returns its result.
func (h *scriptHarness) run(containers int) *events.StageResult {
	h.t.Helper()
	h.runs++
	ev := &events.LifecycleEvent{RunID: fmt.Sprintf("run-%d", h.runs), AccountID: account, AppID: h.app, Action: "snapshot", Stage: "pre"}
	for i := range containers {
		ev.Containers = append(ev.Containers, events.Container{NamespaceName: "ns", PodName: fmt.Sprintf("p%d", i), ContainerName: "c", ContainerImage: "i"})
	}
	if _, err := events.PublishLifecycle(h.ctx, h.env.JS, ev); err != nil {
		h.t.Fatal(err)
	}
	sr, err := events.WaitStageResult(h.ctx, h.env.JS, account, ev.RunID, ev.Action, ev.Stage)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(sr.Executions) != containers {
		h.t.Fatalf("%d executions, want %d: %+v", len(sr.Executions), containers, sr)
	}
	return sr
}

// scriptFiles lists the script files the runner keeps.
func (h *scriptHarness) scriptFiles() []string {
	files, _ := filepath.Glob(filepath.Join(h.tmp, "hookshot-scripts-*", "*", "hook"))
	return files
}

// The script each execution ran is the file written for the first: the
// worker neither writes the script again nor fetches the source again (its
// stored content, replaced after the first run by one that no longer
// matches its checksum, would fail the hook); a worker that has to fetch
// it fails the hook permanently, as before; Stop removes the files.
func TestWorkerRunsCachedScriptFile(t *testing.T) {
	t.Parallel()
	h := newScriptHarness(t, "#!/bin/sh\nstat -c '%n %i %Z' \"$0\" >> \"$1/ran\"\n")
	h.run(3)
	h.run(3)
	lines := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(h.tmp, "ran"))), "\n")
	if len(lines) != 6 {
		t.Fatalf("ran %d times, want 6: %q", len(lines), lines)
	}
	for _, l := range lines[1:] {
		if l != lines[0] {
			t.Fatalf("executions ran different files (path inode ctime): %q", lines)
		}
	}
	if files := h.scriptFiles(); len(files) != 1 {
		t.Fatalf("script files %v, want 1", files)
	}

	// The stored content of the checksum the hook pins, replaced by
	// something else: fetching it again fails the hook for good.
	rec, err := h.n.Engine.Store().Sources.Get(h.ctx, account, h.source)
	if err != nil {
		t.Fatal(err)
	}
	sum := rec.Value.Source.SourceMD5Checksum
	kv, err := h.env.JS.KeyValue(h.ctx, events.BucketScripts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(h.ctx, account+"."+sum, []byte(base64.StdEncoding.EncodeToString([]byte("exit 7\n")))); err != nil {
		t.Fatal(err)
	}
	if sr := h.run(2); sr.HookState != events.HookStateSuccess {
		t.Fatalf("the worker fetched the source again: %+v", sr)
	}

	// A new worker has nothing cached: the mismatch fails the hook, at
	// its first attempt (permanent, not handed back).
	if err := h.n.Stop(h.ctx); err != nil {
		t.Fatal(err)
	}
	if files := h.scriptFiles(); len(files) != 0 {
		t.Fatalf("script files left after the worker stopped: %v", files)
	}
	h.start()
	sr := h.run(1)
	if x := sr.Executions[0]; sr.HookState == events.HookStateSuccess || x.Status != events.StatusFailed || x.Attempt != 1 {
		t.Fatalf("mismatched content ran: %+v", sr)
	}
	if !strings.Contains(fmt.Sprint(sr.HookStateDetails), "checksum") {
		t.Fatalf("details do not name the checksum: %+v", sr.HookStateDetails)
	}
}

// A source updated between runs runs its new content: the cache never
// serves the old file for it.
func TestWorkerRunsUpdatedSource(t *testing.T) {
	t.Parallel()
	h := newScriptHarness(t, "exit 0\n")
	if sr := h.run(2); sr.HookState != events.HookStateSuccess {
		t.Fatalf("first run: %+v", sr)
	}
	for i, code := range []int{3, 4, 0} {
		rec, err := h.n.Engine.Store().Sources.Get(h.ctx, account, h.source)
		if err != nil {
			t.Fatal(err)
		}
		next := rec.Value.Source
		next.Source = base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "exit %d\n", code))
		if _, err := h.n.Engine.Store().SaveSource(h.ctx, account, next, "test"); err != nil {
			t.Fatal(err)
		}
		sr := h.run(2)
		for _, x := range sr.Executions {
			if x.ExitCode != code {
				t.Fatalf("update %d: exit code %d, want %d: %+v", i, x.ExitCode, code, sr)
			}
		}
	}
	if files := h.scriptFiles(); len(files) != 3 { // exit 0, 3 and 4
		t.Fatalf("script files %v, want 3", files)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
