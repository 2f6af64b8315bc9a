package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/matcher"
)

// States of an app 2.x, as Astra's.
const (
	// AppStateDiscovering: created, its containers not collected yet.
	AppStateDiscovering = "discovering"
	// AppStateReady: its containers were collected.
	AppStateReady = "ready"
	// AppStateUnavailable: its cluster did not answer the last collection.
	AppStateUnavailable = "unavailable"
	// AppStateFailed: it cannot be collected (its cluster is no longer
	// configured, say) until that changes.
	AppStateFailed = "failed"
)

// AppVersions are the app 2.x versions, newest first.
var AppVersions = []string{"2.2", "2.1", "2.0"}

// dns1123Label is Astra's type_dns_1123: a Kubernetes namespace name.
var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// CheckAppV2 validates an app 2.x as a client wrote it (its cluster is
// checked by the caller, who knows the clusters), naming every bad field:
// name of 1–63 characters, a version of AppVersions, at least one namespace,
// each a DNS-1123 label of at most 63 characters, each label selector of
// Kubernetes' grammar, each cluster-scoped resource a JSON object.
func CheckAppV2(app *App) error {
	ve := &matcher.ValidationError{}
	add := func(extended bool, field, format string, args ...any) {
		ve.Fields = append(ve.Fields, matcher.FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Extended: extended})
	}
	if n := len([]rune(app.Name)); n < 1 || n > 63 {
		add(false, "name", "must be 1 to 63 characters")
	}
	if !slices.Contains(AppVersions, app.Version) {
		add(false, "version", "must be one of %s", strings.Join(AppVersions, ", "))
	}
	if app.ClusterID == "" {
		add(false, "clusterID", "required")
	}
	if len(app.NamespaceScopedResources) == 0 {
		add(false, "namespaceScopedResources", "must name at least one namespace")
	}
	seen := map[string]bool{}
	for i, ns := range app.NamespaceScopedResources {
		field := fmt.Sprintf("namespaceScopedResources[%d]", i)
		switch {
		case len(ns.Namespace) > 63 || !dns1123Label.MatchString(ns.Namespace):
			add(false, field+".namespace", "must be a DNS-1123 label of 1–63 characters")
		case seen[ns.Namespace]:
			add(true, field+".namespace", "namespace %s is already in the list: give its selectors in one entry", ns.Namespace)
		}
		seen[ns.Namespace] = true
		for j, sel := range ns.LabelSelectors {
			if err := checkSelector(sel); err != nil {
				add(true, fmt.Sprintf("%s.labelSelectors[%d]", field, j), "not a Kubernetes label selector: %v", err)
			}
		}
	}
	for i, raw := range app.ClusterScopedResources {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			add(false, fmt.Sprintf("clusterScopedResources[%d]", i), "must be an object")
		}
	}
	if len(ve.Fields) > 0 {
		return ve
	}
	return nil
}

// checkSelector parses one label selector of Kubernetes' grammar (as
// cluster.ParseSelector does; store cannot import cluster, which imports
// store).
func checkSelector(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty label selector")
	}
	_, err := labels.Parse(s)
	return err
}

// CreateAppV2 registers an app 2.x in state discovering. Its name is unique
// in the account among every app, static or not; ClusterID is the id of a
// configured cluster (the caller resolves it).
func (s *Store) CreateAppV2(ctx context.Context, account string, app App, by string) (*Entry[App], error) {
	if err := CheckAppV2(&app); err != nil {
		return nil, err
	}
	if app.ID == "" {
		app.ID = NewID()
	}
	app.Containers = nil
	app.State, app.StateDetails, app.LastResourceCollection = AppStateDiscovering, nil, time.Time{}
	return create(ctx, s, &s.Apps, KindApp, account, app.ID, app.Name, &app, by)
}

// RenameAppV2 changes an app 2.x's name and labels (nil: unchanged) at
// revision rev (0: whatever is stored), moving its name reservation; what
// it selects and its state stay.
//
// With rev 0 the rename applies to whatever is stored: a concurrent write
// of the app's state (the collector's) makes it read again and retry.
func (s *Store) RenameAppV2(ctx context.Context, account, id, name string, labels []events.Label, rev uint64, by string) (*Entry[App], error) {
	for try := 0; ; try++ {
		old, err := s.Apps.Get(ctx, account, id)
		if err != nil {
			return nil, err
		}
		if !old.Value.Discovered() {
			return nil, fmt.Errorf("app %s: not an app 2.x: %w", id, ErrNotFound)
		}
		app := old.Value
		app.Name, app.Metadata.Labels = name, labels
		if err := CheckAppV2(&app); err != nil {
			return nil, err
		}
		at := rev
		if at == 0 {
			at = old.Revision
		}
		e, err := update(ctx, s, &s.Apps, KindApp, account, id, name, &app, at, by, func(a *App) string { return a.Name })
		if rev == 0 && errors.Is(err, ErrConflict) && try < 5 {
			continue
		}
		return e, err
	}
}

// AppStatus is what a collection of an app 2.x found.
type AppStatus struct {
	State        string
	StateDetails []events.StateDetail
	// Collected is when its containers were collected; zero keeps the
	// previous time (the collection failed).
	Collected time.Time
}

// SetAppStatus records status on the app 2.x stored at revision rev: a
// compare-and-set that fails with ErrConflict when the app changed since it
// was read (nothing is overwritten) and ErrNotFound when it is gone. Only
// the state fields change; metadata is left alone (a collection is not a
// modification by anyone).
func (s *Store) SetAppStatus(ctx context.Context, account, id string, rev uint64, status AppStatus) (*Entry[App], error) {
	old, err := s.Apps.Get(ctx, account, id)
	if err != nil {
		return nil, err
	}
	if old.Revision != rev {
		return nil, fmt.Errorf("app %s is at revision %d, not %d: %w", id, old.Revision, rev, ErrConflict)
	}
	if !old.Value.Discovered() {
		return nil, fmt.Errorf("app %s: a static app has no state: %w", id, ErrNotFound)
	}
	app := old.Value
	app.State, app.StateDetails = status.State, status.StateDetails
	if !status.Collected.IsZero() {
		app.LastResourceCollection = status.Collected.UTC()
	}
	newRev, err := s.Apps.Update(ctx, account, id, app, rev)
	if err != nil {
		return nil, err
	}
	return &Entry[App]{Account: account, ID: id, Value: app, Revision: newRev}, nil
}
