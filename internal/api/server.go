package api

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/cluster"
	"github.com/hookshot-dev/hookshot/internal/driver"
	"github.com/hookshot-dev/hookshot/internal/engine"
	"github.com/hookshot-dev/hookshot/internal/metrics"
	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"

	"github.com/hookshot-dev/hookshot/internal/astra"
)

// Config of a Server.
type Config struct {
	// Store holds the resources. Required.
	Store *store.Store
	// Tokens authenticates requests. Required.
	Tokens *Tokens
	// CertPrincipal maps a verified client certificate (mTLS) to a
	// principal, an alternative to bearer tokens; nil disables it.
	CertPrincipal func(*x509.Certificate) (Principal, bool)
	// Matcher computes matchingContainers and matchingImages. Defaults to a
	// fresh index with default settings.
	Matcher *matcher.Index
	// Actions runs appSnaps, appBackups, restores and failovers. Without it
	// those routes answer 503.
	Actions Actions
	// Runs reads the run state the engine records, for
	// /accounts/{account_id}/hookshot/v1/runs. Without it those routes
	// answer 503.
	Runs Runs
	// SyncIndex, when set, brings Matcher up to date with the stored hooks
	// before explain reads it (engine.Engine.SyncIndex).
	SyncIndex func(context.Context) error
	// Clusters are the configured clusters: an app 2.x names one, explain
	// and matchingContainers discover its containers through it, and
	// topology/v1/clusters lists them. Defaults to a registry of the static
	// cluster "local" alone.
	Clusters Clusters
	// AppCreated, when set, is called after an app 2.x is created, e.g.
	// cluster.Collector.Trigger, so its state leaves discovering without
	// waiting for the next collection.
	AppCreated func(account, id string)
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
	// Metrics records requests by route, method and status; nil records nothing.
	Metrics *metrics.Metrics
	// MaxBodyBytes bounds request bodies. Defaults to 1 MiB (a hook source
	// is at most 128 KiB of base64).
	MaxBodyBytes int64
	// RFSRate is how many RFS requests per second one token may make, with
	// bursts of twice that. Defaults to 10.
	RFSRate float64
}

func (c Config) withDefaults() Config {
	c.Logger = cmp.Or(c.Logger, zap.NewNop())
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, 1<<20)
	c.RFSRate = cmp.Or(c.RFSRate, 10)
	if c.Matcher == nil {
		c.Matcher = matcher.NewIndex(matcher.Config{})
	}
	if c.Clusters == nil {
		reg, err := cluster.NewRegistry(cluster.RegistryConfig{Logger: c.Logger})
		if err != nil {
			panic(err) // the static cluster alone always builds
		}
		c.Clusters = reg
	}
	return c
}

// Server is the HTTP API.
type Server struct {
	cfg    Config
	log    *zap.Logger
	store  *store.Store
	mux    *http.ServeMux
	routes []Route
	rfs    *rateLimiter
	// started is the creation time of what the configuration makes (clusters, the cloud).
	started time.Time
	// bodies are the request-body schemas of openapi.json.
	bodies *bodySchemas
}

// Route is one path of the API and the methods it answers.
type Route struct {
	Pattern string
	Methods []string
	// Scope is "account" (account_id in the path, token of that account),
	// "rfs" (the handler authenticates, answering RFS errors) or "public".
	Scope string
	// Item is true for a single resource (404/1 when absent), false for a
	// collection (404/2).
	Item bool
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.Store == nil || cfg.Tokens == nil {
		return nil, errors.New("api: Store and Tokens are required")
	}
	bodies, err := loadBodySchemas()
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, store: cfg.Store, mux: http.NewServeMux(), rfs: newRateLimiter(cfg.RFSRate), started: time.Now(), bodies: bodies}
	s.register()
	// Every method that reads a body validates it against the document.
	for _, rt := range s.routes {
		for _, m := range rt.Methods {
			if (m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch) && bodies.ops[m+" "+openAPIPathOf(rt.Pattern)] == nil {
				return nil, fmt.Errorf("api: openapi.json has no request body schema for %s %s", m, rt.Pattern)
			}
		}
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { problem(astra.ResourceNotFound).write(w, r) })
	return s, nil
}

// Routes lists every route the server answers, for the OpenAPI check.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

type handlerFunc func(w http.ResponseWriter, r *http.Request) *Problem

