// Package embedded runs a NATS server with JetStream inside the Hookshot
// process: the zero-setup default of `hookshot server`, and the real server
// every unit and integration test talks to.
package embedded

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Config of an embedded server.
type Config struct {
	// Listen is host:port of the client listener. Defaults to 127.0.0.1:4222.
	// Port -1 picks a free port.
	Listen string
	// StoreDir is where JetStream keeps its file storage. Required.
	StoreDir string
	// ServerName names the server. Defaults to "hookshot".
	ServerName string
	// ReadyTimeout bounds start-up. Defaults to 10s.
	ReadyTimeout time.Duration
	// MaxMemory and MaxStore bound JetStream; 0 leaves the server's defaults.
	MaxMemory, MaxStore int64
}

func (c Config) withDefaults() Config {
	c.Listen = cmp.Or(c.Listen, "127.0.0.1:4222")
	c.ServerName = cmp.Or(c.ServerName, "hookshot")
	c.ReadyTimeout = cmp.Or(c.ReadyTimeout, 10*time.Second)
	return c
}

// Server is a running embedded NATS server.
type Server struct {
	ns *server.Server
}

// Start starts the server and waits until it accepts connections.
func Start(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.StoreDir == "" {
		return nil, errors.New("embedded nats: StoreDir is required")
	}
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: listen port %q: %w", portStr, err)
	}
	if port == 0 {
		// Port 0 asks for any free port, as net.Listen does (to
		// nats-server, 0 means its default 4222); ClientURL says which.
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName:         cfg.ServerName,
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxMemory: cfg.MaxMemory,
		JetStreamMaxStore:  cfg.MaxStore,
		NoSigs:             true,
		MaxPayload:         4 << 20,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(cfg.ReadyTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after %s (is %s in use?)", cfg.ReadyTimeout, cfg.Listen)
	}
	return &Server{ns: ns}, nil
}

// ClientURL is the URL clients connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Connect opens a client connection to the server.
func (s *Server) Connect(name string) (*nats.Conn, error) {
	return nats.Connect(s.ClientURL(), nats.Name(name), nats.MaxReconnects(-1))
}

// Shutdown stops the server and waits until it has stopped or ctx ends.
func (s *Server) Shutdown(ctx context.Context) {
	s.ns.Shutdown()
	done := make(chan struct{})
	go func() { s.ns.WaitForShutdown(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
