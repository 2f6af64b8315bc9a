// Package query implements the list query of the Astra Control API: the
// include, limit, filter and continue parameters of a collection GET, and
// the count and continue of its metadata.
//
// A handler parses the query, applies it to the collection's resources as
// JSON objects in ascending id order, and answers with the page:
//
//	p, err := query.Parse(r.URL.Query())
//	if err != nil { ... } // an *Error: problem 5 or 6 with invalidParams
//	items, err := query.Fields(hookSources) // typed resources, sorted by ID
//	page, err := query.Apply(items, p)
//	// {"items": page.Items, "metadata": {"count": page.Count, "continue": page.Continue}}
//
// # Parameters
//
// Only include, limit, filter and continue are accepted (names are case
// sensitive); any other name makes Parse fail with problem 6, naming it.
// include, limit and continue may each be given once. Every bad parameter
// is named, not only the first; when a name is unsupported the error is
// problem 6 and still lists the bad values of supported parameters after
// the unsupported names.
//
//   - include=id,name: top-level field names (^([0-9a-zA-Z]+)(,[0-9a-zA-Z]+)*$).
//     Each item becomes the array of those fields' values, in that order.
//     A name the resource does not have is allowed and gives null, as a
//     collection may hold resources of several versions.
//   - limit=2: ^([1-9][0-9]*)$. A limit above MaxLimit (10000) is lowered
//     to it rather than refused: the page carries a continue token anyway.
//   - filter=name eq 'Payroll script': see below. Several filter
//     parameters, and several comma-separated filters in one parameter,
//     are ANDed; at most MaxFilters in all.
//   - continue=<token>: metadata.continue of the previous page. An empty
//     continue is the same as none. A space in the token is read as '+'
//     (a client that did not percent-encode '+').
//
// # Filters
//
// A filter is path op 'value', the separators a space ("%20" is also
// accepted, as the schema's pattern says, for a query encoded twice).
//
// The path is field names joined by dots (metadata.creationTimestamp); a
// name followed by [*] steps into every element of an array, and the
// filter matches when any element does (matchingCriteria[*].type eq
// 'podLabel').
//
// The value is anything between single quotes but a quote, which is
// written twice:
//
//	description eq 'it''s a {"quoted"}, @home: value'
//
// This follows the evident intent of the query_filter pattern rather than
// its letter: as written, its class [0-9a-zA-Z.,-_:@ {}\"] holds the range
// ',' to '_' (so ; < = > ? [ \ ] ^ too) and refuses !, #, %, &, +, ~ and any
// non-ASCII letter, and its (,(\1))* would only allow repeating the first
// filter verbatim. An empty value is refused, as the pattern requires one
// character.
//
// The operators are eq, lt, gt, lte, gte, and in, whose value is a
// comma-separated list of alternatives ('script,binary'), matched as eq;
// alternatives are not trimmed.
//
// Two values compare as numbers when both are numbers in JSON syntax (a
// string field "10" is greater than '9', "1.0" equals '1'; "007" is not a
// number); else as instants when
// both are RFC 3339 timestamps (so 12:24:52.25Z sorts before
// 12:24:52.256624Z, as text would not, and time zones are honoured); else
// as text, bytewise. A JSON boolean is the text true or false. A missing
// field, a null, an object and an array (without [*]) never match, with any
// operator. Operators and field names are case sensitive.
//
// # Paging
//
// Page.Count is the number of items that match the filters over all pages,
// independent of limit and continue. The continue token is padded standard
// base64 (type_base64_data) of the id of the last item returned and a
// fingerprint of the filters and include; a token used with other filters
// or another include is refused (problem 5, naming continue), a different
// limit is allowed. The next page starts at the first matching item whose
// id is greater than the token's, so a walk returns each item that exists
// throughout exactly once, in id order, even when items are inserted or
// deleted between pages, the last returned one included. The last page has
// no token. Apply therefore needs every item to have a string "id" and the
// items in strictly ascending id order; otherwise it fails with
// ErrMissingID or ErrUnsorted, a bug of the handler rather than of the
// request. The token is not bound to a collection, nor signed: a forged or
// borrowed token can only choose the id a listing resumes after.
package query
