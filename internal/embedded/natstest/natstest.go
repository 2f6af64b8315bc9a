// Package natstest starts a real embedded NATS JetStream server for a test
// and tears it down with the test. It is the only way tests reach NATS: there
// is no mock of JetStream.
package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/embedded"
)

// Env is a running server with one client connection.
type Env struct {
	Server *embedded.Server
	Conn   *nats.Conn
	JS     jetstream.JetStream
	Dir    string
}

// Start runs a server on a free loopback port with storage in a fresh temp
// dir; everything is stopped when the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartIn(t, t.TempDir())
}

// StartIn runs a server with its storage in dir, so a test can stop it and
// start another on the same data.
func StartIn(t testing.TB, dir string) *Env {
	t.Helper()
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:-1", StoreDir: dir})
	if err != nil {
		t.Fatalf("start embedded nats: %v", err)
	}
	nc, err := srv.Connect(t.Name())
	if err != nil {
		srv.Shutdown(context.Background())
		t.Fatalf("connect: %v", err)
	}
	js, err := events.NewJetStream(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	env := &Env{Server: srv, Conn: nc, JS: js, Dir: dir}
	t.Cleanup(env.Stop)
	return env
}

// Stop closes the connection and shuts the server down. Safe to call twice.
func (e *Env) Stop() {
	if e.Conn != nil {
		e.Conn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.Server.Shutdown(ctx)
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
