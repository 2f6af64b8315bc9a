package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ListOptions are Astra's list queries. The zero value lists everything.
type ListOptions struct {
	// Filter is Astra's filter expression, e.g. `name eq 'quiesce'`.
	Filter string
	// Limit caps the items of one page (0: the server's default). Lists
	// follow the server's continue tokens to the end unless Limit is set.
	Limit int
}

func (o ListOptions) query() string {
	q := url.Values{}
	if o.Filter != "" {
		q.Set("filter", o.Filter)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// list reads a collection: its items, following continue tokens to the
// end when no Limit is set.
func list[T any](ctx context.Context, c *Client, path string, o ListOptions) ([]T, error) {
	out := []T{}
	next := path + o.query()
	for {
		var page struct {
			Items    []T `json:"items"`
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
		}
		if _, err := c.Do(ctx, http.MethodGet, next, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if o.Limit > 0 || page.Metadata.Continue == "" {
			return out, nil
		}
		q := url.Values{"continue": {page.Metadata.Continue}}
		if o.Filter != "" {
			q.Set("filter", o.Filter)
		}
		next = path + "?" + q.Encode()
	}
}

func (c *Client) item(ctx context.Context, path string, out any) error {
	_, err := c.Do(ctx, http.MethodGet, path, nil, out)
	return err
}

// ---- execution hooks ----

func (c *Client) hooksPath() string { return c.AccountPath("/core/v1/executionHooks") }

// ListHooks lists the account's execution hooks.
func (c *Client) ListHooks(ctx context.Context, o ListOptions) ([]Hook, error) {
	return list[Hook](ctx, c, c.hooksPath(), o)
}

// GetHook reads one execution hook.
func (c *Client) GetHook(ctx context.Context, id string) (*Hook, error) {
	var h Hook
	return &h, c.item(ctx, c.hooksPath()+"/"+url.PathEscape(id), &h)
}

// hookWrite is what a create or update sends: the writable fields.
type hookWrite struct {
	Type             string      `json:"type"`
	Version          string      `json:"version"`
	ID               string      `json:"id,omitempty"`
	Name             string      `json:"name"`
	HookType         string      `json:"hookType"`
	Action           string      `json:"action"`
	Stage            string      `json:"stage"`
	HookSourceID     string      `json:"hookSourceID"`
	AppID            string      `json:"appID"`
	Arguments        []string    `json:"arguments"`
	MatchingCriteria []Criterion `json:"matchingCriteria"`
	Enabled          string      `json:"enabled,omitempty"`
	Description      string      `json:"description,omitempty"`
	TimeoutSeconds   int         `json:"timeoutSeconds,omitempty"`
	FailureMode      string      `json:"failureMode,omitempty"`
	Metadata         *Metadata   `json:"metadata,omitempty"`
}

func writeHook(h Hook, id string) hookWrite {
	w := hookWrite{Type: mediaHook, Version: versionHook, ID: id, Name: h.Name, HookType: h.HookType, Action: h.Action,
		Stage: h.Stage, HookSourceID: h.HookSourceID, AppID: h.AppID, Arguments: h.Arguments, MatchingCriteria: h.MatchingCriteria,
		Enabled: h.Enabled, Description: h.Description, TimeoutSeconds: h.TimeoutSeconds, FailureMode: h.FailureMode}
	if w.HookType == "" {
		w.HookType = "custom"
	}
	if w.Arguments == nil {
		w.Arguments = []string{}
	}
	if w.MatchingCriteria == nil {
		w.MatchingCriteria = []Criterion{}
	}
	if h.Metadata != nil && len(h.Metadata.Labels) > 0 {
		w.Metadata = &Metadata{Labels: h.Metadata.Labels}
	}
	return w
}

// CreateHook creates an execution hook from h's writable fields and
// returns it as stored.
func (c *Client) CreateHook(ctx context.Context, h Hook) (*Hook, error) {
	var out Hook
	_, err := c.Do(ctx, http.MethodPost, c.hooksPath(), writeHook(h, ""), &out)
	return &out, err
}

// UpdateHook replaces the writable fields of the hook h.ID with h's and
// returns the hook as stored.
func (c *Client) UpdateHook(ctx context.Context, h Hook) (*Hook, error) {
	path := c.hooksPath() + "/" + url.PathEscape(h.ID)
	if _, err := c.Do(ctx, http.MethodPut, path, writeHook(h, h.ID), nil); err != nil {
		return nil, err
	}
	return c.GetHook(ctx, h.ID)
}

// DeleteHook deletes an execution hook.
func (c *Client) DeleteHook(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, c.hooksPath()+"/"+url.PathEscape(id), nil, nil)
	return err
}

// ---- hook sources ----

func (c *Client) sourcesPath() string { return c.AccountPath("/core/v1/hookSources") }

// ListSources lists the account's hook sources.
func (c *Client) ListSources(ctx context.Context, o ListOptions) ([]Source, error) {
	return list[Source](ctx, c, c.sourcesPath(), o)
}

// GetSource reads one hook source, its script included.
func (c *Client) GetSource(ctx context.Context, id string) (*Source, error) {
	var s Source
	return &s, c.item(ctx, c.sourcesPath()+"/"+url.PathEscape(id), &s)
}

// CreateSource stores script as a hook source named name.
func (c *Client) CreateSource(ctx context.Context, name string, script []byte, description string) (*Source, error) {
	body := map[string]any{"type": mediaSource, "version": versionSource, "name": name, "sourceType": "script",
		"source": base64.StdEncoding.EncodeToString(script)}
	if description != "" {
		body["description"] = description
	}
	var out Source
	_, err := c.Do(ctx, http.MethodPost, c.sourcesPath(), body, &out)
	return &out, err
}

// Script is the source's script, decoded.
func (s *Source) Script() ([]byte, error) { return base64.StdEncoding.DecodeString(s.Source) }

// DeleteSource deletes a hook source; one that hooks use is refused.
func (c *Client) DeleteSource(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, c.sourcesPath()+"/"+url.PathEscape(id), nil, nil)
	return err
}

// ---- static apps ----

func (c *Client) appsPath() string { return c.AccountPath("/hookshot/v1/apps") }

// ListApps lists the account's static apps.
func (c *Client) ListApps(ctx context.Context, o ListOptions) ([]App, error) {
	return list[App](ctx, c, c.appsPath(), o)
}

// GetApp reads one static app.
func (c *Client) GetApp(ctx context.Context, id string) (*App, error) {
	var a App
	return &a, c.item(ctx, c.appsPath()+"/"+url.PathEscape(id), &a)
}

// CreateApp creates a static app from a's name and containers.
func (c *Client) CreateApp(ctx context.Context, a App) (*App, error) {
	containers := a.Containers
	if containers == nil {
		containers = []Container{}
	}
	body := map[string]any{"type": mediaApp, "version": versionApp, "name": a.Name, "containers": containers}
	var out App
	_, err := c.Do(ctx, http.MethodPost, c.appsPath(), body, &out)
	return &out, err
}

// DeleteApp deletes a static app.
func (c *Client) DeleteApp(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, c.appsPath()+"/"+url.PathEscape(id), nil, nil)
	return err
}

