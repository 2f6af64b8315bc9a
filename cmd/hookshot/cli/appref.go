package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookshot-dev/hookshot/cmd/hookshot/client"
)

// appCollections are where apps live: static apps (Hookshot's own
// resource) and Astra apps 2.x, discovered from a cluster.
var appCollections = []string{"/hookshot/v1/apps", "/k8s/v2/apps"}

// resolveApp turns an app's name or id into its id, looking in both app
// collections, so every command that takes an app takes either. An app
// that does not exist is `app "payroll" not found`.
func resolveApp(ctx context.Context, c *client.Client, ref string) (string, error) {
	var ids []string
	for _, coll := range appCollections {
		if uuidRE.MatchString(ref) {
			_, err := c.Do(ctx, http.MethodGet, c.AccountPath(coll+"/"+url.PathEscape(ref)), nil, nil)
			if err == nil {
				return ref, nil
			}
			if !isNotFound(err) {
				return "", err
			}
			continue
		}
		var list struct{ Items []map[string]any }
		q := "?filter=" + url.QueryEscape("name eq '"+strings.ReplaceAll(ref, "'", "''")+"'")
		if _, err := c.Do(ctx, http.MethodGet, c.AccountPath(coll)+q, nil, &list); err != nil {
			if isNotFound(err) {
				continue // a server without this collection
			}
			return "", err
		}
		for _, it := range list.Items {
			ids = append(ids, str(it["id"]))
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("app %q not found", ref)
	case 1:
		return ids[0], nil
	default:
		return "", fmt.Errorf("%d apps named %q: give the id (%s)", len(ids), ref, strings.Join(ids, ", "))
	}
}

// isNotFound reports whether err is the API's 404.
func isNotFound(err error) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}
