package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/store"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Clusters is what the API needs of the configured clusters
// (*cluster.Registry).
type Clusters interface {
	// Resolve finds a cluster by name or id with its last known state.
	Resolve(nameOrID string) (cluster.Info, bool)
	// Get finds a cluster by name or id and probes its state.
	Get(ctx context.Context, nameOrID string) (cluster.Info, bool)
	// List reports every cluster, probing their states.
	List(ctx context.Context) []cluster.Info
	// Discover finds an app's containers in a cluster.
	Discover(ctx context.Context, nameOrID string, scopes []events.NamespaceSelector) ([]events.Container, error)
}

var _ Clusters = (*cluster.Registry)(nil)

// Topology resources: clusters come from the configuration (read-only,
// never their credentials); there is one cloud, "local", and no bucket.
const (
	clusterMediaType = "application/astra-cluster"
	clusterListType  = "application/astra-clusters"
	cloudMediaType   = "application/astra-cloud"
	cloudListType    = "application/astra-clouds"
	cloudVersion     = "1.0"
	bucketListType   = "application/astra-buckets"
	bucketVersion    = "1.0"
	// localCloudID is the id of the one cloud every cluster belongs to.
	localCloudID = "0b6f3f7e-5c1a-4e0b-9a57-6a1d2d8e4c10"
	// systemID is the createdBy of resources the configuration makes.
	systemID = "00000000-0000-0000-0000-000000000000"
)

var clusterVersions = []string{"1.5", "1.4", "1.3", "1.2", "1.1"}

// clusterView is a cluster as the API returns it.
type clusterView struct {
	Type         string         `json:"type"`
	Version      string         `json:"version"`
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	State        string         `json:"state"`
	StateUnready []string       `json:"stateUnready"`
	ManagedState string         `json:"managedState"`
	ClusterType  string         `json:"clusterType"`
	CloudID      string         `json:"cloudID"`
	Namespaces   []string       `json:"namespaces"`
	InUse        string         `json:"inUse"`
	Metadata     store.Metadata `json:"metadata"`
}

func (s *Server) clusterView(in cluster.Info, inUse bool, version string) map[string]any {
	v := clusterView{
		Type: clusterMediaType, Version: version, ID: in.ID, Name: in.Name, State: in.State,
		StateUnready: []string{}, ManagedState: "managed", ClusterType: string(in.Type), CloudID: localCloudID,
		Namespaces: []string{}, InUse: "false", Metadata: s.systemMetadata(),
	}
	if in.StateDetail != "" {
		v.StateUnready = append(v.StateUnready, in.StateDetail)
	}
	if inUse {
		v.InUse = "true"
	}
	return toMap(v)
}

// systemMetadata is the metadata of a resource of the configuration: made
// when this server started.
func (s *Server) systemMetadata() store.Metadata {
	ts := store.Timestamp(s.started)
	return store.Metadata{Labels: []events.Label{}, CreationTimestamp: ts, ModificationTimestamp: ts, CreatedBy: systemID}
}

// clusterQuery is the version a cluster request asks for and the ids of
// the clusters the account's apps use (the static cluster's when it has a
// static app).
func (s *Server) clusterQuery(r *http.Request) (version string, inUse map[string]bool, _ *Problem) {
	version, p := resourceVersion(r, "", clusterVersions)
	if p != nil {
		return "", nil, p
	}
	entries, err := s.store.Apps.List(r.Context(), r.PathValue("account_id"))
	if err != nil {
		return "", nil, s.errProblem(r, err, false)
	}
	used := map[string]bool{}
	for _, e := range entries {
		id := e.Value.ClusterID
		if id == "" {
			id = cluster.IDOf(events.ClusterLocal)
		}
		used[id] = true
	}
	return version, used, nil
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) *Problem {
	version, used, p := s.clusterQuery(r)
	if p != nil {
		return p
	}
	infos := s.cfg.Clusters.List(r.Context())
	slices.SortFunc(infos, func(a, b cluster.Info) int { return strings.Compare(a.ID, b.ID) })
	items := make([]map[string]any, 0, len(infos))
	for _, in := range infos {
		items = append(items, s.clusterView(in, used[in.ID], version))
	}
	return s.writeList(w, r, clusterListType, version, items)
}

// getCluster answers a cluster by id (or, as a convenience, by name).
func (s *Server) getCluster(w http.ResponseWriter, r *http.Request) *Problem {
	in, ok := s.cfg.Clusters.Get(r.Context(), r.PathValue("cluster_id"))
	if !ok {
		return problem(astra.ResourceNotFound)
	}
	version, used, p := s.clusterQuery(r)
	if p != nil {
		return p
	}
	writeJSON(w, http.StatusOK, clusterMediaType, s.clusterView(in, used[in.ID], version))
	return nil
}

func (s *Server) cloudView() map[string]any {
	return map[string]any{
		"type": cloudMediaType, "version": cloudVersion, "id": localCloudID, "name": "local",
		"cloudType": "private", "metadata": toMap(s.systemMetadata()),
	}
}

func (s *Server) listClouds(w http.ResponseWriter, r *http.Request) *Problem {
	if _, p := resourceVersion(r, "", []string{cloudVersion}); p != nil {
		return p
	}
	return s.writeList(w, r, cloudListType, cloudVersion, []map[string]any{s.cloudView()})
}

func (s *Server) getCloud(w http.ResponseWriter, r *http.Request) *Problem {
	if r.PathValue("cloud_id") != localCloudID {
		return problem(astra.ResourceNotFound)
	}
	if _, p := resourceVersion(r, "", []string{cloudVersion}); p != nil {
		return p
	}
	writeJSON(w, http.StatusOK, cloudMediaType, s.cloudView())
	return nil
}

// listBuckets answers an empty list: Hookshot keeps no backups, but clients
// list buckets when they build choices.
func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request) *Problem {
	if _, p := resourceVersion(r, "", []string{bucketVersion}); p != nil {
		return p
	}
	return s.writeList(w, r, bucketListType, bucketVersion, nil)
}
