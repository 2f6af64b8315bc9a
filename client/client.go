// Package client is the Go client of Hookshot's HTTP API: execution hooks,
// hook sources, apps, the lifecycle actions (snapshots, backups, restores,
// failovers), runs and explain, as typed methods over typed resources. The
// hookshot CLI is built on it; so can a backup controller written in Go.
//
// Every error answer of the server is an *APIError (an Astra problem or an
// RFS error), so callers decide from its kind:
//
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Problem() == client.ProblemNotFound { ... }
//
// or with the helpers IsNotFound, IsConflict and IsUnavailable. [Client.Do]
// is the untyped escape hatch for any path.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrNoServer is New's error for a Config without Server.
var ErrNoServer = errors.New("no server URL")

// Config of a Client.
type Config struct {
	// Server is the API's base URL, e.g. http://127.0.0.1:8080. Required.
	Server string
	// Token is the bearer token.
	Token string
	// Account is the account in /accounts/{account}/ paths. Defaults to "default".
	Account string
	// CAFile trusts this CA for an HTTPS server (a self-signed one, say).
	CAFile string
	// CertFile and KeyFile present a client certificate (mTLS).
	CertFile, KeyFile string
	// Timeout bounds one request. Defaults to 30s.
	Timeout time.Duration
}

// Client talks to one server as one principal.
type Client struct {
	base    string
	token   string
	account string
	http    *http.Client
}

// New checks cfg and builds the client.
func New(cfg Config) (*Client, error) {
	if cfg.Server == "" {
		return nil, ErrNoServer
	}
	if !strings.HasPrefix(cfg.Server, "http://") && !strings.HasPrefix(cfg.Server, "https://") {
		return nil, fmt.Errorf("server %q: must start with http:// or https://", cfg.Server)
	}
	if cfg.Account == "" {
		cfg.Account = "default"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return &Client{
		base: strings.TrimSuffix(cfg.Server, "/"), token: cfg.Token, account: cfg.Account,
		http: &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}},
	}, nil
}

// Account is the account of /accounts/{account}/ paths.
func (c *Client) Account() string { return c.account }

// AccountPath is "/accounts/<account>" + rest.
func (c *Client) AccountPath(rest string) string { return "/accounts/" + c.account + rest }

// Response is a successful answer's status and headers.
type Response struct {
	Status int
	Header http.Header
}

// Do sends body (JSON-encoded unless it is []byte or nil) to path and
// decodes a JSON answer into out (when not nil). A 4xx or 5xx answer is an
// *APIError; a server that cannot be reached is one clear error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any, headers ...string) (*Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Hookshot API at %s: %w", c.base, unwrapURL(err))
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if res.StatusCode >= 400 {
		apiErr := &APIError{Status: res.StatusCode}
		if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs > 0 {
			apiErr.RetryAfter = time.Duration(secs) * time.Second
		}
		if json.Unmarshal(raw, apiErr) != nil || (apiErr.Title == "" && apiErr.ErrorCode == "") {
			apiErr.Detail = strings.TrimSpace(string(raw))
			apiErr.Title = http.StatusText(res.StatusCode)
		}
		return nil, apiErr
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("decode answer of %s %s: %w", method, path, err)
		}
	}
	return &Response{Status: res.StatusCode, Header: res.Header}, nil
}

func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
