package api

import (
	"cmp"
	"maps"
	"net/http"
	"slices"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/matcher"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Media type of an explanation (Hookshot's; Astra has none).
const (
	explanationMediaType = "application/hookshot-explanation"
	explanationVersion   = "1.0"
)

// explanation answers "which hooks of this app would run for this action
// and stage, on which containers, and why not the others".
type explanation struct {
	Type    string        `json:"type"`
	Version string        `json:"version"`
	AppID   string        `json:"appID"`
	Action  events.Action `json:"action"`
	Stage   events.Stage  `json:"stage"`
	// Containers is the app's inventory, in events.SortContainers order: a
	// static app's registered one, an app 2.x's discovered for this request.
	Containers []events.Container `json:"containers"`
	// ClusterID and ClusterName are an app 2.x's cluster.
	ClusterID   string `json:"clusterID,omitempty"`
	ClusterName string `json:"clusterName,omitempty"`
	// Message says why nothing would run when an app 2.x's discovery found
	// no container.
	Message string `json:"message,omitempty"`
	// Hooks are every hook of the app, of every action and stage, by name.
	Hooks []matcher.Explanation `json:"hooks"`
}

// explainApp answers GET …/apps/{app_id}/explain?action=A&stage=S from the
// app's inventory (an app 2.x's discovered now; a cluster that does not
// answer is 503/41 naming it) and the matcher's index: what the engine would
// plan for that stage now (hooks written a moment ago may not be indexed
// yet).
func (s *Server) explainApp(w http.ResponseWriter, r *http.Request) *Problem {
	account, appID := r.PathValue("account_id"), r.PathValue("app_id")
	action, stage, p := explainParams(r)
	if p != nil {
		return p
	}
	app, err := s.store.Apps.Get(r.Context(), account, appID)
	if err != nil {
		return s.errProblem(r, err, true)
	}
	containers, p := s.inventory(r.Context(), &app.Value)
	if p != nil {
		return p
	}
	// The index is the engine's cache of the hooks bucket: let it catch up,
	// as the engine does before planning, so a hook written a moment ago is
	// explained too.
	if s.cfg.SyncIndex != nil {
		if err := s.cfg.SyncIndex(r.Context()); err != nil {
			return s.errProblem(r, err, true)
		}
	}
	hooks := s.cfg.Matcher.Explain(account, appID, action, stage, containers)
	if hooks == nil {
		hooks = []matcher.Explanation{}
	}
	x := explanation{
		Type: explanationMediaType, Version: explanationVersion, AppID: appID,
		Action: action, Stage: stage, Containers: containers, Hooks: hooks,
	}
	if app.Value.Discovered() {
		x.ClusterID = app.Value.ClusterID
		if info, ok := s.cfg.Clusters.Resolve(app.Value.ClusterID); ok {
			x.ClusterName = info.Name
		}
		if len(containers) == 0 {
			x.Message = "no container of cluster " + cmp.Or(x.ClusterName, x.ClusterID) +
				" matched the app's namespaces and label selectors: no hook would run"
		}
	}
	writeJSON(w, http.StatusOK, explanationMediaType, x)
	return nil
}

// explainParams reads the required action and stage: 400/6 naming any other
// parameter, 400/5 naming a missing or invalid one.
func explainParams(r *http.Request) (action events.Action, stage events.Stage, _ *Problem) {
	q := r.URL.Query()
	var unsupported []Invalid
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if name != "action" && name != "stage" {
			unsupported = append(unsupported, Invalid{name, "unsupported query parameter (supported: action, stage)"})
		}
	}
	if len(unsupported) > 0 {
		return "", "", problem(astra.QueryNotSupported).params(unsupported...)
	}
	var bad []Invalid
	one := func(name string) string {
		switch vs := q[name]; {
		case len(vs) == 0 || vs[0] == "":
			bad = append(bad, Invalid{name, "required"})
		case len(vs) > 1:
			bad = append(bad, Invalid{name, "must be given once"})
		default:
			return vs[0]
		}
		return ""
	}
	action, stage = events.Action(one("action")), events.Stage(one("stage"))
	actionOK := action == "" || slices.Contains([]events.Action{events.ActionSnapshot, events.ActionBackup, events.ActionRestore, events.ActionFailover}, action)
	stageOK := stage == "" || stage == events.StagePre || stage == events.StagePost
	if !actionOK {
		bad = append(bad, Invalid{"action", "must be snapshot, backup, restore or failover"})
	}
	if !stageOK {
		bad = append(bad, Invalid{"stage", "must be pre or post"})
	}
	if action != "" && stage != "" && actionOK && stageOK && !events.ValidActionStage(action, stage) {
		bad = append(bad, Invalid{"stage", string(action) + " has no " + string(stage) + " stage (only post)"})
	}
	if len(bad) > 0 {
		return "", "", problem(astra.InvalidQuery).params(bad...)
	}
	return action, stage, nil
}
