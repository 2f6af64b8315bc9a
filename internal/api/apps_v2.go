package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/store"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Apps 2.x are Astra's app resource at k8s/v2/apps: a cluster, namespaces
// and label selectors, whose containers are discovered from the cluster.
// They share the media type of Hookshot's static apps (k8s/v1/apps), told
// apart by version.

// appStateTransitions are Astra's, as every app 2.x shows them.
var appStateTransitions = []map[string]any{
	{"to": []string{"pending"}},
	{"from": "pending", "to": []string{"discovering", "failed"}},
	{"from": "discovering", "to": []string{"ready", "failed"}},
	{"from": "ready", "to": []string{"discovering", "restoring", "unavailable", "failed"}},
	{"from": "unavailable", "to": []string{"ready", "restoring"}},
}

// appV2Body is an app 2.x POST or PUT body.
type appV2Body struct {
	Type                     string                     `json:"type"`
	Version                  string                     `json:"version"`
	ID                       string                     `json:"id"`
	Name                     string                     `json:"name"`
	ClusterID                string                     `json:"clusterID"`
	NamespaceScopedResources []events.NamespaceSelector `json:"namespaceScopedResources"`
	ClusterScopedResources   []json.RawMessage          `json:"clusterScopedResources"`
	Metadata                 *metadataBody              `json:"metadata"`
}

func (b *appV2Body) app() store.App {
	return store.App{
		ID: b.ID, Name: b.Name, Version: b.Version, ClusterID: b.ClusterID,
		NamespaceScopedResources: b.NamespaceScopedResources, ClusterScopedResources: b.ClusterScopedResources,
		Metadata: store.Metadata{Labels: b.Metadata.labels()},
	}
}

// invalid are the body's schema-level faults the store finds (the document
// checks type, and that id is not sent on create).
func (b *appV2Body) invalid() []Invalid {
	app := b.app()
	return schemaFields(store.CheckAppV2(&app))
}

// faults are every fault the store finds, those beyond the schema (a
// namespace twice, a label selector that does not parse) included.
func (b *appV2Body) faults() []Invalid {
	app := b.app()
	return allFields(store.CheckAppV2(&app))
}

// appV2View is an app 2.x as the API returns it.
type appV2View struct {
	Type                            string                     `json:"type"`
	Version                         string                     `json:"version"`
	ID                              string                     `json:"id"`
	Name                            string                     `json:"name"`
	NamespaceScopedResources        []events.NamespaceSelector `json:"namespaceScopedResources"`
	ClusterScopedResources          []json.RawMessage          `json:"clusterScopedResources,omitempty"`
	State                           string                     `json:"state"`
	StateDetails                    []events.StateDetail       `json:"stateDetails"`
	StateTransitions                []map[string]any           `json:"stateTransitions"`
	LastResourceCollectionTimestamp string                     `json:"lastResourceCollectionTimestamp,omitempty"`
	ProtectionState                 string                     `json:"protectionState"`
	ProtectionStateDetails          []events.StateDetail       `json:"protectionStateDetails"`
	Namespaces                      []string                   `json:"namespaces"`
	ClusterName                     string                     `json:"clusterName"`
	ClusterID                       string                     `json:"clusterID"`
	ClusterType                     string                     `json:"clusterType"`
	Metadata                        store.Metadata             `json:"metadata"`
}

func (s *Server) appV2View(a *store.App, version string) map[string]any {
	v := appV2View{
		Type: appMediaType, Version: version, ID: a.ID, Name: a.Name,
		NamespaceScopedResources: a.NamespaceScopedResources, ClusterScopedResources: a.ClusterScopedResources,
		State: a.State, StateDetails: a.StateDetails, StateTransitions: appStateTransitions,
		ProtectionState: "none", ProtectionStateDetails: []events.StateDetail{},
		Namespaces: []string{}, ClusterID: a.ClusterID, Metadata: a.Metadata,
	}
	if v.StateDetails == nil {
		v.StateDetails = []events.StateDetail{}
	}
	if !a.LastResourceCollection.IsZero() {
		v.LastResourceCollectionTimestamp = store.Timestamp(a.LastResourceCollection)
	}
	for _, ns := range a.NamespaceScopedResources {
		if !slices.Contains(v.Namespaces, ns.Namespace) {
			v.Namespaces = append(v.Namespaces, ns.Namespace)
		}
	}
	if info, ok := s.cfg.Clusters.Resolve(a.ClusterID); ok {
		v.ClusterName, v.ClusterType = info.Name, string(info.Type)
	}
	return toMap(v)
}

