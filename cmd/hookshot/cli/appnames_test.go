package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/cli"
	"github.com/hookshot-dev/hookshot/events"
)

// TestEventsPublishTakesAnAppName: `events publish --app` takes a
// registered app's name as well as its id, and publishes nothing for an
// app that is not registered unless the event carries its containers (by
// the app's id): a name that matches nothing used to be published as an
// app id, and the stage "succeeded" with no execution (issue 12).
func TestEventsPublishTakesAnAppName(t *testing.T) {
	natsURL, apiURL := startServerWithAPI(t)
	api := hsAPI{t, apiURL}
	ctx := context.Background()
	app := api.app("payroll", dbInventory)
	src := api.source("noop", "#!/bin/sh\necho hi\n")
	api.hook(app, src, map[string]any{"name": "freeze"})
	inv := filepath.Join(t.TempDir(), "inv.json")
	if err := os.WriteFile(inv, []byte(dbInventory), 0o600); err != nil {
		t.Fatal(err)
	}
	publish := func(runID, appRef string, extra ...string) (int, string, string) {
		t.Helper()
		return run(t, ctx, append([]string{"events", "publish", "--nats-url", natsURL, "--app", appRef, "--action", "snapshot",
			"--stage", "pre", "--run-id", runID, "--wait", "--wait-timeout", "60s"}, extra...)...)
	}

	// By name: the registered app's event, its hook run on its containers.
	code, out, errOut := publish("by-name", "payroll")
	var sr events.StageResult
	if code != 0 || json.Unmarshal([]byte(out), &sr) != nil || sr.AppID != app || sr.HookState != events.HookStateSuccess || len(sr.Executions) == 0 {
		t.Fatalf("publish --app payroll: exit %d\n%s\n%s", code, out, errOut)
	}

	// Not registered, no containers: refused, nothing published.
	const unregistered = "0b3a6f57-8a3c-4bb4-9f0e-5d1f1f8f2c11"
	for _, c := range []struct {
		run, ref string
		extra    []string
		want     string
	}{
		{"no-such-name", "payrol", nil, `app "payrol" not found`},
		{"no-such-id", unregistered, nil, `app "` + unregistered + `" not found`},
		// With containers an unregistered app is given by its id: a name
		// that matches nothing is a mistake, not an id.
		{"no-such-name-inv", "payrol", []string{"--containers", inv}, `app "payrol" not found`},
	} {
		code, out, errOut := publish(c.run, c.ref, c.extra...)
		if code != cli.ExitError || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("publish --app %s %v: exit %d, want %d with %q\nstdout %q\nstderr %q", c.ref, c.extra, code, cli.ExitError, c.want, out, errOut)
		}
	}
	// An unregistered app's id with the containers the event carries is
	// the event contract's own case: published.
	if code, out, errOut := publish("unregistered-inv", unregistered, "--containers", inv); code != 0 || !strings.Contains(out, `"hookState": "success"`) {
		t.Fatalf("publish of an unregistered app with containers: exit %d\n%s\n%s", code, out, errOut)
	}

	// What reached the stream: the app's event and the unregistered one's.
	js := jetStream(t, natsURL)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := js.Stream(sctx, events.StreamLifecycle)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(sctx, jetstream.WithSubjectFilter(events.SubjectsLifecycle))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		events.LifecycleSubject("default", app, "snapshot", "pre"):          1,
		events.LifecycleSubject("default", unregistered, "snapshot", "pre"): 1,
	}
	if len(info.State.Subjects) != len(want) {
		t.Errorf("lifecycle subjects %v, want %v", info.State.Subjects, want)
	}
	for s, n := range want {
		if info.State.Subjects[s] != n {
			t.Errorf("lifecycle subjects %v, want %v", info.State.Subjects, want)
		}
	}
}
