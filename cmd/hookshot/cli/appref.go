package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"time"

	"github.com/hookshot-dev/hookshot/client"
	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"
)

// appCollections are where apps live: static apps (Hookshot's own
// resource) and Astra apps 2.x, discovered from a cluster.
var appCollections = []string{"/hookshot/v1/apps", "/k8s/v2/apps"}

// resolveApp turns an app's name or id into its id, looking in both app
// collections, so every command that takes an app takes either. An app
// that does not exist is `app "payroll" not found`.
func resolveApp(ctx context.Context, c *client.Client, ref string) (string, error) {
	p, err := kinds["apps"].locate(ctx, c, "", ref)
	if errors.Is(err, errNoSuchResource) {
		return "", fmt.Errorf("app %q not found", ref)
	}
	if err != nil {
		return "", err
	}
	return path.Base(p), nil
}

// isNotFound reports whether err is the API's 404.
func isNotFound(err error) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// publishedApp is the id of the app a lifecycle event is published for,
// from its name or id, read from the store in NATS (events publish talks
// to NATS, not to the API). An app that is not registered can only be
// given by its id and with the containers the event carries: without them
// the engine would have nothing to match hooks against, and the stage
// would "succeed" with nothing run.
func publishedApp(ctx context.Context, st *store.Store, account, ref string, withContainers bool) (string, error) {
	id, err := storedApp(ctx, st, account, ref)
	switch {
	case err == nil:
		return id, nil
	case !errors.Is(err, errNoSuchResource):
		return "", err
	case !withContainers:
		return "", fmt.Errorf("app %q not found in account %s: the event would carry no containers, so no hook could run; register the app (hookshot apps create) or give its containers (--containers)", ref, account)
	case !matcher.ValidIdentifier(ref):
		return "", fmt.Errorf("app %q not found in account %s, and it is not an app id: an app that is not registered is given by its id (a lowercase UUID)", ref, account)
	}
	return ref, nil // an unregistered app, with the inventory the event carries
}

// storedApp finds an app of the account in the store by id or name.
func storedApp(ctx context.Context, st *store.Store, account, ref string) (string, error) {
	if events.ValidToken(ref) {
		_, err := st.Apps.Get(ctx, account, ref)
		if err == nil {
			return ref, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	// A list may miss an app that changes while it is read (KV keys are
	// listed through a consumer): look twice before saying there is none,
	// as locate does through the API.
	for try := 0; try < 2; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		apps, err := st.Apps.List(ctx, account)
		if err != nil {
			return "", err
		}
		var ids []string
		for _, a := range apps {
			if a.Value.Name == ref {
				ids = append(ids, a.ID)
			}
		}
		switch len(ids) {
		case 0:
		case 1:
			return ids[0], nil
		default:
			return "", fmt.Errorf("%d apps named %q: give the id", len(ids), ref)
		}
	}
	return "", fmt.Errorf("no app named %q: %w", ref, errNoSuchResource)
}
