package tlsreload

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Reloader serves a certificate/key pair, and optionally a client CA pool,
// loaded from files, and swaps in a new one when the files change (Start) or
// on demand (Reload). It is safe for concurrent use.
type Reloader struct {
	cfg Config
	log *zap.Logger

	cur atomic.Pointer[material]

	reloadMu sync.Mutex // serializes Reload and polls
	seen     version    // of the files last tried, good or bad

	runMu  sync.Mutex // guards cancel; held by Stop while it waits
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// material is what one load produced; it is replaced whole.
type material struct {
	cert      *tls.Certificate
	clientCAs *x509.CertPool // nil without Config.ClientCAFile
}

// version identifies the files' state: the path, modification time, size
// and content hash of each, or the read error. A change in any file changes
// it.
type version [sha256.Size]byte

// New loads the pair (and the client CA bundle) once. A missing or bad file
// fails with a *FileError naming it; a key that is not the certificate's
// fails naming the key file (ErrKeyMismatch).
func New(cfg Config) (*Reloader, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Reloader{cfg: cfg, log: cfg.Logger.Named("tlsreload")}
	m, v, err := r.load()
	if err != nil {
		return nil, err
	}
	r.seen = v
	r.cur.Store(m)
	r.logLoaded("tls certificate loaded", m)
	return r, nil
}

// TLSConfig returns a new server config that serves the current pair:
// MinVersion TLS 1.2 and a GetCertificate reading the pair at every
// handshake. With Config.ClientCAFile, ClientAuth is
// tls.VerifyClientCertIfGiven (tls.RequireAndVerifyClientCert with
// Config.RequireClientCert) and GetConfigForClient hands each handshake a
// copy of the returned config whose ClientCAs is the current pool.
//
// That copy is taken at handshake time, so fields set on the returned config
// before serving carry over — including the NextProtos that http.Server adds
// for HTTP/2. Use the config as is (http.Server.TLSConfig, tls.NewListener);
// don't give it to httptest.Server.TLS, whose StartTLS adds its own
// certificate, which crypto/tls prefers to GetCertificate when the client
// sends no server name.
func (r *Reloader) TLSConfig() *tls.Config {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.getCertificate,
	}
	if r.cfg.ClientCAFile == "" {
		return cfg
	}
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	if r.cfg.RequireClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	// Also set here so that a copy of cfg that lost GetConfigForClient still
	// verifies against the CA, never against the system roots.
	cfg.ClientCAs = r.cur.Load().clientCAs
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := cfg.Clone()
		c.GetConfigForClient = nil
		c.ClientCAs = r.cur.Load().clientCAs
		return c, nil
	}
	return cfg
}

func (r *Reloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load().cert, nil
}

// Current is the leaf certificate being served.
func (r *Reloader) Current() *x509.Certificate {
	return r.cur.Load().cert.Leaf
}

// Reload reads the files again and serves the new pair and CA pool from the
// next handshake on; connections already open keep theirs. On failure
// nothing changes — the previous pair and pool stay — and the error, a
// *FileError naming the file, is logged and returned. A rotation that writes
// the certificate and the key one after the other can fail in between with
// ErrKeyMismatch; the next Reload (or poll) after the second write succeeds.
func (r *Reloader) Reload() error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	m, v, err := r.load()
	return r.apply(m, v, err)
}

// Start polls the files every Config.PollInterval until ctx ends or Stop is
// called, and reloads when one changed; a failure is logged once per change
// of the files. It returns at once. Calling Start while the poller runs does
// nothing; after Stop, Start starts it again.
func (r *Reloader) Start(ctx context.Context) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Go(func() { r.run(ctx) })
}

// Stop ends the poller and waits for it. It does nothing if the poller is
// not running, and may be called more than once.
func (r *Reloader) Stop() {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
	r.wg.Wait()
}

func (r *Reloader) run(ctx context.Context) {
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.poll()
		}
	}
}

// poll reloads if the files are not the ones last tried.
func (r *Reloader) poll() {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	m, v, err := r.load()
	if v == r.seen {
		return
	}
	_ = r.apply(m, v, err) // logged by apply
}

// apply installs m, or logs err. The caller holds reloadMu.
func (r *Reloader) apply(m *material, v version, err error) error {
	r.seen = v
	if err != nil {
		prev := r.cur.Load().cert.Leaf
		r.log.Error("tls reload failed, serving the previous certificate",
			zap.Error(err),
			zap.String("serial", prev.SerialNumber.Text(16)),
			zap.Time("not_after", prev.NotAfter))
		return err
	}
	r.cur.Store(m)
	r.logLoaded("tls certificate reloaded", m)
	return nil
}

func (r *Reloader) logLoaded(msg string, m *material) {
	leaf := m.cert.Leaf
	r.log.Info(msg,
		zap.String("cert_file", r.cfg.CertFile),
		zap.String("subject", leaf.Subject.String()),
		zap.String("serial", leaf.SerialNumber.Text(16)),
		zap.Time("not_after", leaf.NotAfter),
		zap.Bool("client_auth", m.clientCAs != nil))
	if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		r.log.Warn("tls certificate is not valid now",
			zap.String("cert_file", r.cfg.CertFile),
			zap.Time("not_before", leaf.NotBefore),
			zap.Time("not_after", leaf.NotAfter))
	}
}

// load reads and parses the files. The version is returned on failure too,
// so that a poll does not log the same failure again.
func (r *Reloader) load() (*material, version, error) {
	files := []struct{ role, path string }{
		{RoleCertificate, r.cfg.CertFile},
		{RoleKey, r.cfg.KeyFile},
	}
	if r.cfg.ClientCAFile != "" {
		files = append(files, struct{ role, path string }{RoleClientCA, r.cfg.ClientCAFile})
	}
	h := sha256.New()
	contents := make([][]byte, len(files))
	for i, f := range files {
		data, info, err := readFile(f.role, f.path)
		if err != nil {
			h.Reset()
			h.Write([]byte("error\x00" + err.Error()))
			return nil, version(h.Sum(nil)), err
		}
		contents[i] = data
		sum := sha256.Sum256(data)
		h.Write([]byte(f.path + "\x00"))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(info.Size())))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(info.ModTime().UnixNano())))
		h.Write(sum[:])
	}
	v := version(h.Sum(nil))

	cert, err := parsePair(r.cfg.CertFile, r.cfg.KeyFile, contents[0], contents[1])
	if err != nil {
		return nil, v, err
	}
	m := &material{cert: cert}
	if r.cfg.ClientCAFile != "" {
		if m.clientCAs, err = parseCAPool(r.cfg.ClientCAFile, contents[2]); err != nil {
			return nil, v, err
		}
	}
	return m, v, nil
}
