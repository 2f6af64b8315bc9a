package api

import (
	"net/http"

	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/store"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

var sourceVersions = []string{executor.VersionHookSource}

const sourceListType = "application/astra-hookSources"

// sourceBody is a hookSource POST or PUT body.
type sourceBody struct {
	executor.HookSource
	Metadata *metadataBody `json:"metadata"`
}

// sourceView is a hookSource as the API returns it: a private source never
// shows its script.
func sourceView(rec *store.SourceRecord, version string) map[string]any {
	m := toMap(rec.Source.Redacted())
	m["version"] = version
	m["metadata"] = toMap(rec.Metadata)
	return m
}

func (s *Server) listSources(w http.ResponseWriter, r *http.Request) *Problem {
	version, p := resourceVersion(r, "", sourceVersions)
	if p != nil {
		return p
	}
	entries, err := s.store.Sources.List(r.Context(), r.PathValue("account_id"))
	if err != nil {
		return s.errProblem(r, err, false)
	}
	items := make([]map[string]any, 0, len(entries))
	for _, e := range sortedByID(entries) {
		items = append(items, sourceView(&e.Value, version))
	}
	return s.writeList(w, r, sourceListType, version, items)
}

func (s *Server) getSource(w http.ResponseWriter, r *http.Request) *Problem {
	e, err := s.store.Sources.Get(r.Context(), r.PathValue("account_id"), r.PathValue("source_id"))
	if err != nil {
		return s.errProblem(r, err, true)
	}
	version, p := resourceVersion(r, "", sourceVersions)
	if p != nil {
		return p
	}
	fetched(w, e.Revision, executor.TypeHookSource, sourceView(&e.Value, version))
	return nil
}

func (s *Server) createSource(w http.ResponseWriter, r *http.Request) *Problem {
	raw, p := readBody(w, r, s.cfg.MaxBodyBytes)
	if p != nil {
		return p
	}
	// id, private, preloaded and sourceMD5Checksum are not in
	// hookSource_1.0_post_request_body: the server sets them, or a PUT does
	// (private; preloaded by an admin only).
	var body sourceBody
	if p := s.decode(r, raw, &body, func() []Invalid { return allFields(body.HookSource.Validate()) }); p != nil {
		return p
	}
	e, err := s.store.CreateSource(r.Context(), r.PathValue("account_id"), store.SourceRecord{Source: body.HookSource, Metadata: store.Metadata{Labels: body.Metadata.labels()}}, principalOf(r).ID)
	if err != nil {
		return s.errProblem(r, err, false)
	}
	created(w, r, e.ID, e.Revision, executor.TypeHookSource, sourceView(&e.Value, body.Version))
	return nil
}

func (s *Server) updateSource(w http.ResponseWriter, r *http.Request) *Problem {
	account, id := r.PathValue("account_id"), r.PathValue("source_id")
	old, err := s.store.Sources.Get(r.Context(), account, id)
	if err != nil {
		return s.errProblem(r, err, true)
	}
	raw, rev, p := s.readUpdate(w, r, old.Revision)
	if p != nil {
		return p
	}
	body := sourceBody{HookSource: old.Value.Source}
	body.Type, body.Version, body.SourceMD5Checksum = "", "", ""
	if p := s.decode(r, raw, &body, func() []Invalid { return allFields(body.HookSource.Validate()) }); p != nil {
		return p
	}
	if body.ID != id {
		return problem(astra.InvalidField).fields(Invalid{"id", "must be the id of the request path, " + id})
	}
	if (old.Value.Source.IsPreloaded() || body.IsPreloaded()) && principalOf(r).Role < RoleAdmin {
		// Preloaded sources are read only, and only an admin makes one.
		return problem(astra.PreloadedSourceRO)
	}
	if body.SourceMD5Checksum != "" && body.SourceMD5Checksum != executor.Checksum(body.Source) {
		return problem(astra.InvalidField).fields(Invalid{"sourceMD5Checksum", "does not match source"})
	}
	e, err := s.store.UpdateSource(r.Context(), account, store.SourceRecord{Source: body.HookSource, Metadata: store.Metadata{Labels: body.Metadata.labels()}}, rev, principalOf(r).ID)
	if err != nil {
		return s.errProblem(r, err, true)
	}
	updated(w, e.Revision)
	return nil
}

func (s *Server) deleteSource(w http.ResponseWriter, r *http.Request) *Problem {
	account := r.PathValue("account_id")
	old, err := s.store.Sources.Get(r.Context(), account, r.PathValue("source_id"))
	if err != nil {
		return s.errProblem(r, err, true)
	}
	rev, p := ifMatch(r, old.Revision)
	if p != nil {
		return p
	}
	if old.Value.Source.IsPreloaded() && principalOf(r).Role < RoleAdmin {
		return problem(astra.PreloadedSourceRO)
	}
	if err := s.store.DeleteSource(r.Context(), account, old.ID, rev); err != nil {
		return s.errProblem(r, err, true)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
