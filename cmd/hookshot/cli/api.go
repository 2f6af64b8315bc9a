package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/hookshot-dev/hookshot/engine"
	"github.com/hookshot-dev/hookshot/engine/api"
	"github.com/hookshot-dev/hookshot/engine/driver"
)

// apiFlags configure the HTTP API of `hookshot server`.
type apiFlags struct {
	listen     string
	tokens     []string
	tokensFile string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.listen, "api-listen", "127.0.0.1:8080", `address of the HTTP API ("off": none)`)
	cmd.Flags().StringArrayVar(&f.tokens, "token", nil, "API token ACCOUNT:ROLE:TOKEN or ACCOUNT:ROLE:sha256:HEX, role viewer|member|admin (repeat; env HOOKSHOT_TOKENS, comma separated)")
	cmd.Flags().StringVar(&f.tokensFile, "tokens-file", "", `JSON file of tokens: [{"name","account","role","sha256"|"token"}]`)
}

// specs gathers the configured tokens from flags, environment and file.
func (f *apiFlags) specs() ([]api.TokenSpec, error) {
	var out []api.TokenSpec
	raw := f.tokens
	if env := os.Getenv("HOOKSHOT_TOKENS"); env != "" {
		raw = append(raw, strings.Split(env, ",")...)
	}
	for _, r := range raw {
		spec, err := api.ParseTokenSpec(strings.TrimSpace(r))
		if err != nil {
			return nil, err
		}
		out = append(out, spec)
	}
	if f.tokensFile != "" {
		b, err := os.ReadFile(f.tokensFile)
		if err != nil {
			return nil, fmt.Errorf("--tokens-file: %w", err)
		}
		var file []api.TokenSpec
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&file); err != nil {
			return nil, fmt.Errorf("--tokens-file %s: %w", f.tokensFile, err)
		}
		out = append(out, file...)
	}
	return out, nil
}

// apiServer is the running HTTP API.
type apiServer struct {
	srv *http.Server
	ln  net.Listener
	drv *driver.Driver
}

func (a *apiServer) addr() string {
	if a == nil {
		return "off"
	}
	return "http://" + a.ln.Addr().String()
}

// startAPI serves the API on f.listen. With no token configured anywhere it
// creates the first admin token of account "default" and prints it once.
func startAPI(ctx context.Context, log *zap.Logger, js jetstream.JetStream, eng *engine.Engine, f *apiFlags) (*apiServer, error) {
	if f.listen == "off" || f.listen == "" {
		return nil, nil
	}
	specs, err := f.specs()
	if err != nil {
		return nil, err
	}
	tokens, err := api.NewTokens(ctx, js, specs)
	if err != nil {
		return nil, err
	}
	if any, err := tokens.Any(ctx); err != nil {
		return nil, err
	} else if !any {
		secret, err := tokens.Create(ctx, "bootstrap", "default", api.RoleAdmin)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "hookshot: no API token was configured; created an admin token for account \"default\" (shown once, keep it):\n  %s\n", secret)
		log.Warn("created the first admin token for account default; it was printed on stderr once")
	}
	drv, err := driver.New(ctx, driver.Config{JS: js, Logger: log.Named("driver")})
	if err != nil {
		return nil, err
	}
	handler, err := api.New(api.Config{Store: eng.Store(), Tokens: tokens, Matcher: eng.Index(), Actions: drv, Logger: log.Named("api")})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return nil, fmt.Errorf("--api-listen %s: %w", f.listen, err)
	}
	if err := drv.Start(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	a := &apiServer{srv: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}, ln: ln, drv: drv}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("api server", zap.Error(err))
		}
	}()
	log.Info("API listening", zap.String("url", a.addr()))
	return a, nil
}

// stop refuses new requests and lets running ones finish for a few seconds.
func (a *apiServer) stop(log *zap.Logger) {
	if a == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		log.Warn("api shutdown", zap.Error(err))
	}
	// Actions under way keep their state in KV; their leases are released so
	// another server takes them over at once.
	if err := a.drv.Stop(ctx); err != nil {
		log.Warn("driver stop", zap.Error(err))
	}
}
