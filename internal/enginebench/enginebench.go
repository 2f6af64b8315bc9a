// Package enginebench measures Hookshot end to end: executions per second of
// a trivial hook through lifecycle event → matcher → jobs → workers → results
// → stage result, next to a bare exec of the same script at the same
// concurrency, measured in the same run. The ratio is the figure to watch;
// absolute numbers depend on the machine.
package enginebench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/embedded"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/node"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// Script is the trivial hook both sides run.
const Script = "#!/bin/sh\nexit 0\n"

// Config of a measurement.
type Config struct {
	// Executions to run. Defaults to 500.
	Executions int
	// Concurrency of the worker and of the bare-exec pool. Defaults to 4.
	Concurrency int
	// ContainersPerEvent splits the executions into runs. Defaults to 250.
	ContainersPerEvent int
}

// Report is what one measurement found.
type Report struct {
	Executions      int
	Concurrency     int
	Hookshot        time.Duration
	Bare            time.Duration
	HookshotPerSec  float64
	BarePerSec      float64
	OverheadPerExec time.Duration
	// Ratio is Hookshot's executions per second over bare exec's (≤ 1).
	Ratio float64
}

func (r Report) String() string {
	return fmt.Sprintf("%d executions at concurrency %d: hookshot %.0f/s, bare exec %.0f/s, ratio %.2f (overhead %s per execution)",
		r.Executions, r.Concurrency, r.HookshotPerSec, r.BarePerSec, r.Ratio, r.OverheadPerExec.Round(time.Microsecond))
}

// Run measures both sides once on a fresh embedded NATS in a temp dir.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg.Executions = cmp.Or(cfg.Executions, 500)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 4)
	cfg.ContainersPerEvent = min(cmp.Or(cfg.ContainersPerEvent, 250), events.MaxContainers)
	rep := Report{Executions: cfg.Executions, Concurrency: cfg.Concurrency}

	dir, err := os.MkdirTemp("", "hookshot-bench-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)

	bare, err := BareExec(ctx, dir, cfg.Executions, cfg.Concurrency)
	if err != nil {
		return rep, err
	}
	h, err := hookshot(ctx, dir, cfg)
	if err != nil {
		return rep, err
	}
	rep.Bare, rep.Hookshot = bare, h
	rep.BarePerSec = float64(cfg.Executions) / bare.Seconds()
	rep.HookshotPerSec = float64(cfg.Executions) / h.Seconds()
	rep.Ratio = rep.HookshotPerSec / rep.BarePerSec
	rep.OverheadPerExec = (h - bare) * time.Duration(cfg.Concurrency) / time.Duration(cfg.Executions)
	return rep, nil
}

// BareExec runs the script n times with os/exec, concurrency at a time.
func BareExec(ctx context.Context, dir string, n, concurrency int) (time.Duration, error) {
	path := filepath.Join(dir, "bare.sh")
	if err := os.WriteFile(path, []byte(Script), 0o700); err != nil {
		return 0, err
	}
	work := make(chan struct{})
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for range work {
				if err := exec.CommandContext(ctx, path).Run(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return elapsed, nil
}

func hookshot(ctx context.Context, dir string, cfg Config) (time.Duration, error) {
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:-1", StoreDir: filepath.Join(dir, "js")})
	if err != nil {
		return 0, err
	}
	defer srv.Shutdown(context.Background())
	nc, err := srv.Connect("hookshot-bench")
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstreamNew(nc)
	if err != nil {
		return 0, err
	}
	if err := events.Provision(ctx, js, events.ProvisionConfig{}); err != nil {
		return 0, err
	}
	// The same wiring as `hookshot server`'s engine and workers.
	n, err := node.Start(ctx, node.Config{JS: js, Engine: &engine.Config{}, Worker: &worker.Config{Concurrency: cfg.Concurrency}})
	if err != nil {
		return 0, err
	}
	defer n.Stop(context.Background())
	eng := n.Engine

	const account = "bench"
	app := uuid.NewString()
	src, err := eng.Store().SaveSource(ctx, account, *executor.NewScriptSource("bench", []byte(Script)), "bench")
	if err != nil {
		return 0, err
	}
	hook, err := eng.Store().SaveHook(ctx, account, matcher.ExecutionHook{Type: matcher.MediaType, Version: matcher.CurrentVersion,
		HookType: matcher.HookTypeCustom, Name: "noop", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src.Source.ID}, "bench")
	if err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := eng.Index().Get(account, hook.Hook.ID); ok {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("hook never indexed")
		}
	}

	var evs []*events.LifecycleEvent
	for left, i := cfg.Executions, 0; left > 0; i++ {
		n := min(left, cfg.ContainersPerEvent)
		ev := &events.LifecycleEvent{RunID: fmt.Sprintf("bench-%d", i), AccountID: account, AppID: app, Action: "snapshot", Stage: "pre"}
		for c := range n {
			ev.Containers = append(ev.Containers, events.Container{NamespaceName: "ns", PodName: fmt.Sprintf("pod-%d", c), ContainerName: "c", ContainerImage: "img"})
		}
		evs, left = append(evs, ev), left-n
	}
	start := time.Now()
	for _, ev := range evs {
		if _, err := events.PublishLifecycle(ctx, js, ev); err != nil {
			return 0, err
		}
	}
	for _, ev := range evs {
		sr, err := events.WaitStageResult(ctx, js, account, ev.RunID, ev.Action, ev.Stage)
		if err != nil {
			return 0, err
		}
		if sr.HookState != events.HookStateSuccess || len(sr.Executions) != len(ev.Containers) {
			return 0, fmt.Errorf("run %s: hookState %s with %d executions", ev.RunID, sr.HookState, len(sr.Executions))
		}
	}
	return time.Since(start), nil
}
