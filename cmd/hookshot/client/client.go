// Package client is a small HTTP client of Hookshot's API for the CLI and
// for scenario runs against a server: it sends bearer tokens, trusts a CA
// file for HTTPS, and turns Astra problems and RFS errors into *APIError.
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
	"strings"
	"time"
)

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
		return nil, errors.New("no server: give --server or HOOKSHOT_SERVER, or a context (hookshot context set)")
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

// Invalid is one invalid field or parameter named by the server.
type Invalid struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// APIError is an error answer: an Astra problem, or an RFS error.
type APIError struct {
	Status        int       `json:"-"`
	Type          string    `json:"type"`
	Title         string    `json:"title"`
	Detail        string    `json:"detail"`
	CorrelationID string    `json:"correlationID"`
	InvalidFields []Invalid `json:"invalidFields"`
	InvalidParams []Invalid `json:"invalidParams"`
	ErrorCode     string    `json:"error_code"`
	ErrorMsg      string    `json:"error_msg"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	switch {
	case e.Title != "":
		fmt.Fprintf(&b, "%s (%d): %s", e.Title, e.Status, e.Detail)
	case e.ErrorCode != "":
		fmt.Fprintf(&b, "%s (%d): %s", e.ErrorCode, e.Status, e.ErrorMsg)
	default:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " (correlation ID %s)", e.CorrelationID)
	}
	for _, f := range append(e.InvalidFields, e.InvalidParams...) {
		fmt.Fprintf(&b, "\n  %s: %s", f.Name, f.Reason)
	}
	return b.String()
}

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
