package cli

import (
	"context"
	"encoding/json"
	"net/http"
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
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		results := map[string]string{}
		status := http.StatusOK
		for _, c := range checks {
			if err := c.fn(ctx); err != nil {
				results[c.name] = err.Error()
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

func writeOps(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
