package api_test

import (
	"strings"
	"testing"

	"github.com/hookshot-dev/hookshot/internal/api"
)

// TestTokenSpecErrorsNameTheToken: a refused token is named by its account
// and role, the way an operator wrote it, not by a made-up "X-admin".
func TestTokenSpecErrorsNameTheToken(t *testing.T) {
	for _, tt := range []struct{ given, want string }{
		{"payroll:admin:short", "token for account payroll role admin: the token is shorter than 16 characters"},
		{"payroll:boss:0123456789abcdef", "token for account payroll role boss: "},
		{"pay roll:admin:0123456789abcdef", `token for account pay roll role admin: account "pay roll" must be`},
		{"payroll:admin:sha256:abc", "token for account payroll role admin: sha256 must be 64 hex digits"},
	} {
		_, err := api.ParseTokenSpec(tt.given)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ParseTokenSpec(%q) = %v, want an error starting %q", tt.given, err, tt.want)
		}
	}
	if _, err := api.ParseTokenSpec("payroll:admin:0123456789abcdef"); err != nil {
		t.Errorf("a valid token was refused: %v", err)
	}
}
