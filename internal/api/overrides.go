package api

import (
	"net/http"

	"github.com/hookshot-dev/hookshot/internal/store"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

const (
	overrideMediaType = "application/astra-executionHookOverride"
	overrideListType  = "application/astra-executionHookOverrides"
)

var overrideVersions = []string{"1.0"}

// overrideBody is an executionHookOverride POST or PUT body. The document
// (executionHookOverride_1.0_post_request_body, …_put_request_body) checks
// every field: type, version, enabled, executionHookID, and that id and
// appID are not sent on create.
type overrideBody struct {
	Type            string `json:"type"`
	Version         string `json:"version"`
	ID              string `json:"id"`
	ExecutionHookID string `json:"executionHookID"`
	Enabled         string `json:"enabled"`
	// AppID is read only: accepted so a GET body can be sent back, and must
	// be the app of the path.
	AppID    string        `json:"appID"`
	Metadata *metadataBody `json:"metadata"`
}

func overrideView(o *store.Override) map[string]any {
	m := toMap(o)
	m["type"], m["version"] = overrideMediaType, "1.0"
	return m
}

// override reads an override of the path's app.
func (s *Server) override(r *http.Request) (*store.Entry[store.Override], *Problem) {
	e, err := s.store.Overrides.Get(r.Context(), r.PathValue("account_id"), r.PathValue("override_id"))
	if err != nil {
		return nil, s.errProblem(r, err, true)
	}
	if e.Value.AppID != r.PathValue("app_id") {
		return nil, problem(astra.ResourceNotFound)
	}
	return e, nil
}

func (s *Server) listOverrides(w http.ResponseWriter, r *http.Request) *Problem {
	app, p := s.appScope(r, false)
	if p != nil {
		return p
	}
	if _, p := resourceVersion(r, "", overrideVersions); p != nil {
		return p
	}
	entries, err := s.store.Overrides.List(r.Context(), r.PathValue("account_id"))
	if err != nil {
		return s.errProblem(r, err, false)
	}
	items := make([]map[string]any, 0, len(entries))
	for _, e := range sortedByID(entries) {
		if e.Value.AppID == app {
			items = append(items, overrideView(&e.Value))
		}
	}
	return s.writeList(w, r, overrideListType, "1.0", items)
}

func (s *Server) getOverride(w http.ResponseWriter, r *http.Request) *Problem {
	e, p := s.override(r)
	if p != nil {
		return p
	}
	if _, p := resourceVersion(r, "", overrideVersions); p != nil {
		return p
	}
	fetched(w, e.Revision, overrideMediaType, overrideView(&e.Value))
	return nil
}

func (s *Server) createOverride(w http.ResponseWriter, r *http.Request) *Problem {
	app, p := s.appScope(r, false)
	if p != nil {
		return p
	}
	raw, p := readBody(w, r, s.cfg.MaxBodyBytes)
	if p != nil {
		return p
	}
	var body overrideBody
	if p := s.decode(r, raw, &body, nil); p != nil {
		return p
	}
	e, err := s.store.CreateOverride(r.Context(), r.PathValue("account_id"), store.Override{
		AppID: app, ExecutionHookID: body.ExecutionHookID, Enabled: body.Enabled, Metadata: store.Metadata{Labels: body.Metadata.labels()},
	}, principalOf(r).ID)
	if err != nil {
		if p := storeProblem(err, false); p != nil && p.number == 10 {
			return problem(astra.Conflict).fields(Invalid{"executionHookID", "the app already has an override for this hook"})
		}
		return s.errProblem(r, err, false)
	}
	created(w, r, e.ID, e.Revision, overrideMediaType, overrideView(&e.Value))
	return nil
}

func (s *Server) updateOverride(w http.ResponseWriter, r *http.Request) *Problem {
	old, p := s.override(r)
	if p != nil {
		return p
	}
	raw, rev, p := s.readUpdate(w, r, old.Revision)
	if p != nil {
		return p
	}
	body := overrideBody{ID: old.ID, ExecutionHookID: old.Value.ExecutionHookID, Enabled: old.Value.Enabled}
	if p := s.decode(r, raw, &body, nil); p != nil {
		return p
	}
	if body.ID != old.ID {
		return problem(astra.InvalidField).fields(Invalid{"id", "must be the id of the request path, " + old.ID})
	}
	if body.AppID != "" && body.AppID != old.Value.AppID {
		return problem(astra.InvalidField).fields(Invalid{"appID", "must be the app of the request path, " + old.Value.AppID})
	}
	e, err := s.store.UpdateOverride(r.Context(), r.PathValue("account_id"), store.Override{
		ID: old.ID, AppID: old.Value.AppID, ExecutionHookID: body.ExecutionHookID, Enabled: body.Enabled, Metadata: store.Metadata{Labels: body.Metadata.labels()},
	}, rev, principalOf(r).ID)
	if err != nil {
		return s.errProblem(r, err, true)
	}
	updated(w, e.Revision)
	return nil
}

func (s *Server) deleteOverride(w http.ResponseWriter, r *http.Request) *Problem {
	old, p := s.override(r)
	if p != nil {
		return p
	}
	rev, p := ifMatch(r, old.Revision)
	if p != nil {
		return p
	}
	if err := s.store.DeleteOverride(r.Context(), r.PathValue("account_id"), old.ID, rev); err != nil {
		return s.errProblem(r, err, true)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