// ---- lifecycle actions ----

// ActionKind is a kind of lifecycle action.
type ActionKind string

// The lifecycle actions, each taken through its hooks' stages.
const (
	Snapshot ActionKind = "snapshot" // snapshot/pre, the snapshot, snapshot/post
	Backup   ActionKind = "backup"   // backup/pre, the backup, backup/post
	Restore  ActionKind = "restore"  // the restore, restore/post
	Failover ActionKind = "failover" // the failover, failover/post
)

// actionKinds maps a kind to its collection, media type and version.
var actionKinds = map[ActionKind]struct{ collection, media, version string }{
	Snapshot: {"appSnaps", "application/astra-appSnap", "1.3"},
	Backup:   {"appBackups", "application/astra-appBackup", "1.2"},
	Restore:  {"appRestores", "application/hookshot-appRestore", "1.0"},
	Failover: {"appFailovers", "application/hookshot-appFailover", "1.0"},
}

func (c *Client) actionsPath(kind ActionKind, appID string) (string, error) {
	k, ok := actionKinds[kind]
	if !ok {
		return "", fmt.Errorf("action kind %q: must be snapshot, backup, restore or failover", kind)
	}
	return c.AccountPath("/k8s/v1/apps/" + url.PathEscape(appID) + "/" + k.collection), nil
}

