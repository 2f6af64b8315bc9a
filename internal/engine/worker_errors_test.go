package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/hookshot-dev/hookshot/internal/errkind"
	"github.com/hookshot-dev/hookshot/internal/store"
)

// The engine and its workers take an error of no known kind as
// unavailable: failing a hook needs a definite answer.
func TestKindOfTakesUnknownAsUnavailable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		given error
		want  errkind.Kind
	}{
		{errors.New("something else"), errkind.Unavailable},
		{nats.ErrTimeout, errkind.Unavailable},
		{fmt.Errorf("script x: %w", store.ErrNotFound), errkind.NotFound},
		{permanent(errors.New("no content with checksum")), errkind.Permanent},
	} {
		if got := kindOf(tt.given); got != tt.want {
			t.Errorf("kindOf(%v) = %s, want %s", tt.given, got, tt.want)
		}
	}
}
