package api

import (
	"net/http"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/store"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Static apps are Hookshot's own resource (hookshot/v1/apps): a name and the
// container inventory hooks are matched against, written by hand, in the
// cluster "local". Astra's app 1.x path (k8s/v1/apps) shows every app, static
// and 2.x, read only, in Astra's 1.x shape.
const (
	appMediaType = "application/astra-app"
	appListType  = "application/astra-apps"
)

var appVersions = []string{"1.0"}

// appBody is an app POST or PUT body (app_1.0_post_request_body,
// app_1.0_put_request_body: the document checks type, version, id; the
// store the name and containers).
type appBody struct {
	Type       string             `json:"type"`
	Version    string             `json:"version"`
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Containers []events.Container `json:"containers"`
	Metadata   *metadataBody      `json:"metadata"`
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
	if p := s.decode(r, raw, &body, nil); p != nil {
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
	if p := s.decode(r, raw, &body, nil); p != nil {
		return p
	}
	if body.ID != id {
		return problem(astra.InvalidField).fields(Invalid{"id", "must be the id of the request path, " + id})
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

// appV1Versions are the versions of Astra's app 1.x shape served.
var appV1Versions = []string{"1.2", "1.1", "1.0"}

// appV1View is an app in Astra's app 1.x shape: one namespace, the
// cluster's name and id, a state. Hookshot's own fields (containers) and
// 2.x's (namespaceScopedResources) are on their own paths.
func (s *Server) appV1View(a *store.App, version string) map[string]any {
	clusterID, state, namespace := a.ClusterID, "running", ""
	unready := []string{}
	if a.Discovered() {
		if len(a.NamespaceScopedResources) > 0 {
			namespace = a.NamespaceScopedResources[0].Namespace
		}
		switch a.State {
		case store.AppStateReady:
			state = "running"
		case "":
			state = store.AppStateDiscovering
		default:
			state = a.State
		}
		for _, d := range a.StateDetails {
			unready = append(unready, d.Detail)
		}
	} else {
		clusterID = cluster.IDOf(events.ClusterLocal)
		if len(a.Containers) > 0 {
			namespace = a.Containers[0].NamespaceName
		}
	}
	var clusterName string
	if info, ok := s.cfg.Clusters.Resolve(clusterID); ok {
		clusterName = info.Name
	}
	return map[string]any{
		"type": appMediaType, "version": version, "id": a.ID, "name": a.Name,
		"namespace": namespace, "clusterName": clusterName, "clusterID": clusterID,
		"state": state, "stateUnready": unready, "managedState": "managed", "protectionState": "none",
		"metadata": toMap(a.Metadata),
	}
}

func (s *Server) listAppsV1(w http.ResponseWriter, r *http.Request) *Problem {
	version, p := resourceVersion(r, "", appV1Versions)
	if p != nil {
		return p
	}
	entries, err := s.store.Apps.List(r.Context(), r.PathValue("account_id"))
	if err != nil {
		return s.errProblem(r, err, false)
	}
	items := make([]map[string]any, 0, len(entries))
	for _, e := range sortedByID(entries) {
		items = append(items, s.appV1View(&e.Value, version))
	}
	return s.writeList(w, r, appListType, version, items)
}

func (s *Server) getAppV1(w http.ResponseWriter, r *http.Request) *Problem {
	e, err := s.store.Apps.Get(r.Context(), r.PathValue("account_id"), r.PathValue("app_id"))
	if err != nil {
		return s.errProblem(r, err, true)
	}
	version, p := resourceVersion(r, "", appV1Versions)
	if p != nil {
		return p
	}
	fetched(w, e.Revision, appMediaType, s.appV1View(&e.Value, version))
	return nil
}
