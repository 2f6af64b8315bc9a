package enginebench

import (
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookshot-dev/hookshot/events"
)

func jetstreamNew(nc *nats.Conn) (jetstream.JetStream, error) { return events.NewJetStream(nc) }

type jetstreamJS = jetstream.JetStream
