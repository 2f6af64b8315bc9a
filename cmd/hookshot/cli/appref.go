package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/client"
)

// appCollections are where apps live: static apps (Hookshot's own
// resource) and Astra apps 2.x, discovered from a cluster.
var appCollections = []string{"/hookshot/v1/apps", "/k8s/v2/apps"}

// resolveApp turns an app's name or id into its id, looking in both app
// collections, so every command that takes an app takes either. An app
// that does not exist is `app "payroll" not found`.
func resolveApp(ctx context.Context, c *client.Client, ref string) (string, error) {
	cols := make([]string, len(appCollections))
	for i, col := range appCollections {
		cols[i] = c.AccountPath(col)
	}
	if uuidRE.MatchString(ref) {
		for _, col := range cols {
			_, err := c.Do(ctx, http.MethodGet, col+"/"+url.PathEscape(ref), nil, nil)
			if err == nil {
				return ref, nil
			}
			if !isNotFound(err) {
				return "", err
			}
		}
		return "", fmt.Errorf("app %q not found", ref)
	}
	q := "?filter=" + url.QueryEscape("name eq '"+strings.ReplaceAll(ref, "'", "''")+"'")
	var found []string
	// As in locate: a list may miss an app that changes while it is read.
	for try := 0; try < 2 && len(found) == 0; try++ {
		if try > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		f, err := kinds["apps"].findByName(ctx, c, cols, q)
		if err != nil {
			return "", err
		}
		found = f
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("app %q not found", ref)
	case 1:
		return path.Base(found[0]), nil
	default:
		ids := make([]string, len(found))
		for i, f := range found {
			ids[i] = path.Base(f)
		}
		return "", fmt.Errorf("%d apps named %q: give the id (%s)", len(found), ref, strings.Join(ids, ", "))
	}
}

// isNotFound reports whether err is the API's 404.
func isNotFound(err error) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}
