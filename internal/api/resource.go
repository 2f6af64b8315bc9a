package api

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/executor"
	"github.com/hookshot-dev/hookshot/internal/api/query"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// metadataBody is type_astra_metadata_update as a client sends it. Only the
// labels are taken: timestamps and createdBy/modifiedBy are the server's.
type metadataBody struct {
	Labels                []events.Label `json:"labels"`
	CreationTimestamp     string         `json:"creationTimestamp"`
	ModificationTimestamp string         `json:"modificationTimestamp"`
	CreatedBy             string         `json:"createdBy"`
	ModifiedBy            string         `json:"modifiedBy"`
}

func (m *metadataBody) labels() []events.Label {
	if m == nil {
		return nil
	}
	if m.Labels == nil {
		return []events.Label{}
	}
	return m.Labels
}

// resourceVersion picks the version to answer in: the one a body named, else
// the one the Accept header asks for (…; version=1.2), else latest. An Accept
// version the resource does not have is 404/30.
func resourceVersion(r *http.Request, bodyVersion string, versions []string) (string, *Problem) {
	if bodyVersion != "" {
		return bodyVersion, nil
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		_, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["version"] == "" {
			continue
		}
		if !slices.Contains(versions, params["version"]) {
			return "", problem(astra.VersionNotAvailable).params(Invalid{"Accept", "version " + params["version"] + " is not one of " + strings.Join(versions, ", ")})
		}
		return params["version"], nil
	}
	return versions[0], nil
}

// bodyMediaTypes are the resource media types of POST and PUT bodies by the
// collection segment of their route.
var bodyMediaTypes = func() map[string]string {
	m := map[string]string{
		"executionHooks":         matcher.MediaType,
		"hookSources":            executor.TypeHookSource,
		"apps":                   appMediaType,
		"executionHookOverrides": overrideMediaType,
	}
	for _, k := range actionKinds {
		m[k.collection] = k.mediaType
	}
	return m
}()

// bodyMediaType is the media type (without +json) of the resource a route
// pattern reads bodies of: that of its last segment that is not a
// {wildcard}; "" for a route with no resource type (RFS).
func bodyMediaType(pattern string) string {
	segs := strings.Split(strings.Trim(pattern, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if !strings.HasPrefix(segs[i], "{") {
			return bodyMediaTypes[segs[i]]
		}
	}
	return ""
}

// toMap turns a response struct into its JSON object.
func toMap(v any) map[string]any {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own types always marshal
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(err)
	}
	return m
}

// listResponse is an Astra list: items, then metadata with count and continue.
type listResponse struct {
	Type     string       `json:"type"`
	Version  string       `json:"version"`
	Items    []any        `json:"items"`
	Metadata listMetadata `json:"metadata"`
}

type listMetadata struct {
	Labels   []events.Label `json:"labels"`
	Continue string         `json:"continue,omitempty"`
	Count    int            `json:"count"`
}

// writeList applies the request's include/limit/filter/continue to items
// (JSON objects sorted by id) and writes the list.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, listType, version string, items []map[string]any) *Problem {
	params, err := query.Parse(r.URL.Query())
	if err != nil {
		return s.queryProblem(r, err)
	}
	page, err := query.Apply(items, params)
	if err != nil {
		return s.queryProblem(r, err)
	}
	if page.Items == nil {
		page.Items = []any{}
	}
	writeJSON(w, http.StatusOK, "", listResponse{
		Type: listType, Version: version, Items: page.Items,
		Metadata: listMetadata{Labels: []events.Label{}, Continue: page.Continue, Count: page.Count},
	})
	return nil
}

// queryProblem maps a bad list query to 400/5 or 400/6; anything else is a
// handler bug (items without ids, or unsorted).
func (s *Server) queryProblem(r *http.Request, err error) *Problem {
	var qe *query.Error
	if !errors.As(err, &qe) {
		return s.internal(r, err)
	}
	p := problem(qe.Problem)
	for _, ip := range qe.Params {
		p.params(Invalid{ip.Name, ip.Reason})
	}
	return p
}

// created answers 201 with Location and ETag.
func created(w http.ResponseWriter, r *http.Request, id string, rev uint64, mediaType string, body any) {
	w.Header().Set("Location", strings.TrimSuffix(r.URL.Path, "/")+"/"+id)
	w.Header().Set("ETag", etag(rev))
	writeJSON(w, http.StatusCreated, mediaType, body)
}

// updated answers a PUT: 204 with the new ETag.
func updated(w http.ResponseWriter, rev uint64) {
	w.Header().Set("ETag", etag(rev))
	w.WriteHeader(http.StatusNoContent)
}

// fetched answers a GET of one resource with its ETag.
func fetched(w http.ResponseWriter, rev uint64, mediaType string, body any) {
	w.Header().Set("ETag", etag(rev))
	writeJSON(w, http.StatusOK, mediaType, body)
}

// sortedByID orders entries by id, the order lists and continue tokens use.
func sortedByID[T any](es []*store.Entry[T]) []*store.Entry[T] {
	slices.SortFunc(es, func(a, b *store.Entry[T]) int { return strings.Compare(a.ID, b.ID) })
	return es
}

// schemaProblem is 400/8 naming bad, or nil when bad is empty.
func schemaProblem(bad []Invalid) *Problem {
	if len(bad) == 0 {
		return nil
	}
	p := problem(astra.InvalidJSONResource).fields(bad...)
	p.SchemaValidationFailure = describe(bad)
	return p
}

// readUpdate checks If-Match against the stored revision and reads the body
// of a PUT: the revision the write must find, and the body.
func (s *Server) readUpdate(w http.ResponseWriter, r *http.Request, current uint64) ([]byte, uint64, *Problem) {
	rev, p := ifMatch(r, current)
	if p != nil {
		return nil, 0, p
	}
	raw, p := readBody(w, r, s.cfg.MaxBodyBytes)
	return raw, rev, p
}
