package scenario

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// FromStore reads an account's current definitions — apps, sources, hooks
// and overrides — from a Hookshot's store, keeping their identifiers, so
// that events recorded on that Hookshot can be replayed through what it runs
// now without touching it. A hook runs its default version: when that
// version pins older source content than the source holds today, the content
// it pins is used (as source "<name>@<version>").
func FromStore(ctx context.Context, st *store.Store, account string) (*Scenario, error) {
	sc := &Scenario{Name: "current definitions of account " + account}
	apps, err := st.Apps.List(ctx, account)
	if err != nil {
		return nil, err
	}
	appNames := map[string]string{}
	for _, a := range apps {
		app := App{ID: a.ID, Name: a.Value.Name}
		for _, c := range a.Value.Containers {
			ct := Container{Namespace: c.NamespaceName, Pod: c.PodName, Container: c.ContainerName, Image: c.ContainerImage}
			if len(c.PodLabels) > 0 {
				ct.Labels = map[string]string{}
				for _, l := range c.PodLabels {
					ct.Labels[l.Name] = l.Value
				}
			}
			app.Containers = append(app.Containers, ct)
		}
		appNames[a.ID] = app.Name
		sc.Apps = append(sc.Apps, app)
	}
	sources, err := st.Sources.List(ctx, account)
	if err != nil {
		return nil, err
	}
	sourceNames := map[string]string{}
	checksums := map[string]string{}
	for _, s := range sources {
		script, err := s.Value.Source.Script()
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", s.ID, err)
		}
		sourceNames[s.ID] = s.Value.Source.Name
		checksums[s.ID] = s.Value.Source.SourceMD5Checksum
		sc.Sources = append(sc.Sources, Source{ID: s.ID, Name: s.Value.Source.Name, Script: string(script)})
	}
	hooks, err := st.Hooks.List(ctx, account)
	if err != nil {
		return nil, err
	}
	hookNames := map[string]string{}
	for _, h := range hooks {
		eh := h.Value.Hook
		appName, ok := appNames[eh.AppID]
		if !ok { // a hook of an app that is not registered: events carry its inventory
			appName = eh.AppID
			appNames[eh.AppID] = appName
			sc.Apps = append(sc.Apps, App{ID: eh.AppID, Name: appName})
		}
		source := sourceNames[eh.HookSourceID]
		if v := h.Value.Default(); v != nil && v.SourceMD5Checksum != checksums[eh.HookSourceID] {
			pinned, err := st.Script(ctx, account, v.SourceMD5Checksum)
			if err != nil {
				return nil, fmt.Errorf("hook %s version %s: %w", eh.Name, v.Version, err)
			}
			script, err := pinned.Script()
			if err != nil {
				return nil, fmt.Errorf("hook %s version %s: %w", eh.Name, v.Version, err)
			}
			source = source + "@" + v.Version + "/" + eh.Name
			sc.Sources = append(sc.Sources, Source{Name: source, Script: string(script)})
		}
		enabled := eh.IsEnabled()
		hk := Hook{ID: h.ID, Name: eh.Name, App: appName, Action: eh.Action, Stage: eh.Stage, Source: source,
			Arguments: eh.Arguments, FailureMode: eh.FailureMode, TimeoutSeconds: eh.TimeoutSeconds, Enabled: &enabled,
			HookType: eh.HookType, Description: eh.Description}
		for _, c := range eh.MatchingCriteria {
			hk.Criteria = append(hk.Criteria, Criterion{Type: c.Type, Value: c.Value})
		}
		hookNames[h.ID] = eh.Name
		sc.Hooks = append(sc.Hooks, hk)
	}
	overrides, err := st.Overrides.List(ctx, account)
	if err != nil {
		return nil, err
	}
	for _, o := range overrides {
		sc.Overrides = append(sc.Overrides, Override{App: appNames[o.Value.AppID], Hook: hookNames[o.Value.ExecutionHookID], Enabled: o.Value.Enabled == "true"})
	}
	return sc, nil
}

// Slice selects lifecycle events of an account from a Hookshot's lifecycle
// stream: one run, events since a time, or a range of stream sequence
// numbers (zero values select everything).
type Slice struct {
	RunID          string
	Since          time.Time
	FromSeq, ToSeq uint64
}

// RecordStreams writes, in the recording format (see Entry), the lifecycle
// events of account that sl selects and the stage results of their runs, as
// a Hookshot's streams hold them. It returns how many lifecycle events it
// wrote.
func RecordStreams(ctx context.Context, js jetstream.JetStream, account string, sl Slice, w io.Writer) (int, error) {
	if !events.ValidToken(account) {
		return 0, fmt.Errorf("account %q: not a valid account", account)
	}
	lifecycle, err := readSubject(ctx, js, events.StreamLifecycle, events.SubjectLifecycle+"."+account+".>")
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	var entries []Entry
	runs := map[string]bool{}
	n := 0
	for _, m := range lifecycle {
		if (sl.FromSeq > 0 && m.seq < sl.FromSeq) || (sl.ToSeq > 0 && m.seq > sl.ToSeq) || (!sl.Since.IsZero() && m.time.Before(sl.Since)) {
			continue
		}
		_, ev, err := events.DecodeLifecycle(m.data)
		if err != nil || (sl.RunID != "" && ev.RunID != sl.RunID) {
			continue
		}
		runs[ev.RunID] = true
		n++
		entries = append(entries, Entry{Kind: KindLifecycle, Seq: m.seq, Data: m.data})
	}
	runIDs := make([]string, 0, len(runs))
	for r := range runs {
		runIDs = append(runIDs, r)
	}
	sort.Strings(runIDs)
	for _, r := range runIDs {
		results, err := readSubject(ctx, js, events.StreamResults, events.StageResultSubject(account, r))
		if err != nil {
			return 0, err
		}
		for _, m := range results {
			entries = append(entries, Entry{Kind: KindStage, Seq: m.seq, Data: m.data})
		}
	}
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return 0, err
		}
		_, _ = bw.Write(line)
		_ = bw.WriteByte('\n')
	}
	return n, bw.Flush()
}
