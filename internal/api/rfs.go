package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hookshot-dev/hookshot/internal/store"
	"github.com/hookshot-dev/hookshot/matcher"
)

// RFS private-hook metadata API: execution hooks addressed by name in the
// token's account. Errors are {error_code, error_msg}, not Astra problems.

// rfsError is an RFS error body.
type rfsError struct {
	status int
	// retryAfter, when positive, is sent as the Retry-After header (seconds).
	retryAfter int
	Code       string `json:"error_code"`
	Msg        string `json:"error_msg"`
}

func rfsErr(status int, code, msg string) *rfsError {
	return &rfsError{status: status, Code: code, Msg: msg}
}

func (e *rfsError) write(w http.ResponseWriter, r *http.Request) {
	if rc := reqCtx(r); rc != nil {
		w.Header().Set("X-Correlation-ID", rc.correlationID)
		rc.problem = &Problem{Type: "rfs:" + e.Code, Title: e.Msg}
	}
	w.Header().Set("Content-Type", "application/json")
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e)
}

// rfsStoreErr answers an error of the store by kind, as errProblem does for
// the Astra routes: storage unreachable is 503 with Retry-After (the request
// may succeed later), anything else 500, logged with the correlation ID.
func (s *Server) rfsStoreErr(r *http.Request, err error) *rfsError {
	if unavailable(err) {
		s.unavailableProblem(r, err) // logs it
		e := rfsErr(http.StatusServiceUnavailable, "HOOKSHOT.503", "service unavailable: the storage cannot be reached; retry later")
		e.retryAfter = retryAfterSeconds
		return e
	}
	s.internal(r, err)
	return rfsErr(http.StatusInternalServerError, "HOOKSHOT.500", "internal server error")
}

// rfsHandler adapts an RFS handler: authentication, the per-token rate limit
// and the Client-Request-Id header come first, in RFS's error format.
func (s *Server) rfsHandler(write bool, h func(w http.ResponseWriter, r *http.Request) *rfsError) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) *Problem {
		if e := s.rfsGate(r, write); e != nil {
			e.write(w, r)
			return nil
		}
		if e := h(w, r); e != nil {
			e.write(w, r)
		}
		return nil
	}
}

func (s *Server) rfsGate(r *http.Request, write bool) *rfsError {
	p, found := s.certPrincipal(r)
	if !found {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			return rfsErr(http.StatusUnauthorized, "HOOKSHOT.401", "authentication failed: a bearer token is required")
		}
		if p, found = s.cfg.Tokens.Lookup(r.Context(), strings.TrimSpace(token)); !found {
			return rfsErr(http.StatusUnauthorized, "HOOKSHOT.401", "authentication failed: the bearer token is invalid")
		}
	}
	reqCtx(r).principal = p
	if !s.rfs.allow(p.ID) {
		return rfsErr(http.StatusTooManyRequests, "HOOKSHOT.429", "too many requests: slow down")
	}
	if write && p.Role < RoleMember {
		return rfsErr(http.StatusForbidden, "HOOKSHOT.403", "the token's role may not update private hooks")
	}
	if write && strings.TrimSpace(r.Header.Get("Client-Request-Id")) == "" {
		return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.CLIENT_REQUEST_ID", "the Client-Request-Id header is required")
	}
	return nil
}