// appOfKind reads the app of the path, answering 404/1 when it is absent or
// of the other kind (a static app on k8s/v2/apps, an app 2.x on k8s/v1/apps).
func (s *Server) appOfKind(r *http.Request, discovered bool) (*store.Entry[store.App], *Problem) {
	e, err := s.store.Apps.Get(r.Context(), r.PathValue("account_id"), r.PathValue("app_id"))
	if err != nil {
		return nil, s.errProblem(r, err, true)
	}
	if e.Value.Discovered() != discovered {
		return nil, problem(astra.ResourceNotFound)
	}
	return e, nil
}

func (s *Server) listAppsV2(w http.ResponseWriter, r *http.Request) *Problem {
	version, p := resourceVersion(r, "", store.AppVersions)
	if p != nil {
		return p
	}
	return s.listAppsOf(w, r, true, version, func(a *store.App) map[string]any { return s.appV2View(a, version) })
}

// listAppsOf lists the apps of one kind (apps 2.x or static ones).
func (s *Server) listAppsOf(w http.ResponseWriter, r *http.Request, discovered bool, version string, view func(*store.App) map[string]any) *Problem {
	entries, err := s.store.Apps.List(r.Context(), r.PathValue("account_id"))
	if err != nil {
		return s.errProblem(r, err, false)
	}
	items := make([]map[string]any, 0, len(entries))
	for _, e := range sortedByID(entries) {
		if e.Value.Discovered() == discovered {
			items = append(items, view(&e.Value))
		}
	}
	return s.writeList(w, r, appListType, version, items)
}

func (s *Server) getAppV2(w http.ResponseWriter, r *http.Request) *Problem {
	e, p := s.appOfKind(r, true)
	if p != nil {
		return p
	}
	version, p := resourceVersion(r, "", store.AppVersions)
	if p != nil {
		return p
	}
	fetched(w, e.Revision, appMediaType, s.appV2View(&e.Value, version))
	return nil
}

// appCluster resolves the clusterID of a body (a configured cluster's id
// or name) to the cluster: 400/106 naming clusterID when no cluster has
// it, an extended fault when it is the static cluster.
func (s *Server) appCluster(nameOrID string) (cluster.Info, []Invalid, *Problem) {
	if nameOrID == "" {
		return cluster.Info{}, nil, nil // named by the schema check
	}
	info, ok := s.cfg.Clusters.Resolve(nameOrID)
	if !ok {
		return info, nil, problem(astra.ClusterNotFound).fields(Invalid{"clusterID", "no configured cluster has this id or name"})
	}
	if info.Type == cluster.TypeStatic {
		return info, []Invalid{{"clusterID", "the static cluster " + info.Name + " discovers nothing: register its apps with hookshot/v1/apps"}}, nil
	}
	return info, nil, nil
}

func (s *Server) createAppV2(w http.ResponseWriter, r *http.Request) *Problem {
	raw, p := readBody(w, r, s.cfg.MaxBodyBytes)
	if p != nil {
		return p
	}
	var body appV2Body
	if p := s.decode(r, raw, &body, body.faults); p != nil {
		return p
	}
	if p := schemaProblem(body.invalid()); p != nil {
		return p
	}
	info, bad, p := s.appCluster(body.ClusterID)
	if p != nil {
		return p
	}
	app := body.app()
	if err := store.CheckAppV2(&app); err != nil {
		p := validationProblem(err)
		return p.fields(bad...)
	}
	if len(bad) > 0 {
		return problem(astra.InvalidField).fields(bad...)
	}
	app.ClusterID = info.ID
	account := r.PathValue("account_id")
	e, err := s.store.CreateAppV2(r.Context(), account, app, principalOf(r).ID)
	if err != nil {
		return s.errProblem(r, err, false)
	}
	if s.cfg.AppCreated != nil {
		s.cfg.AppCreated(account, e.ID)
	}
	created(w, r, e.ID, e.Revision, appMediaType, s.appV2View(&e.Value, body.Version))
	return nil
}

