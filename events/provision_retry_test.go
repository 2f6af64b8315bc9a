package events_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
)

// fastRetry retries quickly and records every retry.
type fastRetry struct {
	mu      sync.Mutex
	reasons []error
}

func (f *fastRetry) config(ready func() error) events.RetryConfig {
	return events.RetryConfig{MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond, AttemptTimeout: 5 * time.Second, Ready: ready,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.reasons = append(f.reasons, err)
		}}
}

func (f *fastRetry) retries() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.reasons...)
}

// Provisioning waits while JetStream is not ready, telling why each time,
// and provisions once it is.
func TestProvisionUntilReadyWaits(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	var f fastRetry
	notYet := errors.New("no meta leader yet")
	calls := 0
	ready := func() error {
		if calls++; calls <= 3 {
			return notYet
		}
		return nil
	}
	ctx := natstest.Context(t, 30*time.Second)
	if err := events.ProvisionUntilReady(ctx, env.JS, events.ProvisionConfig{}, f.config(ready)); err != nil {
		t.Fatal(err)
	}
	if got := f.retries(); len(got) != 3 || !errors.Is(got[0], notYet) {
		t.Fatalf("retries: %v", got)
	}
	if _, err := env.JS.Stream(ctx, events.StreamLifecycle); err != nil {
		t.Fatal(err)
	}
}

// Provisioning stops waiting when its context ends, naming the last reason.
func TestProvisionUntilReadyStopsWithItsContext(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	var f fastRetry
	ctx, cancel := context.WithCancel(context.Background())
	notYet := errors.New("no meta leader yet")
	ready := func() error {
		if len(f.retries()) >= 2 {
			cancel()
		}
		return notYet
	}
	err := events.ProvisionUntilReady(ctx, env.JS, events.ProvisionConfig{}, f.config(ready))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, notYet) || errors.Is(err, events.ErrProvisionRefused) {
		t.Fatalf("got %v", err)
	}
}

// What JetStream refuses for good is not retried.
func TestProvisionUntilReadyRefusesForGood(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		given   func(t *testing.T, js jetstream.JetStream) // what is there before
		cfg     events.ProvisionConfig
		wantErr string
	}{
		{name: "replicas a single server cannot have", cfg: events.ProvisionConfig{Replicas: 3},
			wantErr: "replicas > 1 not supported"},
		{name: "invalid configuration", cfg: events.ProvisionConfig{Replicas: 2}, wantErr: "replicas must be 1 or 3"},
		{name: "another stream holds the subjects", given: func(t *testing.T, js jetstream.JetStream) {
			if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "OTHER", Subjects: []string{events.SubjectsLifecycle}}); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "subjects overlap"},
		{name: "a stream on other storage", given: func(t *testing.T, js jetstream.JetStream) {
			if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: events.StreamLifecycle,
				Subjects: []string{events.SubjectsLifecycle}, Storage: jetstream.MemoryStorage}); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "storage type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := natstest.Start(t)
			if tt.given != nil {
				tt.given(t, env.JS)
			}
			var f fastRetry
			err := events.ProvisionUntilReady(natstest.Context(t, 30*time.Second), env.JS, tt.cfg, f.config(nil))
			if !errors.Is(err, events.ErrProvisionRefused) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want %q refused", err, tt.wantErr)
			}
			if got := f.retries(); len(got) != 0 {
				t.Fatalf("retried: %v", got)
			}
		})
	}
}

// No JetStream answering (no responders, as while a cluster has no meta
// leader) is retried, not refused.
func TestProvisionUntilReadyRetriesNoResponders(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	nobody, err := jetstream.NewWithAPIPrefix(env.Conn, "$NOBODY.API")
	if err != nil {
		t.Fatal(err)
	}
	var f fastRetry
	ctx, cancel := context.WithCancel(context.Background())
	ready := func() error {
		if len(f.retries()) >= 3 {
			cancel()
		}
		return nil
	}
	err = events.ProvisionUntilReady(ctx, nobody, events.ProvisionConfig{}, f.config(ready))
	if !errors.Is(err, context.Canceled) || errors.Is(err, events.ErrProvisionRefused) {
		t.Fatalf("got %v", err)
	}
	if got := f.retries(); len(got) < 3 || !errors.Is(got[0], nats.ErrNoResponders) {
		t.Fatalf("retries: %v", got)
	}
}

// Any start-up step can be retried the way provisioning is: what may pass
// (a real JetStream "no responders", each attempt under its own deadline)
// is tried again, what cannot (a real JetStream 4xx) is returned at once.
func TestRetryUntilReadyRetriesWhatMayPass(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := natstest.Context(t, 30*time.Second)
	var f fastRetry
	rc := f.config(nil)
	rc.AttemptTimeout = 2 * time.Second
	nowhere, err := jetstream.NewWithDomain(env.Conn, "nowhere") // no server answers its API
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err = events.RetryUntilReady(ctx, rc, func(ctx context.Context) error {
		attempts++
		if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > rc.AttemptTimeout {
			t.Errorf("attempt %d: deadline %v, want one of its own within %s", attempts, deadline, rc.AttemptTimeout)
		}
		if attempts < 3 {
			// No stream answers this: a no-responders error, as while
			// JetStream has no leader.
			_, err := nowhere.AccountInfo(ctx)
			return err
		}
		return nil
	})
	if err != nil || attempts != 3 || len(f.retries()) != 2 {
		t.Fatalf("err %v after %d attempts, retries %v; want success at the third", err, attempts, f.retries())
	}

	var g fastRetry
	attempts = 0
	err = events.RetryUntilReady(ctx, g.config(nil), func(ctx context.Context) error {
		attempts++
		_, err := env.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "BAD", Subjects: []string{"x"}, Replicas: 3})
		return err
	})
	if err == nil || !events.Refused(err) || attempts != 1 || len(g.retries()) != 0 {
		t.Fatalf("err %v (refused %v) after %d attempts; want it returned at once", err, events.Refused(err), attempts)
	}
}