// rfsHook finds the hook named in the path in the token's account. Custom
// hook names are unique per app, so a name may belong to hooks of several
// apps: then hookID (the body's hook_id) must say which, or the answer is
// a 409 naming them.
func (s *Server) rfsHook(r *http.Request, hookID string) (*store.Entry[store.HookRecord], *rfsError) {
	name := r.PathValue("hook_name")
	entries, err := s.store.Hooks.List(r.Context(), principalOf(r).Account)
	if err != nil {
		return nil, s.rfsStoreErr(r, err)
	}
	var found []*store.Entry[store.HookRecord]
	for _, e := range entries {
		if e.Value.Hook.Name == name {
			found = append(found, e)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return nil, rfsErr(http.StatusNotFound, "HOOKSHOT.404.HOOK", "private hook "+name+" does not exist")
	}
	ids := make([]string, 0, len(found))
	for _, e := range found {
		if e.ID == hookID {
			return e, nil
		}
		ids = append(ids, e.ID+" (app "+e.Value.Hook.AppID+")")
	}
	return nil, rfsErr(http.StatusConflict, "HOOKSHOT.409.AMBIGUOUS",
		fmt.Sprintf("%d hooks are named %s: %s; give hook_id to say which", len(found), name, strings.Join(ids, ", ")))
}

// rfsPatch is the body of PATCH /v1/private-hooks/{hook_name}/metadata.
type rfsPatch struct {
	HookDescription *string `json:"hook_description"`
	HookID          *string `json:"hook_id"`
	DefaultVersion  *string `json:"default_version"`
	Configuration   *struct {
		TargetStacks *string `json:"target_stacks"`
		FailureMode  *string `json:"failure_mode"`
	} `json:"configuration"`
}

// patchMetadata updates description, default version and configuration of
// a hook, incrementally: what the body leaves out keeps its value.
// target_stacks NONE disables the hook, ALL enables it; failure_mode is the
// hook's failureMode.
func (s *Server) patchMetadata(w http.ResponseWriter, r *http.Request) *rfsError {
	raw, p := readBody(w, r, s.cfg.MaxBodyBytes)
	if p != nil {
		if p.number == 85 {
			return rfsErr(http.StatusRequestEntityTooLarge, "HOOKSHOT.413", "request body too large")
		}
		if p.status == http.StatusUnsupportedMediaType {
			return rfsErr(http.StatusUnsupportedMediaType, "HOOKSHOT.415", "unsupported media type: "+describe(p.InvalidParams))
		}
		return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.JSON", "the request body is not valid JSON")
	}
	var body rfsPatch
	if p := s.decode(r, raw, &body, nil); p != nil {
		// A bad target_stacks or failure_mode alone keeps its own code.
		if len(p.InvalidFields) == 1 && strings.HasPrefix(p.InvalidFields[0].Reason, "must be one of") {
			switch p.InvalidFields[0].Name {
			case "configuration.target_stacks":
				return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.TARGET_STACKS", "configuration.target_stacks must be NONE or ALL")
			case "configuration.failure_mode":
				return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.FAILURE_MODE", "configuration.failure_mode must be FAIL or WARN")
			}
		}
		msg := "the request body is not valid JSON"
		if len(p.InvalidFields) > 0 {
			msg = "invalid request body: " + describe(p.InvalidFields)
		}
		return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.BODY", msg)
	}
	cfg := body.Configuration
	if body.HookDescription == nil && body.DefaultVersion == nil && (cfg == nil || (cfg.TargetStacks == nil && cfg.FailureMode == nil)) {
		return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.NOTHING", "the request updates nothing: give hook_description, default_version or configuration")
	}
	if cfg != nil && cfg.TargetStacks != nil && *cfg.TargetStacks != "NONE" && *cfg.TargetStacks != "ALL" {
		return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.TARGET_STACKS", "configuration.target_stacks must be NONE or ALL")
	}
	if cfg != nil && cfg.FailureMode != nil && *cfg.FailureMode != string(matcher.FailureModeFail) && *cfg.FailureMode != string(matcher.FailureModeWarn) {
		return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.FAILURE_MODE", "configuration.failure_mode must be FAIL or WARN")
	}
	var hookID string
	if body.HookID != nil {
		hookID = *body.HookID
	}
	e, re := s.rfsHook(r, hookID)
	if re != nil {
		return re
	}
	if body.HookID != nil && *body.HookID != e.ID {
		return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.HOOK_ID", "hook_id does not match the private hook "+e.Value.Hook.Name)
	}
	if e.Value.Hook.HookType == matcher.HookTypeNetApp && principalOf(r).Role < RoleAdmin {
		return rfsErr(http.StatusForbidden, "HOOKSHOT.403", "netapp hooks are read only")
	}
	rev, p := ifMatch(r, e.Revision)
	if p != nil {
		return rfsErr(http.StatusConflict, "HOOKSHOT.409.UPDATED", "the private hook has been updated")
	}
	next, err := s.store.PatchHook(r.Context(), principalOf(r).Account, e.ID, rev, principalOf(r).ID, func(rec *store.HookRecord) error {
		if body.HookDescription != nil {
			rec.Hook.Description = *body.HookDescription
		}
		if body.DefaultVersion != nil {
			if err := rec.SetDefault(*body.DefaultVersion); err != nil {
				return err
			}
		}
		if cfg != nil && cfg.TargetStacks != nil {
			rec.Hook.Enabled = map[string]string{"ALL": matcher.EnabledTrue, "NONE": matcher.EnabledFalse}[*cfg.TargetStacks]
		}
		if cfg != nil && cfg.FailureMode != nil {
			rec.Hook.FailureMode = matcher.FailureMode(*cfg.FailureMode) // checked above
		}
		return nil
	})
	var ve *matcher.ValidationError
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNoVersion):
		return rfsErr(http.StatusNotFound, "HOOKSHOT.404.VERSION", "private hook version "+*body.DefaultVersion+" does not exist")
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		return rfsErr(http.StatusConflict, "HOOKSHOT.409.UPDATED", "the private hook has been updated")
	case errors.As(err, &ve):
		return rfsErr(http.StatusBadRequest, "HOOKSHOT.400.BODY", ve.Error())
	default:
		return s.rfsStoreErr(r, err)
	}
	w.Header().Set("ETag", etag(next.Revision))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// privateHookView is a Hookshot extension: the RFS view of a hook with its
