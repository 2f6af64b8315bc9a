package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/store"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Actions runs appSnaps, appBackups, restores and failovers
// (internal/driver.Driver).
type Actions interface {
	Create(ctx context.Context, a driver.Action, by string) (*driver.Action, uint64, error)
	Get(ctx context.Context, account, id string) (*driver.Action, uint64, error)
	List(ctx context.Context, account, appID string, kind driver.Kind) ([]*driver.Action, error)
	// Delete removes a finished action at revision rev (0: any), as a
	// compare-and-set.
	Delete(ctx context.Context, account, id string, rev uint64) error
}

var _ Actions = (*driver.Driver)(nil)

// actionKind describes one of the four action collections.
type actionKind struct {
	kind       driver.Kind
	collection string // path segment
	mediaType  string
	listType   string
	versions   []string
	// nameTaken is the problem for a duplicate name.
	nameTaken astra.Problem
}

// nilID stands for "none" where Astra requires an identifier (bucketID).
const nilID = "00000000-0000-0000-0000-000000000000"

var actionKinds = []actionKind{
	{driver.KindSnapshot, "appSnaps", "application/astra-appSnap", "application/astra-appSnaps", []string{"1.3", "1.2", "1.1", "1.0"}, astra.SnapshotNameExists},
	{driver.KindBackup, "appBackups", "application/astra-appBackup", "application/astra-appBackups", []string{"1.2", "1.1", "1.0"}, astra.BackupNameExists},
	// Astra's execution-hook API has no restore or failover resource: these
	// two are Hookshot's, shaped like appSnaps, so restore/post and
	// failover/post hooks can be run and tested end to end.
	{driver.KindRestore, "appRestores", "application/hookshot-appRestore", "application/hookshot-appRestores", []string{"1.0"}, astra.Conflict},
	{driver.KindFailover, "appFailovers", "application/hookshot-appFailover", "application/hookshot-appFailovers", []string{"1.0"}, astra.Conflict},
}

// actionBody is a POST body of any of the four. The document checks it
// (appSnap_1.3_post_request_body and the others: type and version of the
// kind, name a DNS-1123 label, bucketID an identifier, snapshotID on
// appBackups only).
type actionBody struct {
	Type       string        `json:"type"`
	Version    string        `json:"version"`
	Name       string        `json:"name"`
	BucketID   string        `json:"bucketID"`
	SnapshotID string        `json:"snapshotID"`
	Metadata   *metadataBody `json:"metadata"`
}

func (s *Server) registerActions(app string) {
	for _, k := range actionKinds {
		s.handle(app+"/"+k.collection, acct, false, map[string]handlerFunc{get: s.listActions(k), post: s.createAction(k)})
		s.handle(app+"/"+k.collection+"/{action_id}", acct, true, map[string]handlerFunc{get: s.getAction(k), del: s.deleteAction(k)})
	}
}

// actionView is the Astra resource of an action.
func actionView(k actionKind, a *driver.Action, version string) map[string]any {
	m := map[string]any{
		"type": k.mediaType, "version": version, "id": a.ID, "name": a.Name,
		"state": a.State, "stateUnready": nonNil(a.StateUnready), "stateDetails": []any{},
		"metadata": toMap(a.Metadata),
	}
	if a.HookState != "" {
		m["hookState"] = string(a.HookState)
		if a.HookStateDetails == nil {
			m["hookStateDetails"] = []any{}
		} else {
			m["hookStateDetails"] = a.HookStateDetails
		}
	}
	if k.kind == driver.KindBackup {
		m["bucketID"] = nilID
		if a.BucketID != "" {
			m["bucketID"] = a.BucketID
		}
		if a.SnapshotID != "" {
			m["snapshotID"] = a.SnapshotID
		}
	} else if a.BucketID != "" {
		m["bucketID"] = a.BucketID
	}
	// Hookshot's own: the run whose stage results the action waits for.
	m["runID"] = a.RunID
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) actionsOrUnavailable() (Actions, *Problem) {
	if s.cfg.Actions == nil {
		return nil, problem(astra.ServiceNotReady)
	}
	return s.cfg.Actions, nil
}

