// Package enginebench measures Hookshot end to end: executions per second of
// a trivial hook through lifecycle event → matcher → jobs → workers → results
// → stage result, next to a bare exec of the same script at the same
// concurrency, measured in the same run; then the latency of event
// published → stage result received, one container per event, at half the
// rate just measured. The ratio is the figure to watch; absolute numbers
// depend on the machine.
package enginebench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

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
	// LatencyEvents is how many one-container events the latency phase
	// publishes, at half the rate the throughput phase measured. Defaults
	// to 200.
	LatencyEvents int
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
	// Latency is event published → stage result received.
	Latency Latency
}

// Latency is what the latency phase found: one-container events published
// at Rate (half HookshotPerSec), each timed from just before its publish to
// the arrival of its stage result at a subscriber.
type Latency struct {
	Events int
	// Rate is the events (hence executions) per second published.
	Rate float64
	// P50 and P99 of event published → stage result received.
	P50, P99 time.Duration
	// HookP50 is the median of the hooks' own run time, as their runner
	// recorded it (Finished − Started of the execution result).
	HookP50 time.Duration
	// OverheadP50 and OverheadP99 are of each event's latency minus its
	// hook's own run time: what Hookshot adds.
	OverheadP50, OverheadP99 time.Duration
}

func (r Report) String() string {
	l := r.Latency
	return fmt.Sprintf("%d executions at concurrency %d: hookshot %.0f/s, bare exec %.0f/s, ratio %.2f (overhead %s per execution)\n"+
		"latency event → stage result, %d events at %.0f/s (half the rate above): p50 %s, p99 %s; minus the hook's own run (p50 %s): p50 %s, p99 %s",
		r.Executions, r.Concurrency, r.HookshotPerSec, r.BarePerSec, r.Ratio, r.OverheadPerExec.Round(time.Microsecond),
		l.Events, l.Rate, us(l.P50), us(l.P99), us(l.HookP50), us(l.OverheadP50), us(l.OverheadP99))
}

func us(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

// Run measures both sides once on a fresh embedded NATS in a temp dir.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg.Executions = cmp.Or(cfg.Executions, 500)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 4)
	cfg.ContainersPerEvent = min(cmp.Or(cfg.ContainersPerEvent, 250), events.MaxContainers)
	cfg.LatencyEvents = cmp.Or(cfg.LatencyEvents, 200)
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
	if err := hookshot(ctx, dir, cfg, bare, &rep); err != nil {
		return rep, err
	}
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

// hookshot measures Hookshot's side into rep: the throughput, then the
// latency at half of it.
func hookshot(ctx context.Context, dir string, cfg Config, bare time.Duration, rep *Report) error {
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:-1", StoreDir: filepath.Join(dir, "js")})
	if err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())
	nc, err := srv.Connect("hookshot-bench")
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstreamNew(nc)
	if err != nil {
		return err
	}
	if err := events.Provision(ctx, js, events.ProvisionConfig{}); err != nil {
		return err
	}
	// The same wiring as `hookshot server`'s engine and workers.
	n, err := node.Start(ctx, node.Config{JS: js, Engine: &engine.Config{}, Worker: &worker.Config{Concurrency: cfg.Concurrency}})
	if err != nil {
		return err
	}
	defer n.Stop(context.Background())
	eng := n.Engine

	const account = "bench"
	app := uuid.NewString()
	src, err := eng.Store().SaveSource(ctx, account, *executor.NewScriptSource("bench", []byte(Script)), "bench")
	if err != nil {
		return err
	}
	hook, err := eng.Store().SaveHook(ctx, account, matcher.ExecutionHook{Type: matcher.MediaType, Version: matcher.CurrentVersion,
		HookType: matcher.HookTypeCustom, Name: "noop", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src.Source.ID}, "bench")
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := eng.Index().Get(account, hook.Hook.ID); ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hook never indexed")
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
			return err
		}
	}
	for _, ev := range evs {
		sr, err := events.WaitStageResult(ctx, js, account, ev.RunID, ev.Action, ev.Stage)
		if err != nil {
			return err
		}
		if sr.HookState != events.HookStateSuccess || len(sr.Executions) != len(ev.Containers) {
			return fmt.Errorf("run %s: hookState %s with %d executions", ev.RunID, sr.HookState, len(sr.Executions))
		}
	}
	h := time.Since(start)
	rep.Bare, rep.Hookshot = bare, h
	rep.BarePerSec = float64(cfg.Executions) / bare.Seconds()
	rep.HookshotPerSec = float64(cfg.Executions) / h.Seconds()
	rep.Ratio = rep.HookshotPerSec / rep.BarePerSec
	rep.OverheadPerExec = (h - bare) * time.Duration(cfg.Concurrency) / time.Duration(cfg.Executions)

	rep.Latency, err = latency(ctx, nc, js, account, app, cfg.LatencyEvents, rep.HookshotPerSec/2)
	return err
}

