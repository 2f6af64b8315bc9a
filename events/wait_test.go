package events_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/embedded"
)

// A controller waiting for a stage result keeps waiting through a NATS
// restart (no responders, a lost connection) and gets the result published
// after it.
func TestWaitStageResultOutlastsARestart(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	store := filepath.Join(t.TempDir(), "js")
	srv, err := embedded.Start(embedded.Config{Listen: addr, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	nc, err := nats.Connect("nats://"+addr, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := events.Provision(ctx, js, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}

	type answer struct {
		sr  *events.StageResult
		err error
	}
	got := make(chan answer, 1)
	go func() {
		sr, err := events.WaitStageResult(ctx, js, "acct", "run-1", "snapshot", "pre")
		got <- answer{sr, err}
	}()
	time.Sleep(200 * time.Millisecond)
	srv.Shutdown(context.Background())
	time.Sleep(time.Second) // the waiter meets a closed connection, then no server
	select {
	case a := <-got:
		t.Fatalf("the wait ended while NATS was down: %+v, %v", a.sr, a.err)
	default:
	}
	if srv, err = embedded.Start(embedded.Config{Listen: addr, StoreDir: store}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	sr := events.StageResult{RunID: "run-1", AccountID: "acct", AppID: "app", Action: "snapshot", Stage: "pre", HookState: events.HookStateSuccess}
	for {
		if _, err := events.Publish(ctx, js, events.StageResultSubject("acct", "run-1"), events.TypeStageResult, "sr-run-1", &sr); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("could not publish after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	a := <-got
	if a.err != nil || a.sr.RunID != "run-1" || a.sr.HookState != events.HookStateSuccess {
		t.Fatalf("after the restart: %+v, %v", a.sr, a.err)
	}
}