// versions, GET /v1/private-hooks/{hook_name}.
type privateHookView struct {
	HookID          string               `json:"hook_id"`
	HookName        string               `json:"hook_name"`
	HookDescription string               `json:"hook_description"`
	DefaultVersion  string               `json:"default_version"`
	Configuration   map[string]string    `json:"configuration"`
	Versions        []privateHookVersion `json:"versions"`
	UpdateTime      string               `json:"update_time"`
}

// privateHookVersion is one version, in RFS's snake_case.
type privateHookVersion struct {
	Version           string   `json:"version"`
	HookSourceID      string   `json:"hook_source_id"`
	SourceMD5Checksum string   `json:"source_md5_checksum"`
	Arguments         []string `json:"arguments"`
	CreateTime        string   `json:"create_time"`
}

func (s *Server) getPrivateHook(w http.ResponseWriter, r *http.Request) *rfsError {
	e, re := s.rfsHook(r, r.URL.Query().Get("hook_id"))
	if re != nil {
		return re
	}
	h := e.Value.Hook
	stacks := "ALL"
	if !h.IsEnabled() {
		stacks = "NONE"
	}
	versions := make([]privateHookVersion, 0, len(e.Value.Versions))
	for _, v := range e.Value.Versions {
		args := v.Arguments
		if args == nil {
			args = []string{}
		}
		versions = append(versions, privateHookVersion{Version: v.Version, HookSourceID: v.HookSourceID,
			SourceMD5Checksum: v.SourceMD5Checksum, Arguments: args, CreateTime: v.Created})
	}
	w.Header().Set("ETag", etag(e.Revision))
	writeJSON(w, http.StatusOK, "", privateHookView{
		HookID: e.ID, HookName: h.Name, HookDescription: h.Description, DefaultVersion: e.Value.DefaultVersion,
		Configuration: map[string]string{"target_stacks": stacks, "failure_mode": string(h.EffectiveFailureMode())},
		Versions:      versions, UpdateTime: e.Value.Metadata.ModificationTimestamp,
	})
	return nil
}
