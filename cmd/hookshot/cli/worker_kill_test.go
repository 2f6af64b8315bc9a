//go:build linux

package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/worker"
	"github.com/hookshot-dev/hookshot/matcher"
)

// slowFirstAttempt records each attempt in $1; attempt 1 also starts two
// processes that escape its process group and session — one setsid'd, one
// double-forked into a new session and orphaned — records their pids in
// $2.setsid and $2.doublefork and its own in $2, and then hangs, so that its
// worker can be killed mid-hook.
const slowFirstAttempt = `#!/bin/sh
if [ "$HOOKSHOT_ATTEMPT" = 1 ]; then
  setsid sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; exec sleep 60' escapee "$2.setsid" &
  ( setsid sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; exec sleep 60' escapee "$2.doublefork" & )
  while [ ! -s "$2.setsid" ] || [ ! -s "$2.doublefork" ]; do sleep 0.01; done
  echo $$ > "$2.tmp" && mv "$2.tmp" "$2"
fi
echo "$HOOKSHOT_ATTEMPT" >> "$1"
if [ "$HOOKSHOT_ATTEMPT" = 1 ]; then sleep 60; fi
`

// A `hookshot worker` process SIGKILLed in the middle of a hook — no
// shutdown, no ack, no result, no goodbye — leaves its job to be redelivered
// once the ack wait passes; another worker runs it as attempt 2, and that
// is the only result recorded. The first attempt's script does not outlive
// its worker, nor do the processes it started in sessions of their own. The
// binary is installed as "hs": the guarantee does not depend on its name.
func TestWorkerProcessKilledMidHook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hookshot binary")
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid not installed")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "hs")
	if err := os.Rename(buildHookshot(t), bin); err != nil {
		t.Fatal(err)
	}

	env := natstest.Start(t)
	ctx := natstest.Context(t, 3*time.Minute)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, engine.Config{JS: env.JS, Logger: zaptest.NewLogger(t).Named("engine"), AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopWithin(t, eng.Stop) })

	const acct = "killtest"
	dir := t.TempDir()
	attempts, pidFile := filepath.Join(dir, "attempts"), filepath.Join(dir, "pid")
	src, err := eng.Store().SaveSource(ctx, acct, *executor.NewScriptSource("slow-first", []byte(slowFirstAttempt)), "test")
	if err != nil {
		t.Fatal(err)
	}
	app := uuid.NewString()
	hk, err := eng.Store().SaveHook(ctx, acct, matcher.ExecutionHook{
		Type: matcher.MediaType, Version: matcher.CurrentVersion, HookType: matcher.HookTypeCustom,
		Name: "slow-first", AppID: app, Action: events.ActionSnapshot, Stage: events.StagePre,
		HookSourceID: src.Source.ID, Arguments: []string{attempts, pidFile},
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "hook indexed", func() bool { _, ok := eng.Index().Get(acct, hk.Hook.ID); return ok })

	workerProc := startProcess(t, bin, "worker", "--nats-url", env.Server.ClientURL(), "--ack-wait", "1s", "--concurrency", "1", "--log-level", "debug")

	ev := &events.LifecycleEvent{RunID: "run-" + uuid.NewString(), AccountID: acct, AppID: app,
		Action: events.ActionSnapshot, Stage: events.StagePre,
		Containers: []events.Container{{NamespaceName: "prod", PodName: "db-0", ContainerName: "mysql", ContainerImage: "mysql:8"}}}
	if _, err := events.PublishLifecycle(ctx, env.JS, ev); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "attempt 1 running in the worker process", func() bool { return readFile(t, attempts) == "1\n" })
	script := readProcess(t, pidFile)
	// The hook runs in a process group of its own.
	pgid, err := syscall.Getpgid(script.pid)
	if err != nil || pgid != script.pid || pgid == syscall.Getpgrp() || pgid == workerProc.cmd.Process.Pid {
		t.Fatalf("script %d: process group %d (%v), want one of its own", script.pid, pgid, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }) // only if the test fails
	var escapees []pidRef
	for _, name := range []string{"setsid", "doublefork"} {
		e := readProcess(t, pidFile+"."+name)
		t.Cleanup(func() { // only if the test fails
			if !e.gone() {
				_ = syscall.Kill(e.pid, syscall.SIGKILL)
			}
		})
		if sid, err := unix.Getsid(e.pid); err != nil || sid != e.pid {
			t.Fatalf("%s process %d: session %d (%v), want a session of its own", name, e.pid, sid, err)
		}
		escapees = append(escapees, e)
	}

	workerProc.kill(t)

	w, err := worker.New(ctx, worker.Config{JS: env.JS, Name: "survivor", Concurrency: 1, AckWait: time.Second,
		KillGrace: 500 * time.Millisecond, Logger: zaptest.NewLogger(t).Named("survivor")})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopWithin(t, w.Stop) })

	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	sr, err := events.WaitStageResult(wctx, env.JS, acct, ev.RunID, ev.Action, ev.Stage)
	if err != nil {
		t.Fatalf("%v; worker process output:\n%s", err, workerProc.output())
	}
	if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 || sr.Executions[0].Attempt != 2 {
		t.Fatalf("stage result %+v", sr)
	}
	if got := readFile(t, attempts); got != "1\n2\n" {
		t.Fatalf("attempts %q, want %q", got, "1\n2\n")
	}
	if n := subjectMessages(t, ctx, env.JS, events.StreamResults, events.ExecutionResultSubject(acct, ev.RunID)); n != 1 {
		t.Fatalf("%d execution results published for the run, want 1", n)
	}
	// The worker's reaper saw it die and killed everything it had started:
	// the script, its child in its group, the `sleep 60`, and the two that
	// left its session.
	waitUntil(t, 10*time.Second, fmt.Sprintf("attempt 1's script (pid %d) gone", script.pid), script.gone)
	waitUntil(t, 10*time.Second, fmt.Sprintf("attempt 1's process group %d gone", pgid), func() bool {
		return syscall.Kill(-pgid, 0) == syscall.ESRCH
	})
	for _, e := range escapees {
		waitUntil(t, 10*time.Second, fmt.Sprintf("attempt 1's escaped process %d gone", e.pid), e.gone)
	}
}
