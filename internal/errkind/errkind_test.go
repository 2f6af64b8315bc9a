package errkind_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/internal/errkind"
)

var errMine = errkind.New("mine is gone", errkind.NotFound)

func TestOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		given error
		want  errkind.Kind
	}{
		{"nil", nil, errkind.Unknown},
		{"a sentinel, wrapped", fmt.Errorf("script x: %w", errMine), errkind.NotFound},
		{"kv key not found", fmt.Errorf("get: %w", jetstream.ErrKeyNotFound), errkind.NotFound},
		{"stream not found (404)", &jetstream.APIError{Code: 404, ErrorCode: jetstream.JSErrCodeStreamNotFound}, errkind.NotFound},
		{"invalid key", fmt.Errorf("put: %w", jetstream.ErrInvalidKey), errkind.Invalid},
		{"message too large", fmt.Errorf("publish: %w", jetstream.ErrStreamMessageExceedsMaximum), errkind.Invalid},
		{"max payload", nats.ErrMaxPayload, errkind.Invalid},
		{"invalid stream config (a 500)", &jetstream.APIError{Code: 500, ErrorCode: 10052}, errkind.Invalid},
		{"replicas not supported", &jetstream.APIError{Code: 500, ErrorCode: 10074}, errkind.Invalid},
		{"marked permanent", errkind.Mark(errors.New("no content with checksum"), errkind.Permanent), errkind.Permanent},
		{"the mark wins over what it wraps", errkind.Mark(nats.ErrTimeout, errkind.Permanent), errkind.Permanent},
		{"bad request", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeBadRequest}, errkind.Permanent},
		{"jetstream not enabled for the account", &jetstream.APIError{Code: 503, ErrorCode: jetstream.JSErrCodeJetStreamNotEnabledForAccount}, errkind.Permanent},
		{"no peers yet", &jetstream.APIError{Code: 400, ErrorCode: 10005}, errkind.Unavailable},
		{"nats timeout", fmt.Errorf("get: %w", nats.ErrTimeout), errkind.Unavailable},
		{"sub-operation deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), errkind.Unavailable},
		{"no responders", nats.ErrNoResponders, errkind.Unavailable},
		{"async publish ack lost", fmt.Errorf("publish: %w", jetstream.ErrAsyncPublishTimeout), errkind.Unavailable},
		{"connection closed", nats.ErrConnectionClosed, errkind.Unavailable},
		{"jetstream connection closed", jetstream.ErrConnectionClosed, errkind.Unavailable},
		{"no stream response", jetstream.ErrNoStreamResponse, errkind.Unavailable},
		{"jetstream starting", jetstream.ErrJetStreamNotEnabled, errkind.Unavailable},
		{"storage exhausted", &jetstream.APIError{Code: 500, ErrorCode: 10047, Description: "insufficient storage resources available"}, errkind.Unavailable},
		{"no leader", &jetstream.APIError{Code: 503, ErrorCode: 10008}, errkind.Unavailable},
		{"something else", errors.New("something else"), errkind.Unknown},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), errkind.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errkind.Of(tt.given); got != tt.want {
				t.Fatalf("Of(%v) = %s, want %s", tt.given, got, tt.want)
			}
		})
	}
}

func TestMarkKeepsTheChain(t *testing.T) {
	t.Parallel()
	err := errkind.Mark(fmt.Errorf("load: %w", errMine), errkind.Permanent)
	if !errors.Is(err, errMine) || err.Error() != "load: mine is gone" || errkind.Mark(nil, errkind.Invalid) != nil {
		t.Fatalf("%v", err)
	}
	for _, k := range []errkind.Kind{errkind.NotFound, errkind.Invalid, errkind.Conflict, errkind.Permanent} {
		if !k.Definite() {
			t.Errorf("%s is not definite", k)
		}
	}
	for _, k := range []errkind.Kind{errkind.Unknown, errkind.Unavailable, errkind.Canceled} {
		if k.Definite() {
			t.Errorf("%s is definite", k)
		}
	}
}
