package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"

	"github.com/hookshot-dev/hookshot/client"
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
