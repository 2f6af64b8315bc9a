package events

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/internal/errkind"
)

// ProvisionConfig sizes the streams and buckets.
type ProvisionConfig struct {
	// Replicas of every stream and bucket: 1 for a single server, 3 for a
	// cluster. Defaults to 1.
	Replicas int
	// HistoryMaxAge is how long lifecycle events and results are kept for
	// replay and inspection. Defaults to 7 days.
	HistoryMaxAge time.Duration
	// DuplicateWindow is how long a repeated Nats-Msg-Id is dropped.
	// Defaults to 10 minutes.
	DuplicateWindow time.Duration
}

func (c ProvisionConfig) withDefaults() ProvisionConfig {
	c.Replicas = cmp.Or(c.Replicas, 1)
	c.HistoryMaxAge = cmp.Or(c.HistoryMaxAge, 7*24*time.Hour)
	c.DuplicateWindow = cmp.Or(c.DuplicateWindow, 10*time.Minute)
	return c
}

func (c ProvisionConfig) validate() error {
	if c.Replicas != 1 && c.Replicas != 3 {
		return fmt.Errorf("replicas must be 1 or 3, not %d", c.Replicas)
	}
	if c.DuplicateWindow > c.HistoryMaxAge {
		return fmt.Errorf("duplicate window %s longer than history %s", c.DuplicateWindow, c.HistoryMaxAge)
	}
	return nil
}

// StreamConfigs returns the configuration of Hookshot's three streams.
func (c ProvisionConfig) StreamConfigs() []jetstream.StreamConfig {
	c = c.withDefaults()
	return []jetstream.StreamConfig{
		{
			Name:        StreamLifecycle,
			Description: "Hookshot lifecycle events",
			Subjects:    []string{SubjectsLifecycle},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    c.Replicas,
			MaxAge:      c.HistoryMaxAge,
			Duplicates:  c.DuplicateWindow,
			MaxMsgSize:  MaxMessageBytes,
		},
		{
			Name:        StreamJobs,
			Description: "Hookshot jobs: one hook in one container",
			Subjects:    []string{SubjectsJobs},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    c.Replicas,
			Duplicates:  c.DuplicateWindow,
			MaxMsgSize:  MaxMessageBytes,
		},
		{
			Name:        StreamResults,
			Description: "Hookshot execution and stage results",
			Subjects:    []string{SubjectsResults},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    c.Replicas,
			MaxAge:      c.HistoryMaxAge,
			Duplicates:  c.DuplicateWindow,
			MaxMsgSize:  MaxMessageBytes,
		},
	}
}

// BucketConfigs returns the configuration of Hookshot's KV buckets.
func (c ProvisionConfig) BucketConfigs() []jetstream.KeyValueConfig {
	c = c.withDefaults()
	kv := func(name, desc string, history uint8) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{
			Bucket: name, Description: desc, History: history,
			Storage: jetstream.FileStorage, Replicas: c.Replicas,
		}
	}
	runs := kv(BucketRuns, "Hookshot run state", 1)
	runs.TTL = c.HistoryMaxAge
	return []jetstream.KeyValueConfig{
		kv(BucketHooks, "Hookshot execution hooks", 5),
		kv(BucketSources, "Hookshot hook sources", 5),
		kv(BucketApps, "Hookshot apps and their container inventory", 1),
		kv(BucketScripts, "Hookshot hook source contents by checksum", 1),
		kv(BucketOverrides, "Hookshot execution hook overrides", 1),
		kv(BucketActions, "Hookshot snapshots, backups, restores and failovers driven through the API", 1),
		kv(BucketNames, "Hookshot unique resource names", 1),
		kv(BucketTokens, "Hookshot API tokens (SHA-256)", 1),
		runs,
	}
}

// Provision creates or updates every stream and bucket. It is idempotent:
// every server and worker calls it at start.
func Provision(ctx context.Context, js jetstream.JetStream, cfg ProvisionConfig) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	for _, sc := range cfg.StreamConfigs() {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("provision stream %s: %w", sc.Name, err)
		}
	}
	for _, kc := range cfg.BucketConfigs() {
		if err := provisionBucket(ctx, js, kc); err != nil {
			return fmt.Errorf("provision bucket %s: %w", kc.Bucket, err)
		}
	}
	return nil
}