// updateAppV2 changes an app's name and labels. What the app selects
// (cluster, namespaces, selectors, cluster-scoped resources) is fixed at
// creation: a body that changes it is refused, naming the field.
func (s *Server) updateAppV2(w http.ResponseWriter, r *http.Request) *Problem {
	old, p := s.appOfKind(r, true)
	if p != nil {
		return p
	}
	raw, rev, p := s.readUpdate(w, r, old.Revision)
	if p != nil {
		return p
	}
	a := old.Value
	body := appV2Body{ID: a.ID, Name: a.Name, ClusterID: a.ClusterID,
		NamespaceScopedResources: a.NamespaceScopedResources, ClusterScopedResources: a.ClusterScopedResources}
	if p := s.decode(r, raw, &body, body.faults); p != nil {
		return p
	}
	if p := schemaProblem(body.invalid()); p != nil {
		return p
	}
	if body.ID != a.ID {
		return problem(astra.InvalidField).fields(Invalid{"id", "must be the id of the request path, " + a.ID})
	}
	if info, ok := s.cfg.Clusters.Resolve(body.ClusterID); !ok || info.ID != a.ClusterID {
		return problem(astra.InvalidField).fields(Invalid{"clusterID", "an app's cluster cannot change: create another app"})
	}
	if !slices.EqualFunc(body.NamespaceScopedResources, a.NamespaceScopedResources, func(x, y events.NamespaceSelector) bool {
		return x.Namespace == y.Namespace && slices.Equal(x.LabelSelectors, y.LabelSelectors)
	}) {
		return problem(astra.AppNotUpdated).fields(Invalid{"namespaceScopedResources", "an app's namespaces and selectors cannot change: create another app"})
	}
	if !sameJSON(body.ClusterScopedResources, a.ClusterScopedResources) {
		return problem(astra.InvalidField).fields(Invalid{"clusterScopedResources", "an app's cluster-scoped resources cannot change: create another app"})
	}
	var labels []events.Label
	if body.Metadata != nil {
		labels = body.Metadata.labels()
	}
	// Without If-Match the client pinned nothing: a state the collector
	// wrote since the read must not turn the rename into a 412.
	if h := strings.TrimSpace(r.Header.Get("If-Match")); h == "" || h == "*" {
		rev = 0
	}
	e, err := s.store.RenameAppV2(r.Context(), r.PathValue("account_id"), a.ID, body.Name, labels, rev, principalOf(r).ID)
	if err != nil {
		return s.errProblem(r, err, true)
	}
	updated(w, e.Revision)
	return nil
}

// sameJSON reports whether two lists of JSON values are equal as values.
func sameJSON(a, b []json.RawMessage) bool {
	decode := func(l []json.RawMessage) any {
		out := make([]any, len(l))
		for i, raw := range l {
			_ = json.Unmarshal(raw, &out[i])
		}
		return out
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

func (s *Server) deleteAppV2(w http.ResponseWriter, r *http.Request) *Problem {
	return s.removeApp(w, r, true)
}

// removeApp deletes the app of the path if it is of the kind of the path.
func (s *Server) removeApp(w http.ResponseWriter, r *http.Request, discovered bool) *Problem {
	old, p := s.appOfKind(r, discovered)
	if p != nil {
		return p
	}
	rev, p := ifMatch(r, old.Revision)
	if p != nil {
		return p
	}
	if h := strings.TrimSpace(r.Header.Get("If-Match")); h == "" || h == "*" {
		// No revision asked for: delete what is there, even if the
		// collector wrote the app's state since it was read (the store
		// reads again), rather than answering 412 to a plain DELETE.
		rev = 0
	}
	if err := s.store.DeleteApp(r.Context(), r.PathValue("account_id"), old.ID, rev); err != nil {
		return s.errProblem(r, err, true)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// discoverTimeout bounds a discovery made while answering a request.
const discoverTimeout = 10 * time.Second

// inventory is the containers of an app: a static app's registered
// inventory, or an app 2.x's discovered now from its cluster. A cluster
// that cannot be asked is 503/41 naming it.
func (s *Server) inventory(ctx context.Context, app *store.App) ([]events.Container, *Problem) {
	if !app.Discovered() {
		cs := slices.Clone(app.Containers)
		if cs == nil {
			cs = []events.Container{}
		}
		events.SortContainers(cs)
		return cs, nil
	}
	ctx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	cs, err := s.cfg.Clusters.Discover(ctx, app.ClusterID, app.NamespaceScopedResources)
	if err != nil {
		name := app.ClusterID
		if info, ok := s.cfg.Clusters.Resolve(app.ClusterID); ok {
			name = info.Name
		}
		p := problem(astra.ServiceNotReady)
		if errors.Is(err, cluster.ErrUnknownCluster) || errors.Is(err, cluster.ErrStatic) {
			p.Detail = fmt.Sprintf("%s The app's cluster %s is not configured on this server.", p.Detail, name)
		} else {
			p.Detail = fmt.Sprintf("%s The app's cluster %s did not answer: %v", p.Detail, name, err)
		}
		return nil, p
	}
	if cs == nil {
		cs = []events.Container{}
	}
	return cs, nil
}

// hookInventory is the inventory matchingContainers and matchingImages are
// computed from: for an app 2.x, one discovery per app and request, none
// when its cluster was last seen unavailable (the lists are then empty).
func (s *Server) hookInventory(r *http.Request, app *store.App) []events.Container {
	if !app.Discovered() {
		return app.Containers
	}
	if info, ok := s.cfg.Clusters.Resolve(app.ClusterID); !ok || info.State == cluster.StateUnavailable {
		return nil
	}
	cs, p := s.inventory(r.Context(), app)
	if p != nil {
		s.log.Debug("matchingContainers: no inventory", zap.String("app_id", app.ID), zap.String("detail", p.Detail))
	}
	return cs
}
