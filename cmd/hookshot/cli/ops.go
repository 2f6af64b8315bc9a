package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// check is one readiness condition.
type check struct {
	name string
	fn   func(ctx context.Context) error
}

// opsHandler serves /healthz (the process answers), /readyz (every check
// passes: NATS connected, streams and buckets provisioned, consumers
// consuming), /metrics and /admin/loglevel (zap's: GET shows, PUT
// {"level":"debug"} sets). admin guards /admin/loglevel; nil lets anyone.
func opsHandler(checks []check, metrics http.Handler, level zap.AtomicLevel, admin func(*http.Request) bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeOps(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		errs := runChecks(r.Context(), checks, checkTimeout)
		results := map[string]string{}
		status := http.StatusOK
		for i, c := range checks {
			if errs[i] != nil {
				results[c.name] = errs[i].Error()
				status = http.StatusServiceUnavailable
				continue
			}
			results[c.name] = "ok"
		}
		state := "ready"
		if status != http.StatusOK {
			state = "not ready"
		}
		writeOps(w, status, map[string]any{"status": state, "checks": results})
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("/admin/loglevel", func(w http.ResponseWriter, r *http.Request) {
		if admin != nil && !admin(r) {
			writeOps(w, http.StatusForbidden, map[string]any{"error": "an admin bearer token is required"})
			return
		}
		level.ServeHTTP(w, r)
	})
	return mux
}

// checkTimeout bounds each readiness check.
const checkTimeout = 2 * time.Second

// runChecks runs the checks side by side, each with its own context
// bounded by timeout (every check honours it), and returns their errors in
// order.
func runChecks(ctx context.Context, checks []check, timeout time.Duration) []error {
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			errs[i] = c.fn(ctx)
			if errs[i] != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				errs[i] = fmt.Errorf("no answer within %s: %w", timeout, errs[i])
			}
		}()
	}
	wg.Wait()
	return errs
}

func writeOps(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
