// Package astra names the numbers of the NetApp Astra problem catalogue
// that Hookshot answers with (https://astra.netapp.io/problems/N), so the
// server and the Go client say them the same way. The titles, details and
// statuses come from the catalogue itself (internal/api/astra-problems.tsv).
package astra

// Problem is a number of Astra's problem catalogue.
type Problem int

// The problems Hookshot answers with.
const (
	ResourceNotFound    Problem = 1   // 404: no resource has the id (in this account)
	CollectionNotFound  Problem = 2   // 404: no such collection
	MissingToken        Problem = 3   // 401
	InvalidToken        Problem = 4   // 401
	InvalidQuery        Problem = 5   // 400: a query parameter is invalid (invalidParams)
	QueryNotSupported   Problem = 6   // 400
	InvalidJSONPayload  Problem = 7   // 400: the body is not JSON
	InvalidJSONResource Problem = 8   // 400: the body does not conform to the schema (invalidFields)
	InvalidField        Problem = 9   // 400: a field's value is refused (invalidFields)
	Conflict            Problem = 10  // 409: a field conflicts, as a name another resource has
	NotPermitted        Problem = 11  // 403: the token's role does not allow it
	InvalidHeaders      Problem = 12  // 400, and Hookshot's 415 for a Content-Type that is not JSON
	ServiceUnavailable  Problem = 24  // 503: the storage cannot be reached; retry after Retry-After
	VersionNotAvailable Problem = 30  // 404: the resource has no such version
	Internal            Problem = 34  // 500: the server failed; its log has the correlation ID
	PreconditionNotMet  Problem = 38  // 412: If-Match does not match the stored revision
	ServiceNotReady     Problem = 41  // 503
	MethodNotSupported  Problem = 69  // 405
	PreloadedSourceRO   Problem = 71  // 403: preloaded hook sources are read only
	SourceReferenced    Problem = 72  // 403: a hook source an execution hook uses
	NetAppHookRO        Problem = 73  // 403: NetApp execution hooks are read only
	BodyTooLarge        Problem = 85  // 413
	ClusterNotFound     Problem = 106 // 400
	AppNotUpdated       Problem = 137 // 400
	BackupNameExists    Problem = 143 // 409
	UnexpectedState     Problem = 164 // 409: the resource is not in a state that allows it
	SnapshotNameExists  Problem = 176 // 409
)
