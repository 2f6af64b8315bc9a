//go:build linux

package cli_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"
)

// SIGTERM while a hook runs: the hook either completes within the grace
// period or is handed back and redelivered after a restart — never recorded
// twice, never dropped — and the process exits 0 either way.
func TestSIGTERMDrainsRunningHook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hookshot binary")
	}
	bin := buildHookshot(t)
	for _, tt := range []struct {
		name         string
		grace        string
		wantAttempts string // lines of the script's trace
		wantRecorded int    // attempt of the one recorded result
		restartToSee bool
	}{
		{name: "completes within grace", grace: "20s", wantAttempts: "start 1,end 1", wantRecorded: 1},
		{name: "handed back after grace", grace: "1s", wantAttempts: "start 1,start 2,end 2", wantRecorded: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			trace := filepath.Join(dir, "trace")
			natsAddr := freePort(t)
			args := []string{"server", "--data-dir", filepath.Join(dir, "data"), "--nats-listen", natsAddr, "--api-listen", "off",
				"--concurrency", "1", "--ack-wait", "1s", "--stop-grace", tt.grace, "--log-format", "json"}
			server := startProcess(t, bin, args...)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			nc, js, st := connectStore(t, ctx, "nats://"+natsAddr)

			// Attempt 1 takes 3 s; later attempts are quick.
			script := "#!/bin/sh\necho \"start $HOOKSHOT_ATTEMPT\" >> " + trace + "\n" +
				"if [ \"$HOOKSHOT_ATTEMPT\" = 1 ]; then sleep 3; fi\necho \"end $HOOKSHOT_ATTEMPT\" >> " + trace + "\n"
			src, err := st.SaveSource(ctx, "acct", *executor.NewScriptSource("drain", []byte(script)), "test")
			if err != nil {
				t.Fatal(err)
			}
			app := uuid.NewString()
			if _, err := st.SaveHook(ctx, "acct", matcher.ExecutionHook{Type: matcher.MediaType, Version: "1.3", HookType: "custom",
				Name: "drain", AppID: app, Action: "snapshot", Stage: "pre", HookSourceID: src.Source.ID}, "test"); err != nil {
				t.Fatal(err)
			}
			ev := &events.LifecycleEvent{RunID: "run-drain", AccountID: "acct", AppID: app, Action: "snapshot", Stage: "pre",
				Containers: []events.Container{{NamespaceName: "ns", PodName: "p", ContainerName: "c", ContainerImage: "i"}}}
			if _, err := events.PublishLifecycle(ctx, js, ev); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, 30*time.Second, "attempt 1 running", func() bool { return strings.Contains(readFile(t, trace), "start 1") })
			nc.Close()

			if err := server.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-server.exited:
			case <-time.After(40 * time.Second):
				t.Fatal("server did not exit after SIGTERM")
			}
			if code := server.cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("server exited %d after SIGTERM:\n%s", code, server.output())
			}

			// Start again on the same data: whatever was handed back runs now,
			// and the stage result is there either way.
			startProcess(t, bin, args...)
			nc, js, _ = connectStore(t, ctx, "nats://"+natsAddr)
			defer nc.Close()
			sr, err := events.WaitStageResult(ctx, js, "acct", ev.RunID, "snapshot", "pre")
			if err != nil {
				t.Fatal(err)
			}
			if sr.HookState != events.HookStateSuccess || len(sr.Executions) != 1 || sr.Executions[0].Attempt != tt.wantRecorded {
				t.Fatalf("stage result %+v", sr)
			}
			if got := strings.Join(strings.Fields(strings.ReplaceAll(readFile(t, trace), " ", "_")), ","); got != strings.ReplaceAll(tt.wantAttempts, " ", "_") {
				t.Fatalf("trace %q, want %q", got, tt.wantAttempts)
			}
			if n := subjectMessages(t, ctx, js, events.StreamResults, events.ExecutionResultSubject("acct", ev.RunID)); n != 1 {
				t.Fatalf("%d execution results recorded, want exactly 1", n)
			}
		})
	}
}

// connectStore connects to a hookshot server's NATS once it is provisioned.
func connectStore(t *testing.T, ctx context.Context, url string) (*nats.Conn, jetstream.JetStream, *store.Store) {
	t.Helper()
	var (
		nc  *nats.Conn
		js  jetstream.JetStream
		st  *store.Store
		err error
	)
	waitUntil(t, 30*time.Second, fmt.Sprintf("hookshot provisioned at %s", url), func() bool {
		if nc == nil {
			if nc, err = nats.Connect(url); err != nil {
				nc = nil
				return false
			}
			js, _ = jetstream.New(nc)
		}
		st, err = store.Open(ctx, js)
		return err == nil
	})
	return nc, js, st
}
