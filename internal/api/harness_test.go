package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/hookshot-dev/hookshot/events"
	"github.com/hookshot-dev/hookshot/internal/api"
	"github.com/hookshot-dev/hookshot/internal/embedded/natstest"
	"github.com/hookshot-dev/hookshot/internal/store"
)

const (
	account      = "acct"
	otherAccount = "other"
	adminToken   = "admin-token-0123456789"
	memberToken  = "member-token-0123456789"
	viewerToken  = "viewer-token-0123456789"
	otherToken   = "other-admin-token-0123456789"
)

type harness struct {
	t     *testing.T
	env   *natstest.Env
	srv   *httptest.Server
	api   *api.Server
	store *store.Store
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessIn(t, natstest.Start(t))
}

func newHarnessIn(t *testing.T, env *natstest.Env) *harness {
	return newHarnessWith(t, env, api.Config{})
}

// newHarnessWith starts the API with cfg (Store, Tokens and Logger are set here).
func newHarnessWith(t *testing.T, env *natstest.Env, cfg api.Config) *harness {
	t.Helper()
	ctx := natstest.Context(t, time.Minute)
	if err := events.Provision(ctx, env.JS, events.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	var specs []api.TokenSpec
	for _, s := range []string{account + ":admin:" + adminToken, account + ":member:" + memberToken,
		account + ":viewer:" + viewerToken, otherAccount + ":admin:" + otherToken} {
		spec, err := api.ParseTokenSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, spec)
	}
	tokens, err := api.NewTokens(ctx, env.JS, specs)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Tokens, cfg.Logger = st, tokens, zaptest.NewLogger(t)
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 256 << 10
	}
	a, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &harness{t: t, env: env, srv: srv, api: a, store: st}
}

// response is a decoded HTTP answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (h *harness) do(method, path, token string, body any, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			h.t.Fatalf("%s %s: response is not JSON: %s", method, path, raw)
		}
	}
	return out
}

// wantProblem checks an Astra problem answer: status, number, correlation
// ID, and (when given) the invalid fields or params named.
func (r response) wantProblem(t *testing.T, status, number int, names ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if got := r.body["type"]; got != "https://astra.netapp.io/problems/"+itoa(number) {
		t.Fatalf("problem %v, want %d: %s", got, number, r.raw)
	}
	if r.header.Get("Content-Type") != "application/problem+json" || r.body["status"] != itoa(status) ||
		r.body["title"] == "" || r.body["detail"] == "" || r.body["correlationID"] != r.header.Get("X-Correlation-ID") {
		t.Fatalf("malformed problem: %v %s", r.header, r.raw)
	}
	if len(names) == 0 {
		return
	}
	var got []string
	for _, key := range []string{"invalidFields", "invalidParams"} {
		list, _ := r.body[key].([]any)
		for _, item := range list {
			got = append(got, item.(map[string]any)["name"].(string))
		}
	}
	for _, n := range names {
		found := false
		for _, g := range got {
			found = found || g == n
		}
		if !found {
			t.Errorf("problem does not name %q (names %q): %s", n, got, r.raw)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func acctPath(rest string) string { return "/accounts/" + account + rest }

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