// CreateAction starts an action of kind on the app: its pre hooks, the
// action, its post hooks. a carries the optional Name (default: the
// server's), BucketID and SnapshotID. It returns at once; WaitAction
// follows it to the end.
func (c *Client) CreateAction(ctx context.Context, kind ActionKind, appID string, a Action) (*Action, error) {
	path, err := c.actionsPath(kind, appID)
	if err != nil {
		return nil, err
	}
	k := actionKinds[kind]
	body := map[string]any{"type": k.media, "version": k.version}
	if a.Name != "" {
		body["name"] = a.Name
	}
	if a.BucketID != "" {
		body["bucketID"] = a.BucketID
	}
	if a.SnapshotID != "" {
		body["snapshotID"] = a.SnapshotID
	}
	var out Action
	_, err = c.Do(ctx, http.MethodPost, path, body, &out)
	return &out, err
}

// GetAction reads one action.
func (c *Client) GetAction(ctx context.Context, kind ActionKind, appID, id string) (*Action, error) {
	path, err := c.actionsPath(kind, appID)
	if err != nil {
		return nil, err
	}
	var out Action
	return &out, c.item(ctx, path+"/"+url.PathEscape(id), &out)
}

// ListActions lists the app's actions of kind.
func (c *Client) ListActions(ctx context.Context, kind ActionKind, appID string, o ListOptions) ([]Action, error) {
	path, err := c.actionsPath(kind, appID)
	if err != nil {
		return nil, err
	}
	return list[Action](ctx, c, path, o)
}

// WaitAction reads the action every poll (default 200ms) until it is
// completed or failed, or ctx ends. A 503 or 429 on the way is waited out.
func (c *Client) WaitAction(ctx context.Context, kind ActionKind, appID, id string, poll time.Duration) (*Action, error) {
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		a, err := c.GetAction(ctx, kind, appID, id)
		if err == nil && a.Done() {
			return a, nil
		}
		if err != nil && !IsUnavailable(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %s %s: %w", kind, id, ctx.Err())
		case <-t.C:
		}
	}
}

// ---- runs and explain ----

// GetRun reads a run: every stage planned so far, each execution's state
// and outcome. Before its first stage is planned a run is not found.
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) {
	var r Run
	return &r, c.item(ctx, c.AccountPath("/hookshot/v1/runs/"+url.PathEscape(runID)), &r)
}

// ListRuns lists the account's runs, every page.
func (c *Client) ListRuns(ctx context.Context) ([]RunSummary, error) {
	return list[RunSummary](ctx, c, c.AccountPath("/hookshot/v1/runs"), ListOptions{})
}

// Explain says which hooks of the app would run for action and stage, in
// which containers, and why the others would not. Nothing runs.
func (c *Client) Explain(ctx context.Context, appID string, action ActionKind, stage string) (*Explanation, error) {
	q := url.Values{"action": {string(action)}, "stage": {stage}}
	var e Explanation
	return &e, c.item(ctx, c.AccountPath("/k8s/v1/apps/"+url.PathEscape(appID)+"/explain?"+q.Encode()), &e)
}