// provisionBucket creates or updates a bucket, and on a cluster makes its
// reads go to the stream's leader. nats.go creates buckets with direct
// gets allowed, which any replica answers, so on 3 replicas a read right
// after a write could miss it (a hook created right after its source was
// refused: "no hook source with this id"). Every check Hookshot makes
// before a write (a source exists, a name is free, a revision matches)
// needs to read its own writes.
func provisionBucket(ctx context.Context, js jetstream.JetStream, kc jetstream.KeyValueConfig) error {
	stream := "KV_" + kc.Bucket
	if kv, err := js.KeyValue(ctx, kc.Bucket); err == nil {
		st, err := kv.Status(ctx)
		if err != nil {
			return err
		}
		bs, ok := st.(*jetstream.KeyValueBucketStatus)
		if !ok {
			return fmt.Errorf("bucket %s: status of type %T", kc.Bucket, st)
		}
		if c := bs.Config(); c.History == max(kc.History, 1) && c.TTL == kc.TTL && c.Replicas == max(kc.Replicas, 1) &&
			c.Description == kc.Description && c.Storage == kc.Storage {
			// As configured: updating it again would allow direct gets
			// for a moment, and a client binding then would keep them.
			return leaderReads(ctx, js, stream, kc.Replicas)
		}
	} else if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return err
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, kc); err != nil {
		return err
	}
	return leaderReads(ctx, js, stream, kc.Replicas)
}

// leaderReads turns direct gets off on a replicated bucket's stream.
func leaderReads(ctx context.Context, js jetstream.JetStream, stream string, replicas int) error {
	if replicas <= 1 {
		return nil // one replica: direct gets read what was written
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	c := s.CachedInfo().Config
	if !c.AllowDirect {
		return nil
	}
	c.AllowDirect = false
	_, err = js.UpdateStream(ctx, c)
	return err
}

// ErrProvisionRefused is wrapped by a provisioning error that retrying
// cannot fix: the configuration is invalid, or JetStream refused it (a
// stream whose configuration conflicts, replicas a single server cannot
// have). (It belongs in errors.go; it sits here with its only user.)
var ErrProvisionRefused = errors.New("refused, not retried")

// refused reports whether err is an answer no retry can change (a definite
// kind: a JetStream 4xx such as a conflicting configuration, an invalid
// configuration, an account without JetStream, replicas a non-clustered
// server cannot have), or wraps ErrProvisionRefused. Everything else — no
// responders, timeouts, "JetStream system temporarily unavailable", no
// meta leader, no peers yet for placement — may pass.
func refused(err error) bool {
	return errors.Is(err, ErrProvisionRefused) || errkind.Of(err).Definite()
}

// RetryConfig paces ProvisionUntilReady and RetryUntilReady.
type RetryConfig struct {
	// MinWait is the wait after the first failed attempt; it doubles after
	// each one up to MaxWait, and every wait is jittered (half to all of
	// it). Defaults to 250ms.
	MinWait time.Duration
	// MaxWait caps the wait between attempts. Defaults to 10s.
	MaxWait time.Duration
	// AttemptTimeout bounds one attempt. Defaults to 15s.
	AttemptTimeout time.Duration
	// Ready, when set, runs before each attempt; an error is why not to try
	// yet (NATS not connected, say) and counts as a failed attempt.
	Ready func() error
	// OnRetry, when set, hears of every failed attempt that will be
	// retried: its number (from 1), why it failed and the wait before the
	// next.
	OnRetry func(attempt int, err error, wait time.Duration)
}

func (c RetryConfig) withDefaults() RetryConfig {
	c.MinWait = cmp.Or(c.MinWait, 250*time.Millisecond)
	c.MaxWait = max(cmp.Or(c.MaxWait, 10*time.Second), c.MinWait)
	c.AttemptTimeout = cmp.Or(c.AttemptTimeout, 15*time.Second)
	return c
}

// ProvisionUntilReady provisions as Provision does, retrying with a capped,
// jittered exponential backoff while the errors may pass (NATS or the
// JetStream meta leader not there yet), until it succeeds or ctx ends. An
// error that cannot pass stops it at once and wraps ErrProvisionRefused.
func ProvisionUntilReady(ctx context.Context, js jetstream.JetStream, cfg ProvisionConfig, rc RetryConfig) error {
	if err := cfg.withDefaults().validate(); err != nil {
		return fmt.Errorf("provision: %w: %w", err, ErrProvisionRefused)
	}
	err := RetryUntilReady(ctx, rc, func(ctx context.Context) error { return Provision(ctx, js, cfg) })
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("provision: stopped waiting for JetStream: %w", err)
	case !errors.Is(err, ErrProvisionRefused):
		return fmt.Errorf("%w (%w)", err, ErrProvisionRefused)
	}
	return err
}