func (s *Server) listActions(k actionKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) *Problem {
		acts, p := s.actionsOrUnavailable()
		if p != nil {
			return p
		}
		app, p := s.appScope(r, false)
		if p != nil {
			return p
		}
		version, p := resourceVersion(r, "", k.versions)
		if p != nil {
			return p
		}
		list, err := acts.List(r.Context(), r.PathValue("account_id"), app, k.kind)
		if err != nil {
			return s.errProblem(r, err, false)
		}
		items := make([]map[string]any, 0, len(list))
		for _, a := range list {
			items = append(items, actionView(k, a, version))
		}
		return s.writeList(w, r, k.listType, version, items)
	}
}

// action reads an action of kind k of the path's app.
func (s *Server) action(r *http.Request, k actionKind) (*driver.Action, uint64, *Problem) {
	acts, p := s.actionsOrUnavailable()
	if p != nil {
		return nil, 0, p
	}
	a, rev, err := acts.Get(r.Context(), r.PathValue("account_id"), r.PathValue("action_id"))
	if err != nil {
		return nil, 0, s.errProblem(r, err, true)
	}
	if a.Kind != k.kind || a.AppID != r.PathValue("app_id") {
		return nil, 0, problem(astra.ResourceNotFound)
	}
	return a, rev, nil
}

func (s *Server) getAction(k actionKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) *Problem {
		a, rev, p := s.action(r, k)
		if p != nil {
			return p
		}
		version, p := resourceVersion(r, "", k.versions)
		if p != nil {
			return p
		}
		fetched(w, rev, k.mediaType, actionView(k, a, version))
		return nil
	}
}

func (s *Server) createAction(k actionKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) *Problem {
		acts, p := s.actionsOrUnavailable()
		if p != nil {
			return p
		}
		account := r.PathValue("account_id")
		app, p := s.appScope(r, false)
		if p != nil {
			return p
		}
		raw, p := readBody(w, r, s.cfg.MaxBodyBytes)
		if p != nil {
			return p
		}
		var body actionBody
		if p := s.decode(r, raw, &body, nil); p != nil {
			return p
		}
		if body.SnapshotID != "" {
			snap, _, err := acts.Get(r.Context(), account, body.SnapshotID)
			if err != nil && !errors.Is(err, driver.ErrNotFound) {
				return s.errProblem(r, err, false)
			}
			if err != nil || snap.Kind != driver.KindSnapshot || snap.AppID != app {
				return problem(astra.InvalidField).fields(Invalid{"snapshotID", "no snapshot of this app with this id"})
			}
		}
		// The driver reserves the name (compare-and-set, per app and kind).
		a, rev, err := acts.Create(r.Context(), driver.Action{
			Account: account, AppID: app, Name: body.Name, Kind: k.kind, SnapshotID: body.SnapshotID, BucketID: body.BucketID,
			Metadata: store.Metadata{Labels: body.Metadata.labels()},
		}, principalOf(r).ID)
		switch {
		case errors.Is(err, driver.ErrNameTaken):
			return problem(k.nameTaken).fields(Invalid{"name", "another " + string(k.kind) + " of this app has this name"})
		case err != nil:
			return s.errProblem(r, err, false)
		}
		created(w, r, a.ID, rev, k.mediaType, actionView(k, a, body.Version))
		return nil
	}
}

func (s *Server) deleteAction(k actionKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) *Problem {
		a, rev, p := s.action(r, k)
		if p != nil {
			return p
		}
		rev, p = ifMatch(r, rev)
		if p != nil {
			return p
		}
		// A compare-and-set at the revision read: an action that moves
		// meanwhile is not deleted (412/38).
		if err := s.cfg.Actions.Delete(r.Context(), a.Account, a.ID, rev); err != nil {
			return s.errProblem(r, err, true)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
