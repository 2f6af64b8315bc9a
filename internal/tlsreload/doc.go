// Package tlsreload serves a TLS certificate and key from files and picks up
// a new pair without a restart: when the files change (a poller compares
// every file's modification time, size and content hash) or when asked to
// (Reloader.Reload). A reload that fails — a half-written file, a key that
// does not match the certificate — is logged and returned, and the previous
// pair keeps being served, so a bad rotation never takes the listener down.
//
// With Config.ClientCAFile the listener also verifies client certificates
// (mTLS) against a CA bundle that is reloaded with the pair. Mapping a client
// certificate's subject onto a principal is the API's business; Identity
// only reads the subject's common name and organizations.
//
// SIGHUP is not handled here: the command that owns the process wires the
// signal to Reload, so that a library never installs signal handlers:
//
//	r, err := tlsreload.New(tlsreload.Config{CertFile: crt, KeyFile: key, Logger: log})
//	if err != nil {
//		return err // names the file that is missing or bad
//	}
//	r.Start(ctx) // polls every 10s
//	defer r.Stop()
//
//	hup := make(chan os.Signal, 1)
//	signal.Notify(hup, syscall.SIGHUP)
//	defer signal.Stop(hup)
//	go func() { // ends with ctx; the command waits for it
//		for {
//			select {
//			case <-hup:
//				_ = r.Reload() // a failure is logged; the old pair stays
//			case <-ctx.Done():
//				return
//			}
//		}
//	}()
//
//	srv := &http.Server{Handler: h, TLSConfig: r.TLSConfig()}
//	return srv.ServeTLS(ln, "", "") // empty names: the pair comes from the Reloader
//
// GenerateSelfSigned, GenerateCA and GenerateClientCert write ECDSA P-256
// certificates for local trials and tests; they are not a PKI.
package tlsreload
