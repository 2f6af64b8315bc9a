package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
)

// Role is what a token may do in its account.
type Role int

// Roles, each including the ones before it.
const (
	// RoleViewer reads.
	RoleViewer Role = iota + 1
	// RoleMember reads and writes custom resources.
	RoleMember
	// RoleAdmin does everything, including netapp hooks and preloaded sources.
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleMember:
		return "member"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole parses viewer, member or admin.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleViewer, RoleMember, RoleAdmin} {
		if s == r.String() {
			return r, nil
		}
	}
	return 0, fmt.Errorf("role %q: must be viewer, member or admin", s)
}

// Principal is who a request acts as.
type Principal struct {
	Name    string
	Account string
	Role    Role
	// ID is recorded as createdBy/modifiedBy: a UUID derived from the token.
	ID string
}

// TokenSpec configures one token: Account and Role, and either Token (the
// secret itself, hashed as soon as it is read) or SHA256 (its hex digest).
type TokenSpec struct {
	Name    string `json:"name"`
	Account string `json:"account"`
	Role    string `json:"role"`
	Token   string `json:"token,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// ParseTokenSpec parses ACCOUNT:ROLE:TOKEN or ACCOUNT:ROLE:sha256:HEX, the
// form of --token flags and HOOKSHOT_TOKENS entries.
func ParseTokenSpec(s string) (TokenSpec, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[2] == "" {
		return TokenSpec{}, errors.New("token: want ACCOUNT:ROLE:TOKEN or ACCOUNT:ROLE:sha256:HEX")
	}
	spec := TokenSpec{Name: parts[0] + "-" + parts[1], Account: parts[0], Role: parts[1]}
	if hexSum, ok := strings.CutPrefix(parts[2], "sha256:"); ok {
		spec.SHA256 = hexSum
	} else {
		spec.Token = parts[2]
	}
	return spec, spec.check()
}

func (t TokenSpec) check() error {
	who := t.describe()
	if !events.ValidToken(t.Account) {
		return fmt.Errorf("%s: account %q must be 1–128 characters of A–Z a–z 0–9 _ -", who, t.Account)
	}
	if _, err := ParseRole(t.Role); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	switch {
	case t.Token == "" && t.SHA256 == "":
		return fmt.Errorf("%s: give token or sha256", who)
	case t.Token != "" && len(t.Token) < 16:
		return fmt.Errorf("%s: the token is shorter than 16 characters", who)
	case t.SHA256 != "":
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%s: sha256 must be 64 hex digits", who)
		}
	}
	return nil
}

// describe names the token in messages by what identifies it to an
// operator: its account and role, and its own name when it has one.
func (t TokenSpec) describe() string {
	if t.Name == "" || t.Name == t.Account+"-"+t.Role {
		return fmt.Sprintf("token for account %s role %s", t.Account, t.Role)
	}
	return fmt.Sprintf("token %q (account %s role %s)", t.Name, t.Account, t.Role)
}

// HashToken is the SHA-256 hex digest under which a token is stored.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// principalNamespace derives principal IDs from token hashes.
var principalNamespace = uuid.MustParse("5b8f3a0e-3f8a-4b6e-9d0c-7a1f0f3c2e11")

// tokenRecord is a token as stored in the tokens bucket, under its hash.
type tokenRecord struct {
	Name    string    `json:"name"`
	Account string    `json:"account"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

// Tokens authenticates bearer tokens: those configured at start (file,
// environment, flags) and those created at run time, kept hashed in the
// tokens bucket. Secrets are never stored.
type Tokens struct {
	kv         jetstream.KeyValue
	mu         sync.RWMutex
	configured map[string]Principal // by hash
}

// NewTokens binds the tokens bucket and adds the configured tokens.
func NewTokens(ctx context.Context, js jetstream.JetStream, specs []TokenSpec) (*Tokens, error) {
	kv, err := js.KeyValue(ctx, events.BucketTokens)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	t := &Tokens{kv: kv, configured: map[string]Principal{}}
	for _, s := range specs {
		if err := s.check(); err != nil {
			return nil, err
		}
		hash := strings.ToLower(s.SHA256)
		if s.Token != "" {
			hash = HashToken(s.Token)
		}
		role, _ := ParseRole(s.Role)
		t.configured[hash] = principal(s.Name, s.Account, role, hash)
	}
	return t, nil
}

func principal(name, account string, role Role, hash string) Principal {
	return Principal{Name: name, Account: account, Role: role, ID: uuid.NewSHA1(principalNamespace, []byte(hash)).String()}
}

// Lookup returns the principal of a bearer token.
func (t *Tokens) Lookup(ctx context.Context, token string) (Principal, bool) {
	hash := HashToken(token)
	t.mu.RLock()
	for h, p := range t.configured {
		if subtle.ConstantTimeCompare([]byte(h), []byte(hash)) == 1 {
			t.mu.RUnlock()
			return p, true
		}
	}
	t.mu.RUnlock()
	e, err := t.kv.Get(ctx, hash)
	if err != nil {
		return Principal{}, false
	}
	var rec tokenRecord
	if json.Unmarshal(e.Value(), &rec) != nil {
		return Principal{}, false
	}
	role, err := ParseRole(rec.Role)
	if err != nil {
		return Principal{}, false
	}
	return principal(rec.Name, rec.Account, role, hash), true
}

// Any reports whether any token exists, configured or stored.
func (t *Tokens) Any(ctx context.Context) (bool, error) {
	t.mu.RLock()
	n := len(t.configured)
	t.mu.RUnlock()
	if n > 0 {
		return true, nil
	}
	lister, err := t.kv.ListKeys(ctx)
	if err != nil {
		return false, err
	}
	for range lister.Keys() {
		_ = lister.Stop()
		return true, nil
	}
	return false, nil
}

// Create makes a new random token for account and role, stores its hash and
// returns the secret, which is not kept anywhere.
func (t *Tokens) Create(ctx context.Context, name, account string, role Role) (string, error) {
	if !events.ValidToken(account) {
		return "", fmt.Errorf("account %q must be 1–128 characters of A–Z a–z 0–9 _ -", account)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	secret := "hs_" + base64.RawURLEncoding.EncodeToString(buf)
	raw, _ := json.Marshal(tokenRecord{Name: name, Account: account, Role: role.String(), Created: time.Now().UTC()})
	if _, err := t.kv.Create(ctx, HashToken(secret), raw); err != nil {
		return "", fmt.Errorf("store token: %w", err)
	}
	return secret, nil
}

// CertRule maps client certificates to an account and role: a certificate
// matches when its subject common name equals CommonName (if set) and one of
// its organizations equals Organization (if set).
type CertRule struct {
	CommonName, Organization string
	Account                  string
	Role                     Role
}

// CertPrincipals returns a CertPrincipal function for Config: the first
// rule a certificate matches gives its principal.
func CertPrincipals(rules []CertRule) func(*x509.Certificate) (Principal, bool) {
	return func(c *x509.Certificate) (Principal, bool) {
		for _, rule := range rules {
			if rule.CommonName != "" && rule.CommonName != c.Subject.CommonName {
				continue
			}
			if rule.Organization != "" && !slices.Contains(c.Subject.Organization, rule.Organization) {
				continue
			}
			sum := sha256.Sum256(c.Raw)
			return principal("cert:"+c.Subject.CommonName, rule.Account, rule.Role, hex.EncodeToString(sum[:])), true
		}
		return Principal{}, false
	}
}
