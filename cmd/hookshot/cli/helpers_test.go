package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/internal/testkit"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// subjectMessages counts the messages of stream stored under subject.
func subjectMessages(t *testing.T, ctx context.Context, js jetstream.JetStream, stream, subject string) int {
	t.Helper()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Subjects[subject])
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, d, what, cond)
}

func stopWithin(t *testing.T, stop func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// boundAddrs waits until a daemon started with --addr-file path has
// written it, and returns its listeners' URLs by name (nats, api, ops).
func boundAddrs(t *testing.T, path string) map[string]string {
	t.Helper()
	var addrs map[string]string
	testkit.WaitFor(t, 20*time.Second, "the daemon's --addr-file", func() bool {
		b, err := os.ReadFile(path)
		return err == nil && json.Unmarshal(b, &addrs) == nil
	})
	return addrs
}

// jetStream connects to the NATS at url for the rest of the test.
func jetStream(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