// latency publishes n one-container events at rate per second, on a fixed
// schedule (open loop: a slow answer does not slow the publishing), and
// times each from just before its publish to its stage result's arrival at
// a core NATS subscriber, as a controller would receive it.
func latency(ctx context.Context, nc *nats.Conn, js jetstreamJS, account, app string, n int, rate float64) (Latency, error) {
	l := Latency{Events: n, Rate: rate}
	type timing struct {
		published, answered time.Time
		hook                time.Duration
		hookKnown           bool
	}
	var mu sync.Mutex
	timings := make(map[string]*timing, n)
	answered := make(chan struct{}, n)
	at := func(runID string) *timing {
		t := timings[runID]
		if t == nil {
			t = &timing{}
			timings[runID] = t
		}
		return t
	}
	stageSub, err := nc.Subscribe(events.StageResultSubject(account, "*"), func(m *nats.Msg) {
		now := time.Now()
		sr, err := events.DecodeStageResult(m.Data)
		if err != nil || !strings.HasPrefix(sr.RunID, "lat-") {
			return
		}
		mu.Lock()
		t := at(sr.RunID)
		first := t.answered.IsZero()
		if first {
			t.answered = now
		}
		mu.Unlock()
		if first {
			answered <- struct{}{}
		}
	})
	if err != nil {
		return l, err
	}
	defer stageSub.Unsubscribe()
	execSub, err := nc.Subscribe(events.ExecutionResultSubject(account, "*"), func(m *nats.Msg) {
		res, err := events.DecodeExecutionResult(m.Data)
		if err != nil || !strings.HasPrefix(res.RunID, "lat-") {
			return
		}
		mu.Lock()
		t := at(res.RunID)
		t.hook, t.hookKnown = res.Finished.Sub(res.Started), true
		mu.Unlock()
	})
	if err != nil {
		return l, err
	}
	defer execSub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		return l, err
	}

	interval := time.Duration(float64(time.Second) / max(rate, 1))
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return l, ctx.Err()
			}
		}
		ev := &events.LifecycleEvent{RunID: fmt.Sprintf("lat-%d", i), AccountID: account, AppID: app, Action: "snapshot", Stage: "pre",
			Containers: []events.Container{{NamespaceName: "ns", PodName: "pod", ContainerName: "c", ContainerImage: "img"}}}
		mu.Lock()
		at(ev.RunID).published = time.Now()
		mu.Unlock()
		if _, err := events.PublishLifecycle(ctx, js, ev); err != nil {
			return l, err
		}
	}
	for range n {
		select {
		case <-answered:
		case <-ctx.Done():
			return l, fmt.Errorf("latency: %w waiting for stage results", ctx.Err())
		case <-time.After(30 * time.Second):
			return l, fmt.Errorf("latency: no stage result for 30s")
		}
	}
	// An execution result may trail its stage result on the subscription
	// by a moment (they are different subjects).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		missing := 0
		for _, t := range timings {
			if !t.hookKnown {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			return l, fmt.Errorf("latency: %d execution results never seen", missing)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var lat, hook, over []time.Duration
	for id, t := range timings {
		if t.published.IsZero() {
			return l, fmt.Errorf("latency: a result of run %s that was not published", id)
		}
		d := t.answered.Sub(t.published)
		lat, hook, over = append(lat, d), append(hook, t.hook), append(over, d-t.hook)
	}
	l.P50, l.P99 = percentile(lat, 50), percentile(lat, 99)
	l.HookP50 = percentile(hook, 50)
	l.OverheadP50, l.OverheadP99 = percentile(over, 50), percentile(over, 99)
	return l, nil
}

// percentile is the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[min(max(i, 0), len(s)-1)]
}
