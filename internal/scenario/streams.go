package scenario

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// storedMsg is one message read back from a stream.
type storedMsg struct {
	stream  string
	subject string
	seq     uint64
	time    time.Time
	data    []byte
}

// readSubject returns every message stored in stream under filter (a
// subject, wildcards allowed), oldest first, through an ordered consumer. It
// reads what is stored when it is called: it stops at the last message.
func readSubject(ctx context.Context, js jetstream.JetStream, stream, filter string) ([]storedMsg, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	if n == 0 {
		return nil, nil
	}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	var out []storedMsg
	for {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		msg, err := cons.Next(jetstream.FetchContext(nctx))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("read %s: %w", stream, ctx.Err())
			}
			if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("read %s %s: %d of %d messages, then none: %w", stream, filter, len(out), n, err)
			}
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		out = append(out, storedMsg{stream: stream, subject: msg.Subject(), seq: md.Sequence.Stream, time: md.Timestamp, data: msg.Data()})
		if md.NumPending == 0 {
			return out, nil
		}
	}
}
