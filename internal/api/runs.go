package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/hookshot-dev/hookshot/internal/engine"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Runs reads the run state the engine records (engine.Engine): what ran,
// where, with which outcome and output.
type Runs interface {
	Run(ctx context.Context, account, runID string) (*engine.RunView, error)
	Runs(ctx context.Context, account string, limit int) ([]engine.RunSummary, error)
}

var _ Runs = (*engine.Engine)(nil)

// Media types of Hookshot's run resources (Astra has none).
const (
	runMediaType = "application/hookshot-run"
	runListType  = "application/hookshot-runs"
	runVersion   = "1.0"
)

func (s *Server) runsOrUnavailable() (Runs, *Problem) {
	if s.cfg.Runs == nil {
		return nil, problem(astra.ServiceNotReady)
	}
	return s.cfg.Runs, nil
}

// listRuns answers GET …/hookshot/v1/runs: the account's run summaries,
// sorted by id (the run ID) as every list is, with the list queries.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) *Problem {
	runs, p := s.runsOrUnavailable()
	if p != nil {
		return p
	}
	list, err := runs.Runs(r.Context(), r.PathValue("account_id"), 0)
	if err != nil {
		return s.errProblem(r, err, false)
	}
	slices.SortFunc(list, func(a, b engine.RunSummary) int { return strings.Compare(a.RunID, b.RunID) })
	items := make([]map[string]any, 0, len(list))
	for _, sum := range list {
		m := toMap(sum)
		m["type"], m["version"], m["id"] = runMediaType, runVersion, sum.RunID
		items = append(items, m)
	}
	return s.writeList(w, r, runListType, runVersion, items)
}

// getRun answers GET …/hookshot/v1/runs/{run_id}: the run's stages and
// executions, with their captured output.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request) *Problem {
	runs, p := s.runsOrUnavailable()
	if p != nil {
		return p
	}
	v, err := runs.Run(r.Context(), r.PathValue("account_id"), r.PathValue("run_id"))
	if err != nil {
		return s.errProblem(r, err, true)
	}
	m := toMap(v)
	m["type"], m["version"], m["id"] = runMediaType, runVersion, v.RunID
	writeJSON(w, http.StatusOK, runMediaType, m)
	return nil
}
