package api

import (
	_ "embed"
	"net/http"
	"slices"
	"strconv"
)

// openapiJSON is the OpenAPI 3.0 document of the API. Keep it in step with
// register: openapi_test.go fails when a route or method is missing from it,
// or when it lists one the server does not answer.
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns the OpenAPI 3.0 document of the API (a copy).
func OpenAPI() []byte { return slices.Clone(openapiJSON) }

// openapi serves the document: GET /openapi.json, no token needed.
func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) *Problem {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(openapiJSON)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openapiJSON)
	return nil
}
