package api

import (
	"testing"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Every named problem is in the catalogue with the status its name says
// (problem falls back to 34 for a number the catalogue lacks).
func TestNamedProblemsAreInTheCatalogue(t *testing.T) {
	for n, status := range map[astra.Problem]int{
		astra.ResourceNotFound: 404, astra.CollectionNotFound: 404, astra.MissingToken: 401, astra.InvalidToken: 401,
		astra.InvalidQuery: 400, astra.QueryNotSupported: 400, astra.InvalidJSONPayload: 400, astra.InvalidJSONResource: 400,
		astra.InvalidField: 400, astra.Conflict: 409, astra.NotPermitted: 403, astra.InvalidHeaders: 400,
		astra.ServiceUnavailable: 503, astra.VersionNotAvailable: 404, astra.Internal: 500, astra.PreconditionNotMet: 412,
		astra.ServiceNotReady: 503, astra.MethodNotSupported: 405, astra.PreloadedSourceRO: 403, astra.SourceReferenced: 403,
		astra.NetAppHookRO: 403, astra.BodyTooLarge: 413, astra.ClusterNotFound: 400, astra.AppNotUpdated: 400,
		astra.BackupNameExists: 409, astra.UnexpectedState: 409, astra.SnapshotNameExists: 409,
	} {
		d, ok := catalogue[n]
		if !ok || d.status != status {
			t.Errorf("problem %d: in the catalogue %v with status %d, want %d", n, ok, d.status, status)
		}
	}
}