// handle registers pattern with one handler per method; other methods get
// 405/69 with an Allow header.
func (s *Server) handle(pattern, scope string, item bool, methods map[string]handlerFunc) {
	names := make([]string, 0, len(methods))
	for m := range methods {
		names = append(names, m)
	}
	slices.Sort(names)
	s.routes = append(s.routes, Route{Pattern: pattern, Methods: names, Scope: scope, Item: item})
	allow := strings.Join(names, ", ")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		h, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = methods[http.MethodGet] // net/http drops the body
		}
		if !ok {
			w.Header().Set("Allow", allow)
			if scope == "rfs" {
				rfsErr(http.StatusMethodNotAllowed, "HOOKSHOT.405", "method not supported; allowed: "+allow).write(w, r)
				return
			}
			problem(astra.MethodNotSupported).write(w, r)
			return
		}
		if scope == "account" {
			if p := s.authenticate(r, scope, item); p != nil {
				p.write(w, r)
				return
			}
		}
		if p := h(w, r); p != nil {
			p.write(w, r)
		}
	})
}

// requestCtx is what the middleware knows about a request.
type requestCtx struct {
	correlationID string
	principal     Principal
	problem       *Problem
}

type ctxKey struct{}

func reqCtx(r *http.Request) *requestCtx {
	rc, _ := r.Context().Value(ctxKey{}).(*requestCtx)
	return rc
}

func principalOf(r *http.Request) Principal { return reqCtx(r).principal }

// statusWriter remembers the status code for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// ServeHTTP adds a correlation ID, recovers panics and logs every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := &requestCtx{correlationID: uuid.NewString()}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, rc))
	sw := &statusWriter{ResponseWriter: w}
	sw.Header().Set("X-Correlation-ID", rc.correlationID)
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in handler", zap.Any("panic", v), zap.String("correlation_id", rc.correlationID), zap.Stack("stack"))
			if sw.status == 0 {
				problem(astra.Internal).write(sw, r)
			}
		}
		fields := []zap.Field{
			zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Int("status", cmp.Or(sw.status, 200)),
			zap.Duration("duration", time.Since(start)), zap.String("correlation_id", rc.correlationID),
		}
		if rc.principal.Account != "" {
			fields = append(fields, zap.String("account", rc.principal.Account), zap.String("token", rc.principal.Name))
		}
		if rc.problem != nil {
			fields = append(fields, zap.String("problem", rc.problem.Type))
			if len(rc.problem.InvalidFields) > 0 {
				fields = append(fields, zap.Any("invalid_fields", rc.problem.InvalidFields))
			}
		}
		s.log.Info("request", fields...)
		s.cfg.Metrics.APIRequest(r.Pattern, r.Method, cmp.Or(sw.status, 200), time.Since(start))
	}()
	s.mux.ServeHTTP(sw, r)
}

// authenticate checks the bearer token and, for account routes, that the
// token belongs to the account in the path: another account's resources
// answer 404 exactly as if they did not exist.
func (s *Server) authenticate(r *http.Request, scope string, item bool) *Problem {
	if p, ok := s.certPrincipal(r); ok {
		return s.authorize(r, p, scope, item)
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if auth == "" || (ok && strings.TrimSpace(token) == "") {
		return problem(astra.MissingToken)
	}
	if !ok {
		return problem(astra.InvalidToken)
	}
	p, found := s.cfg.Tokens.Lookup(r.Context(), strings.TrimSpace(token))
	if !found {
		return problem(astra.InvalidToken)
	}
	return s.authorize(r, p, scope, item)
}

// certPrincipal is the principal of a verified client certificate, when the
// request has no bearer token and mTLS is configured.
func (s *Server) certPrincipal(r *http.Request) (Principal, bool) {
	if s.cfg.CertPrincipal == nil || r.Header.Get("Authorization") != "" || r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return Principal{}, false
	}
	return s.cfg.CertPrincipal(r.TLS.VerifiedChains[0][0])
}

