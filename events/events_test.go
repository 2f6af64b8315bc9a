package events_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
)

func validEvent() *events.LifecycleEvent {
	return &events.LifecycleEvent{
		RunID: "run-1", AccountID: "acct", AppID: "app",
		Action: events.ActionSnapshot, Stage: events.StagePre,
		Containers: []events.Container{{
			NamespaceName: "db", PodName: "mysql-0", ContainerName: "mysql", ContainerImage: "mysql:8",
			PodLabels: []events.Label{{Name: "app", Value: "mysql"}},
		}},
	}
}

func envelopeOf(t *testing.T, data any) []byte {
	t.Helper()
	env, err := events.NewEnvelope(events.TypeLifecycle, "id-1", data)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestDecodeLifecycle(t *testing.T) {
	t.Parallel()
	good := envelopeOf(t, validEvent())
	_, ev, err := events.DecodeLifecycle(good)
	if err != nil {
		t.Fatalf("valid event: %v", err)
	}
	if ev.RunID != "run-1" || len(ev.Containers) != 1 || ev.Containers[0].PodLabels[0].Value != "mysql" {
		t.Fatalf("decoded %+v", ev)
	}

	tests := []struct {
		name       string
		given      []byte
		wantFields []string
		wantRunID  string
	}{
		{name: "not json", given: []byte("{"), wantFields: []string{""}},
		{name: "wrong specversion", given: []byte(strings.Replace(string(good), `"specversion":"1.0"`, `"specversion":"0.3"`, 1)), wantFields: []string{"specversion"}, wantRunID: "run-1"},
		{name: "wrong type", given: []byte(strings.Replace(string(good), events.TypeLifecycle, "x", 1)), wantFields: []string{"type"}, wantRunID: "run-1"},
		{name: "no data", given: []byte(`{"specversion":"1.0","id":"a","source":"s","type":"` + events.TypeLifecycle + `"}`), wantFields: []string{"data"}},
		{name: "unknown field", given: envelopeOf(t, map[string]any{"runID": "r", "accountID": "a", "appID": "b", "action": "snapshot", "stage": "pre", "containres": []any{}}), wantFields: []string{"data.containres"}, wantRunID: "r"},
		{name: "wrong type of field", given: envelopeOf(t, map[string]any{"runID": 5}), wantFields: []string{"data.runID"}},
		{name: "bad stage for restore", given: envelopeOf(t, map[string]any{"runID": "r", "accountID": "a", "appID": "b", "action": "restore", "stage": "pre"}), wantFields: []string{"data.stage"}},
		{name: "bad action", given: envelopeOf(t, map[string]any{"runID": "r", "accountID": "a", "appID": "b", "action": "clone", "stage": "pre"}), wantFields: []string{"data.action"}},
		{name: "subject-breaking ids", given: envelopeOf(t, map[string]any{"runID": "r.*", "accountID": "a>", "appID": "", "action": "snapshot", "stage": "pre"}), wantFields: []string{"data.runID", "data.accountID", "data.appID"}},
		{name: "container fields and duplicates", given: envelopeOf(t, map[string]any{"runID": "r", "accountID": "a", "appID": "b", "action": "snapshot", "stage": "post",
			"containers": []any{
				map[string]any{"namespaceName": "n", "podName": "p", "containerName": "c", "containerImage": "i"},
				map[string]any{"namespaceName": "n", "podName": "p", "containerName": "c", "containerImage": "i"},
				map[string]any{"namespaceName": "", "podName": "p", "containerName": "c", "containerImage": "i"},
			}}), wantFields: []string{"data.containers[1]", "data.containers[2].namespaceName"}, wantRunID: "r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := events.DecodeLifecycle(tt.given)
			if !errors.Is(err, events.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			var de *events.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("not a DecodeError: %T", err)
			}
			var got []string
			for _, f := range de.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantFields, ",") {
				t.Errorf("fields = %q, want %q (%v)", got, tt.wantFields, err)
			}
			if de.RunID != tt.wantRunID {
				t.Errorf("salvaged runID = %q, want %q", de.RunID, tt.wantRunID)
			}
		})
	}
}

func TestStateDetailLimits(t *testing.T) {
	t.Parallel()
	d := events.NewStateDetail(events.DetailHookFailed, strings.Repeat("t", 100), strings.Repeat("é", 600), nil)
	if n := len([]rune(d.Title)); n != events.MaxStateDetailTitle {
		t.Errorf("title %d runes", n)
	}
	if n := len([]rune(d.Detail)); n != events.MaxStateDetailDetail {
		t.Errorf("detail %d runes", n)
	}
}

func TestProvisionIdempotentAndDedup(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := natstest.Context(t, 30*time.Second)
	for i := 0; i < 2; i++ {
		if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
			t.Fatalf("provision #%d: %v", i+1, err)
		}
	}
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{Replicas: 2}); err == nil {
		t.Fatal("replicas 2 accepted")
	}
	jobs, err := env.JS.Stream(ctx, events.StreamJobs)
	if err != nil {
		t.Fatal(err)
	}
	if jobs.CachedInfo().Config.Retention != jetstream.WorkQueuePolicy || jobs.CachedInfo().Config.Storage != jetstream.FileStorage {
		t.Fatalf("jobs stream config %+v", jobs.CachedInfo().Config)
	}
	for _, b := range []string{events.BucketHooks, events.BucketSources, events.BucketApps, events.BucketRuns} {
		if _, err := env.JS.KeyValue(ctx, b); err != nil {
			t.Errorf("bucket %s: %v", b, err)
		}
	}

	ev := validEvent()
	first, err := events.PublishLifecycle(ctx, env.JS, ev)
	if err != nil {
		t.Fatal(err)
	}
	again, err := events.PublishLifecycle(ctx, env.JS, ev)
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || !again.Duplicate || again.Sequence != first.Sequence {
		t.Fatalf("dedup: first %+v again %+v", first, again)
	}
	s, err := env.JS.Stream(ctx, events.StreamLifecycle)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("lifecycle stream holds %d messages, want 1", info.State.Msgs)
	}
	// Run IDs are unique only within an account: another account's run of
	// the same ID is not a duplicate.
	other := *ev
	other.AccountID = "acct-b"
	if ack, err := events.PublishLifecycle(ctx, env.JS, &other); err != nil || ack.Duplicate {
		t.Fatalf("same run of another account: ack %+v, err %v", ack, err)
	}
	msg, err := s.GetMsg(ctx, first.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "hookshot.lifecycle.acct.app.snapshot.pre" {
		t.Errorf("subject %q", msg.Subject)
	}
	_, got, err := events.DecodeLifecycle(msg.Data)
	if err != nil || got.RunID != ev.RunID {
		t.Fatalf("round trip: %v %+v", err, got)
	}

	bad := *ev
	bad.Stage = "middle"
	if _, err := events.PublishLifecycle(ctx, env.JS, &bad); !errors.Is(err, events.ErrMalformed) {
		t.Fatalf("invalid event published: %v", err)
	}
}
