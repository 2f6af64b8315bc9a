package events_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hookshot-dev/hookshot/events"
)

// FuzzDecodeLifecycle feeds arbitrary bytes to the lifecycle decoder: it must
// never panic, every failure must be a DecodeError, and an accepted event must
// survive a re-encode unchanged and have subject-safe identity tokens.
//
// A pass that ends in "fuzzing process terminated by unexpected signal; no
// crash will be recorded" without writing testdata/fuzz was not failed by
// the decoder: its worker process was killed from outside (SIGKILL, SIGTERM:
// the OOM killer, or a kill/pkill that matched "-test.fuzzworker"). A panic,
// a t.Fatal, a hang of more than 10 s or a Go out-of-memory crash on a
// generated input always leaves it in testdata/fuzz/FuzzDecodeLifecycle; on
// a seed, the failure names the seed (seed#N).
//
//	go test ./events -run '^$' -fuzz '^FuzzDecodeLifecycle$' -fuzztime 30s
func FuzzDecodeLifecycle(f *testing.F) {
	ev := validEvent()
	env, _ := events.NewEnvelope(events.TypeLifecycle, "id", ev)
	// A fixed time keeps seed#0 the same bytes from run to run, so a
	// failure reported on it can be replayed.
	env.Time = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	seed, _ := json.Marshal(env)
	f.Add(seed)
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"io.hookshot.lifecycle.v1","data":{"runID":"r","accountID":"a","appID":"b","action":"restore","stage":"post"}}`))
	f.Add([]byte(`{"specversion":"1.0","data":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, got, err := events.DecodeLifecycle(data)
		if err != nil {
			var de *events.DecodeError
			if !errors.As(err, &de) || len(de.Fields) == 0 {
				t.Fatalf("error without fields: %v", err)
			}
			return
		}
		for _, tok := range []string{got.RunID, got.AccountID, got.AppID} {
			if !events.ValidToken(tok) {
				t.Fatalf("accepted bad token %q", tok)
			}
		}
		if !events.ValidActionStage(got.Action, got.Stage) {
			t.Fatalf("accepted %s/%s", got.Action, got.Stage)
		}
		env2, err := events.NewEnvelope(events.TypeLifecycle, "id", got)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(env2)
		if _, again, err := events.DecodeLifecycle(raw); err != nil || again.StageKey() != got.StageKey() {
			t.Fatalf("re-encode: %v", err)
		}
	})
}
