package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/engine/store"
)

func TestKindOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		given error
		want  errKind
	}{
		{"store not found", fmt.Errorf("script x: %w", store.ErrNotFound), kindNotFound},
		{"kv key not found", fmt.Errorf("get: %w", jetstream.ErrKeyNotFound), kindNotFound},
		{"invalid key", fmt.Errorf("%w: %q", store.ErrInvalidKey, "a b"), kindInvalid},
		{"message too large", fmt.Errorf("publish: %w", jetstream.ErrStreamMessageExceedsMaximum), kindInvalid},
		{"checksum mismatch", permanent(errors.New("no content with checksum")), kindPermanent},
		{"bad request", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeBadRequest}, kindPermanent},
		{"nats timeout", fmt.Errorf("get: %w", nats.ErrTimeout), kindUnavailable},
		{"sub-operation deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), kindUnavailable},
		{"no responders", nats.ErrNoResponders, kindUnavailable},
		{"connection closed", nats.ErrConnectionClosed, kindUnavailable},
		{"jetstream connection closed", jetstream.ErrConnectionClosed, kindUnavailable},
		{"no stream response", jetstream.ErrNoStreamResponse, kindUnavailable},
		{"storage exhausted", &jetstream.APIError{Code: 500, ErrorCode: 10047, Description: "insufficient storage resources available"}, kindUnavailable},
		{"insufficient resources", &jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}, kindUnavailable},
		{"unknown", errors.New("something else"), kindUnavailable},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), kindCanceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := kindOf(tt.given); got != tt.want {
				t.Fatalf("kindOf(%v) = %s, want %s", tt.given, got, tt.want)
			}
		})
	}
}
