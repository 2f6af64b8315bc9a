package events_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/hookshot-dev/hookshot/events"
)

// FuzzDecodeLifecycle feeds arbitrary bytes to the lifecycle decoder: it must
// never panic, every failure must be a DecodeError, and an accepted event must
// survive a re-encode unchanged and have subject-safe identity tokens.
func FuzzDecodeLifecycle(f *testing.F) {
	ev := validEvent()
	env, _ := events.NewEnvelope(events.TypeLifecycle, "id", ev)
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
