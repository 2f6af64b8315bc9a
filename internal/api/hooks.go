package api

import (
	"net/http"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

var hookVersions = []string{"1.3", "1.2", "1.1", "1.0"}

const hookListType = "application/astra-executionHooks"

// hookBody is an executionHook POST or PUT body.
type hookBody struct {
	matcher.ExecutionHook
	Metadata *metadataBody `json:"metadata"`
}

// hookView is an executionHook as the API returns it.
func (s *Server) hookView(r *http.Request, account string, rec *store.HookRecord, version string, inventories map[string][]events.Container) map[string]any {
	m := toMap(rec.Hook)
	m["version"] = version
	m["metadata"] = toMap(rec.Metadata)
	inv, ok := inventories[rec.Hook.AppID]
	if !ok {
		if app, err := s.store.Apps.Get(r.Context(), account, rec.Hook.AppID); err == nil {
			inv = s.hookInventory(r, &app.Value)
		}
		inventories[rec.Hook.AppID] = inv
	}
	// One evaluation of the criteria gives both: the images are those of
	// the matching containers.
	containers, err := s.cfg.Matcher.MatchingContainers(&rec.Hook, inv)
	if err != nil {
		containers = []events.Container{}
	}
	m["matchingContainers"] = containers
	m["matchingImages"] = matcher.Images(containers)
	return m
}

// appScope is the app_id of an app-scoped path ("" on core paths). The app
// must exist there: when it does not, the path's resource (item) or
// collection is not found.
func (s *Server) appScope(r *http.Request, item bool) (string, *Problem) {
	app := r.PathValue("app_id")
	if app == "" {
		return "", nil
	}
	if _, err := s.store.Apps.Get(r.Context(), r.PathValue("account_id"), app); err != nil {
		return "", s.errProblem(r, err, item)
	}
	return app, nil
}

func (s *Server) listHooks(w http.ResponseWriter, r *http.Request) *Problem {
	account := r.PathValue("account_id")
	app, p := s.appScope(r, false)
	if p != nil {
		return p
	}
	version, p := resourceVersion(r, "", hookVersions)
	if p != nil {
		return p
	}
	entries, err := s.store.Hooks.List(r.Context(), account)
	if err != nil {
		return s.errProblem(r, err, false)
	}
	inv := map[string][]events.Container{}
	items := make([]map[string]any, 0, len(entries))
	for _, e := range sortedByID(entries) {
		if app != "" && e.Value.Hook.AppID != app {
			continue
		}
		items = append(items, s.hookView(r, account, &e.Value, version, inv))
	}
	return s.writeList(w, r, hookListType, version, items)
}

func (s *Server) getHook(w http.ResponseWriter, r *http.Request) *Problem {
	account := r.PathValue("account_id")
	app, p := s.appScope(r, true)
	if p != nil {
		return p
	}
	e, err := s.store.Hooks.Get(r.Context(), account, r.PathValue("hook_id"))
	if err != nil {
		return s.errProblem(r, err, true)
	}
	if app != "" && e.Value.Hook.AppID != app {
		return problem(astra.ResourceNotFound)
	}
	version, p := resourceVersion(r, "", hookVersions)
	if p != nil {
		return p
	}
	fetched(w, e.Revision, matcher.MediaType, s.hookView(r, account, &e.Value, version, map[string][]events.Container{}))
	return nil
}

func (s *Server) createHook(w http.ResponseWriter, r *http.Request) *Problem {
	account := r.PathValue("account_id")
	app, p := s.appScope(r, false)
	if p != nil {
		return p
	}
	raw, p := readBody(w, r, s.cfg.MaxBodyBytes)
	if p != nil {
		return p
	}
	var body hookBody
	if p := s.decode(r, raw, &body, func() []Invalid { return allFields(body.ExecutionHook.Validate()) }); p != nil {
		return p
	}
	if app != "" && body.AppID != "" && body.AppID != app {
		return problem(astra.InvalidField).fields(Invalid{"appID", "must be the app of the request path, " + app})
	}
	if app != "" && body.AppID == "" {
		body.AppID = app
	}
	if body.HookType == matcher.HookTypeNetApp && principalOf(r).Role < RoleAdmin {
		return problem(astra.NetAppHookRO)
	}
	e, err := s.store.CreateHook(r.Context(), account, store.HookRecord{Hook: body.ExecutionHook, Metadata: store.Metadata{Labels: body.Metadata.labels()}}, principalOf(r).ID)
	if err != nil {
		return s.errProblem(r, err, false)
	}
	created(w, r, e.ID, e.Revision, matcher.MediaType, s.hookView(r, account, &e.Value, body.Version, map[string][]events.Container{}))
	return nil
}

func (s *Server) updateHook(w http.ResponseWriter, r *http.Request) *Problem {
	account := r.PathValue("account_id")
	app, p := s.appScope(r, true)
	if p != nil {
		return p
	}
	id := r.PathValue("hook_id")
	old, err := s.store.Hooks.Get(r.Context(), account, id)
	if err != nil {
		return s.errProblem(r, err, true)
	}
	if app != "" && old.Value.Hook.AppID != app {
		return problem(astra.ResourceNotFound)
	}
	raw, rev, p := s.readUpdate(w, r, old.Revision)
	if p != nil {
		return p
	}
	// A PUT carries type and version and whatever it changes: absent fields
	// keep their stored values.
	body := hookBody{ExecutionHook: old.Value.Hook}
	body.Type, body.Version = "", ""
	if p := s.decode(r, raw, &body, func() []Invalid { return allFields(body.ExecutionHook.Validate()) }); p != nil {
		return p
	}
	if body.ID != id {
		return problem(astra.InvalidField).fields(Invalid{"id", "must be the id of the request path, " + id})
	}
	if app != "" && body.AppID != app {
		return problem(astra.InvalidField).fields(Invalid{"appID", "must be the app of the request path, " + app})
	}
	if (old.Value.Hook.HookType == matcher.HookTypeNetApp || body.HookType == matcher.HookTypeNetApp) && principalOf(r).Role < RoleAdmin {
		return problem(astra.NetAppHookRO)
	}
	e, err := s.store.UpdateHook(r.Context(), account, store.HookRecord{Hook: body.ExecutionHook, Metadata: store.Metadata{Labels: body.Metadata.labels()}}, rev, principalOf(r).ID)
	if err != nil {
		return s.errProblem(r, err, true)
	}
	updated(w, e.Revision)
	return nil
}

func (s *Server) deleteHook(w http.ResponseWriter, r *http.Request) *Problem {
	account := r.PathValue("account_id")
	app, p := s.appScope(r, true)
	if p != nil {
		return p
	}
	old, err := s.store.Hooks.Get(r.Context(), account, r.PathValue("hook_id"))
	if err != nil {
		return s.errProblem(r, err, true)
	}
	if app != "" && old.Value.Hook.AppID != app {
		return problem(astra.ResourceNotFound)
	}
	rev, p := ifMatch(r, old.Revision)
	if p != nil {
		return p
	}
	if old.Value.Hook.HookType == matcher.HookTypeNetApp && principalOf(r).Role < RoleAdmin {
		return problem(astra.NetAppHookRO)
	}
	if err := s.store.DeleteHook(r.Context(), account, old.ID, rev); err != nil {
		return s.errProblem(r, err, true)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