// authorize checks what p may do on this route.
func (s *Server) authorize(r *http.Request, p Principal, scope string, item bool) *Problem {
	reqCtx(r).principal = p
	if scope == "account" && r.PathValue("account_id") != p.Account {
		if item {
			return problem(astra.ResourceNotFound)
		}
		return problem(astra.CollectionNotFound)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && p.Role < RoleMember {
		return problem(astra.NotPermitted)
	}
	return nil
}

// writeJSON sends v with status and the resource's media type.
func writeJSON(w http.ResponseWriter, status int, mediaType string, v any) {
	w.Header().Set("Content-Type", "application/json")
	if mediaType != "" {
		w.Header().Set("Content-Type", mediaType+"+json")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// etag is the entity tag of a stored revision.
func etag(rev uint64) string { return `"` + strconv.FormatUint(rev, 10) + `"` }

// ifMatch returns the revision a write must find (0: any), or 412/38 when
// the If-Match header names none the resource has.
func ifMatch(r *http.Request, current uint64) (uint64, *Problem) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return current, nil
	}
	for _, tag := range strings.Split(h, ",") {
		if strings.TrimPrefix(strings.TrimSpace(tag), "W/") == etag(current) {
			return current, nil
		}
	}
	return 0, problem(astra.PreconditionNotMet)
}

// storeProblem maps an error of the store, the driver or the run state to
// its problem by kind; nil for errors of no known kind.
func storeProblem(err error, item bool) *Problem {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalidKey),
		errors.Is(err, driver.ErrNotFound), errors.Is(err, engine.ErrRunNotFound):
		if item {
			return problem(astra.ResourceNotFound)
		}
		return problem(astra.CollectionNotFound)
	case errors.Is(err, store.ErrNameTaken), errors.Is(err, driver.ErrNameTaken):
		return problem(astra.Conflict).fields(Invalid{"name", nameTakenReason(err)})
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrExists),
		errors.Is(err, driver.ErrConflict), errors.Is(err, driver.ErrExists):
		return problem(astra.PreconditionNotMet)
	case errors.Is(err, store.ErrReferenced):
		return problem(astra.SourceReferenced)
	case errors.Is(err, driver.ErrRunning):
		return problem(astra.UnexpectedState)
	}
	return nil
}

// perAppHookName finds the name reservation of a custom hook in a store
// error: a custom hook's name is unique within its app, so the store
// reserves it as "<appID>/<name>" and says `hook name "<appID>/<name>" is
// used by <id>`.
var perAppHookName = regexp.MustCompile(`\b` + store.KindHook + ` name "([^"/]+)/`)

// nameTakenReason says, for a 409 on a name, among what the name must be
// unique: a custom hook's name within its app (Astra's tooling copies an
// app's hooks to another app under the same names), a netapp hook's within
// the account, any other resource's within the account.
func nameTakenReason(err error) string {
	msg := err.Error()
	if m := perAppHookName.FindStringSubmatch(msg); m != nil && matcher.ValidIdentifier(m[1]) {
		return "another hook of this app has this name"
	}
	if strings.Contains(msg, store.KindHook+` name "`) {
		return "another hook of the account has this name"
	}
	return "another resource of the account has this name"
}

// internal logs err and answers 500/34 with the correlation ID.
func (s *Server) internal(r *http.Request, err error) *Problem {
	s.log.Error("internal error", zap.String("correlation_id", reqCtx(r).correlationID), zap.Error(err))
	return problem(astra.Internal)
}

// errProblem turns any error of a handler's store, driver or run call into
// a problem, deciding from the error's kind: invalid (400), not found (404,
// item or collection), a conflict (409, 412), storage unreachable (503 with
// Retry-After), anything else 500, logged with the correlation ID. Every
// handler's storage errors go through it.
func (s *Server) errProblem(r *http.Request, err error, item bool) *Problem {
	if p := validationProblem(err); p != nil {
		return p
	}
	if p := storeProblem(err, item); p != nil {
		return p
	}
	if unavailable(err) {
		return s.unavailableProblem(r, err)
	}
	return s.internal(r, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err))
}

// validationProblem maps a validation error to 400/8 (schema) or 400/9
// (extended: every field fails only a rule beyond the schema), naming every
// field; nil when err is not one. Every package's validation error lists
// the same events.FieldError.
func validationProblem(err error) *Problem {
	var ve interface{ FieldErrors() []events.FieldError }
	if !errors.As(err, &ve) {
		return nil
	}
	var fields []Invalid
	extendedOnly := true
	for _, f := range ve.FieldErrors() {
		fields = append(fields, Invalid{f.Field, f.Reason})
		extendedOnly = extendedOnly && f.Extended
	}
	if extendedOnly {
		return problem(astra.InvalidField).fields(fields...)
	}
	p := problem(astra.InvalidJSONResource).fields(fields...)
	p.SchemaValidationFailure = describe(fields)
	return p
}
