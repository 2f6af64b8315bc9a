// Package fault holds Hookshot's fault suite: tests (TestFault…) that run a
// 3-node NATS JetStream cluster, a Hookshot server and worker daemons as
// containers, inject faults (SIGKILL, leader loss, network partition,
// rolling restart, full storage, late meta leader) during bursts of runs,
// and assert the delivery invariants: no stage lost, no result duplicated,
// every stage answered.
//
// The package itself is the figures each scenario records and their
// rendering into docs/reliability.md (see fault/report).
package fault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// EnvReport names a file the tests append their figures to (JSON lines).
const EnvReport = "HOOKSHOT_FAULT_REPORT"

// EnvProfile selects the profile: "short" (default, CI) or "long".
const EnvProfile = "HOOKSHOT_FAULT_PROFILE"

// Figures are what one scenario measured.
type Figures struct {
	Scenario string `json:"scenario"`
	Profile  string `json:"profile"`
	// Fault says what was done, e.g. "20 × SIGKILL of a worker".
	Fault string `json:"fault"`
	// Runs and Stages published (every stage of every run is expected to
	// be answered).
	Runs   int `json:"runs"`
	Stages int `json:"stages"`
	// StagesAnswered have a stage result; Lost = Stages − StagesAnswered.
	StagesAnswered int `json:"stagesAnswered"`
	Lost           int `json:"lost"`
	// Executions are hook processes that really ran (lines the hooks wrote);
	// DuplicatedExecutions of them re-ran an execution that had already
	// started (allowed: at-least-once).
	Executions           int `json:"executions"`
	DuplicatedExecutions int `json:"duplicatedExecutions"`
	// DuplicatedResults are execution or stage results published more than
	// once (not allowed). Replays are stage results marked "replayed".
	DuplicatedResults int `json:"duplicatedResults"`
	Replays           int `json:"replays"`
	// FailedStages answered hookState failed although every hook exits 0.
	FailedStages int `json:"failedStages"`
	// RecoverySeconds: from the end of the last fault until every stage was
	// answered.
	RecoverySeconds float64 `json:"recoverySeconds"`
	// DurationSeconds of the scenario's load, first publish to last answer.
	DurationSeconds float64 `json:"durationSeconds"`
	// Extra figures of one scenario (e.g. RSS growth of the soak).
	Extra map[string]string `json:"extra,omitempty"`
	When  time.Time         `json:"when"`
	// Load is /proc/loadavg when the scenario ended; CPUs the machine's.
	Load string `json:"load"`
	CPUs int    `json:"cpus"`
}

// Stamp sets f's time and the machine's load.
func (f *Figures) Stamp() {
	f.When = time.Now().UTC()
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		f.Load = strings.TrimSpace(string(raw))
	}
	f.CPUs = runtime.NumCPU()
}

// Record appends f as one JSON line to the file named by HOOKSHOT_FAULT_REPORT,
// if set.
func Record(f Figures) error {
	path := os.Getenv(EnvReport)
	if path == "" {
		return nil
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return err
	}
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = fh.Write(append(raw, '\n'))
	return errors.Join(err, fh.Close())
}

// Load reads a report file written by Record. A scenario recorded twice
// keeps its last figures.
func Load(path string) ([]Figures, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Figures
	index := map[string]int{}
	for n, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var f Figures
		if err := json.Unmarshal(line, &f); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n+1, err)
		}
		key := f.Profile + "/" + f.Scenario
		if i, ok := index[key]; ok {
			out[i] = f
			continue
		}
		index[key] = len(out)
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b Figures) int { return rank(a.Scenario) - rank(b.Scenario) })
	return out, nil
}

// Scenarios is the order of the scenarios in the table: the suite's
// priority order.
var Scenarios = []string{"worker-sigkill", "leaders-killed", "server-killed-pre-post", "worker-partitioned",
	"rolling-restart", "storage-full", "late-meta-leader", "soak"}

func rank(scenario string) int {
	if i := slices.Index(Scenarios, scenario); i >= 0 {
		return i
	}
	return len(Scenarios)
}

// Markers delimit the generated part of docs/reliability.md.
const (
	BeginMarker = "<!-- fault-figures:begin -->"
	EndMarker   = "<!-- fault-figures:end -->"
)

// Table renders figures as a Markdown table, in the order given.
func Table(figs []Figures) string {
	var b strings.Builder
	b.WriteString("| scenario | profile | fault | runs | stages answered | lost | executions | duplicated executions | duplicated results | replays | failed stages | recovery s | duration s | load (1, 5, 15 min) |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, f := range figs {
		fault := f.Fault
		if len(f.Extra) > 0 {
			var keys []string
			for k := range f.Extra {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fault += "; " + k + " " + f.Extra[k]
			}
		}
		load := strings.Join(strings.Fields(f.Load)[:min(3, len(strings.Fields(f.Load)))], ", ")
		if f.CPUs > 0 {
			load += fmt.Sprintf(" on %d CPUs", f.CPUs)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d/%d | %d | %d | %d | %d | %d | %d | %.1f | %.1f | %s |\n",
			f.Scenario, f.Profile, strings.ReplaceAll(fault, "|", "\\|"), f.Runs, f.StagesAnswered, f.Stages, f.Lost,
			f.Executions, f.DuplicatedExecutions, f.DuplicatedResults, f.Replays, f.FailedStages,
			f.RecoverySeconds, f.DurationSeconds, load)
	}
	return b.String()
}

// Splice replaces what lies between BeginMarker and EndMarker in doc with
// generated, leaving everything outside the markers as it was.
func Splice(doc, generated string) (string, error) {
	begin := strings.Index(doc, BeginMarker)
	end := strings.Index(doc, EndMarker)
	if begin < 0 || end < 0 || end < begin {
		return "", fmt.Errorf("markers %s … %s not found (in that order)", BeginMarker, EndMarker)
	}
	if strings.Count(doc, BeginMarker) != 1 || strings.Count(doc, EndMarker) != 1 {
		return "", errors.New("each marker must appear exactly once")
	}
	head := doc[:begin+len(BeginMarker)]
	return head + "\n" + strings.TrimSpace(generated) + "\n" + doc[end:], nil
}
