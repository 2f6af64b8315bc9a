package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Invalid names one invalid body field or query parameter (Astra's
// invalidFields and invalidParams items).
type Invalid struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Problem is an Astra problem document (application/problem+json).
type Problem struct {
	Type                    string    `json:"type"`
	Title                   string    `json:"title"`
	Detail                  string    `json:"detail"`
	Status                  string    `json:"status"`
	CorrelationID           string    `json:"correlationID,omitempty"`
	SchemaValidationFailure string    `json:"schemaValidationFailure,omitempty"`
	InvalidFields           []Invalid `json:"invalidFields,omitempty"`
	InvalidParams           []Invalid `json:"invalidParams,omitempty"`

	number astra.Problem
	status int
	// retryAfter, when positive, is sent as the Retry-After header (seconds).
	retryAfter int
}

// problemDef is one row of Astra's problem catalogue.
type problemDef struct {
	status        int
	title, detail string
}

// catalogueTSV is Astra's problem catalogue, verbatim from the reference
// (n, http_status, title, detail, extra_field).
//
//go:embed astra-problems.tsv
var catalogueTSV string

// catalogue is catalogueTSV by problem number.
var catalogue = parseCatalogue(catalogueTSV)

func parseCatalogue(tsv string) map[astra.Problem]problemDef {
	out := map[astra.Problem]problemDef{}
	for _, line := range strings.Split(tsv, "\n")[1:] {
		cols := strings.Split(line, "\t")
		if len(cols) < 4 {
			continue
		}
		n, err1 := strconv.Atoi(cols[0])
		status, err2 := strconv.Atoi(cols[1])
		if err1 != nil || err2 != nil {
			panic("astra-problems.tsv: bad row " + line)
		}
		out[astra.Problem(n)] = problemDef{status, cols[2], cols[3]}
	}
	return out
}

// problem returns a new problem document of catalogue number n.
func problem(n astra.Problem) *Problem {
	d, ok := catalogue[n]
	if !ok {
		d, n = catalogue[34], 34
	}
	return &Problem{
		Type:   "https://astra.netapp.io/problems/" + strconv.Itoa(int(n)),
		Title:  d.title,
		Detail: d.detail,
		Status: strconv.Itoa(d.status),
		number: n,
		status: d.status,
	}
}

// fields adds invalid fields.
func (p *Problem) fields(f ...Invalid) *Problem {
	p.InvalidFields = append(p.InvalidFields, f...)
	return p
}

// params adds invalid parameters.
func (p *Problem) params(f ...Invalid) *Problem {
	p.InvalidParams = append(p.InvalidParams, f...)
	return p
}

func (p *Problem) Error() string { return p.Type + ": " + p.Title }

// write sends the problem with the request's correlation ID.
func (p *Problem) write(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	if rc != nil {
		p.CorrelationID = rc.correlationID
		rc.problem = p
	}
	w.Header().Set("Content-Type", "application/problem+json")
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	w.WriteHeader(p.status)
	_ = json.NewEncoder(w).Encode(p)
}
