package api

import (
	"net/http"

	"github.com/hookshot-dev/hookshot/engine/store"
	"github.com/hookshot-dev/hookshot/events"
)

// Apps are Hookshot's own, smaller take on Astra's app resource: what hooks
// need, a name and the container inventory they are matched against.
const (
	appMediaType = "application/astra-app"
	appListType  = "application/astra-apps"
)

var appVersions = []string{"1.0"}

// appBody is an app POST or PUT body.
type appBody struct {
	Type       string             `json:"type"`
	Version    string             `json:"version"`
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Containers []events.Container `json:"containers"`
	Metadata   *metadataBody      `json:"metadata"`
}

func (b *appBody) check(create bool) *Problem { return schemaProblem(b.invalid(create)) }

func (b *appBody) invalid(create bool) []Invalid {
	var bad []Invalid
	if b.Type != appMediaType {
		bad = append(bad, Invalid{"type", `must be "` + appMediaType + `"`})
	}
	if b.Version != "1.0" {
		bad = append(bad, Invalid{"version", `must be "1.0"`})
	}
	if create && b.ID != "" {
		bad = append(bad, Invalid{"id", "unknown field: the server assigns the id"})
	}
	return bad
}

func appView(a *store.App, version string) map[string]any {
	return map[string]any{
		"type": appMediaType, "version": version, "id": a.ID, "name": a.Name,
		"containers": a.Containers, "metadata": toMap(a.Metadata),
	}
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) *Problem {
	if _, p := resourceVersion(r, "", appVersions); p != nil {
		return p
	}
	// Apps 2.x are listed at k8s/v2/apps.
	return s.listAppsOf(w, r, false, "1.0", func(a *store.App) map[string]any { return appView(a, "1.0") })
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) *Problem {
	e, p := s.appOfKind(r, false)
	if p != nil {
		return p
	}
	if _, p := resourceVersion(r, "", appVersions); p != nil {
		return p
	}
	fetched(w, e.Revision, appMediaType, appView(&e.Value, "1.0"))
	return nil
}

func (s *Server) createApp(w http.ResponseWriter, r *http.Request) *Problem {
	raw, p := readBody(w, r, s.cfg.MaxBodyBytes)
	if p != nil {
		return p
	}
	var body appBody
	if p := decodeStrict(raw, &body, func() []Invalid { return body.invalid(true) }); p != nil {
		return p
	}
	if p := body.check(true); p != nil {
		return p
	}
	e, err := s.store.CreateApp(r.Context(), r.PathValue("account_id"),
		store.App{Name: body.Name, Containers: body.Containers, Metadata: store.Metadata{Labels: body.Metadata.labels()}}, principalOf(r).ID)
	if err != nil {
		return s.errProblem(r, err, false)
	}
	created(w, r, e.ID, e.Revision, appMediaType, appView(&e.Value, body.Version))
	return nil
}

func (s *Server) updateApp(w http.ResponseWriter, r *http.Request) *Problem {
	account, id := r.PathValue("account_id"), r.PathValue("app_id")
	old, p := s.appOfKind(r, false)
	if p != nil {
		return p
	}
	raw, rev, p := s.readUpdate(w, r, old.Revision)
	if p != nil {
		return p
	}
	body := appBody{ID: id, Name: old.Value.Name, Containers: old.Value.Containers}
	if p := decodeStrict(raw, &body, func() []Invalid { return body.invalid(false) }); p != nil {
		return p
	}
	if p := body.check(false); p != nil {
		return p
	}
	if body.ID != id {
		return problem(9).fields(Invalid{"id", "must be the id of the request path, " + id})
	}
	e, err := s.store.UpdateApp(r.Context(), account,
		store.App{ID: id, Name: body.Name, Containers: body.Containers, Metadata: store.Metadata{Labels: body.Metadata.labels()}}, rev, principalOf(r).ID)
	if err != nil {
		return s.errProblem(r, err, true)
	}
	updated(w, e.Revision)
	return nil
}

func (s *Server) deleteApp(w http.ResponseWriter, r *http.Request) *Problem {
	return s.removeApp(w, r, false)
}
