package client_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/client"
	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
)

// The tests and examples talk to a real Hookshot server (embedded NATS,
// engine, workers, API), run in this process as `hookshot server` runs.
var (
	serverURL string
	token     = "client-test-admin-token-0123456789"
)

func TestMain(m *testing.M) {
	os.Exit(runWithServer(m))
}

func runWithServer(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hookshot-client-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	natsAddr, apiAddr := freeAddr(), freeAddr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"server", "--data-dir", dir, "--nats-listen", natsAddr, "--api-listen", apiAddr,
			"--log-level", "error", "--stop-grace", "2s", "--token", "default:admin:" + token}, io.Discard, os.Stderr)
	}()
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			fmt.Fprintln(os.Stderr, "server did not stop")
			return 1
		}
	}
	serverURL = "http://" + apiAddr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(serverURL + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "server not ready")
			stop()
			return 1
		}
	}
	code := m.Run()
	if c := stop(); c != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "server exited %d\n", c)
		code = 1
	}
	return code
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func newClient(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Server: serverURL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