// RetryUntilReady calls attempt, each call bounded by rc.AttemptTimeout and
// preceded by rc.Ready, until it succeeds or ctx ends, waiting a capped,
// jittered, doubling time after each failure that may pass. An error no
// retry can change (a JetStream 4xx such as a conflicting configuration,
// replicas the servers cannot have, or one wrapping ErrProvisionRefused)
// is returned at once; Refused tells it apart. When ctx ends, the error
// wraps ctx's and the last attempt's.
func RetryUntilReady(ctx context.Context, rc RetryConfig, attempt func(context.Context) error) error {
	rc = rc.withDefaults()
	wait := rc.MinWait
	for n := 1; ; n++ {
		err := attemptOnce(ctx, rc, attempt)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		}
		if refused(err) {
			return err
		}
		jittered := wait/2 + rand.N(wait/2+1)
		if rc.OnRetry != nil {
			rc.OnRetry(n, err, jittered)
		}
		t := time.NewTimer(jittered)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, rc.MaxWait)
	}
}

// Refused reports whether err is one RetryUntilReady does not retry.
func Refused(err error) bool { return refused(err) }

func attemptOnce(ctx context.Context, rc RetryConfig, attempt func(context.Context) error) error {
	if rc.Ready != nil {
		if err := rc.Ready(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, rc.AttemptTimeout)
	defer cancel()
	return attempt(ctx)
}

// NewMsg wraps data in a CloudEvents envelope of type typ, ready to publish
// on subject with msgID as both the CloudEvents id and the Nats-Msg-Id.
func NewMsg(subject, typ, msgID string, data any) (*nats.Msg, error) {
	env, err := NewEnvelope(typ, msgID, data)
	if err != nil {
		return nil, err
	}
	env.Subject = subject
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = raw
	msg.Header.Set("Content-Type", "application/cloudevents+json")
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	return msg, nil
}

// Publish publishes data as NewMsg does and waits for the stream's ack. A
// repeated publish within the duplicate window is dropped by JetStream.
func Publish(ctx context.Context, js jetstream.JetStream, subject, typ, msgID string, data any) (*jetstream.PubAck, error) {
	msg, err := NewMsg(subject, typ, msgID, data)
	if err != nil {
		return nil, err
	}
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("publish %s on %s: %w", typ, subject, err)
	}
	return ack, nil
}

// PublishAckTimeout bounds the wait for a publish's ack when the caller's
// context has no deadline, as jetstream's default API timeout does for a
// synchronous publish. An ack lost with a stream leader that died never
// comes: without a bound, the publisher waits for ever.
const PublishAckTimeout = 5 * time.Second

// NewJetStream is the JetStream context Hookshot's processes use: its
// asynchronous publishes give up on an ack after PublishAckTimeout (with
// jetstream.ErrAsyncPublishTimeout), where by default they wait for ever
// and each lost ack keeps a pending slot until the process ends.
func NewJetStream(nc *nats.Conn) (jetstream.JetStream, error) {
	return jetstream.New(nc, jetstream.WithPublishAsyncTimeout(PublishAckTimeout))
}

// PublishAll publishes msgs without waiting for each ack in turn, then waits
// for all of them, at most until ctx ends or, when ctx has no deadline, for
// PublishAckTimeout. It fails if any publish failed or was not acknowledged
// in time (an Unavailable error: try again); publishing again is safe, since
// every message carries its de-duplication ID.
func PublishAll(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, PublishAckTimeout)
		defer cancel()
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("publish on %s: %w", m.Subject, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish on %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return fmt.Errorf("publish: %w", ctx.Err())
		}
	}
	return nil
}

// PublishLifecycle validates ev and publishes it with its de-duplication ID.
func PublishLifecycle(ctx context.Context, js jetstream.JetStream, ev *LifecycleEvent) (*jetstream.PubAck, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return Publish(ctx, js, LifecycleSubject(ev.AccountID, ev.AppID, ev.Action, ev.Stage),
		TypeLifecycle, LifecycleMsgID(ev.AccountID, ev.RunID, ev.Action, ev.Stage), ev)
}
