package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/agent/fleet"
)

// The agent listener (agent_addr) serves the host agents' endpoints over
// HTTPS on a port of their own. With agent_mtls every request but
// enrolment must present a client certificate the node's agent CA issued
// (fleet.Service.CA, one CA for all nodes sharing the store); the
// certificate must name the tenant and agent of the request's credential
// (fleet.Service.Authenticate) and a revoked agent is refused whatever it
// presents.

// agentTLSConfig is the TLS configuration of the agent listener.
func (a *App) agentTLSConfig(ctx context.Context) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(a.Config.AgentTLSCert, a.Config.AgentTLSKey)
	if err != nil {
		return nil, fmt.Errorf("agent listener certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if a.Config.AgentMTLS {
		ca, err := a.Fleet.CA(ctx)
		if err != nil {
			return nil, fmt.Errorf("agent CA: %w", err)
		}
		if ca == nil {
			return nil, errors.New("agent CA: the node has no secret key")
		}
		// Enrolment comes before the agent has a certificate, so the
		// handshake takes a connection without one; agentMTLSHandler
		// refuses every other request that has none.
		cfg.ClientAuth, cfg.ClientCAs = tls.VerifyClientCertIfGiven, ca.Pool()
		// The fleet's clock decides expiry, and every handshake (new or
		// resumed) checks the revocation list in the store, which all
		// nodes share.
		fl := a.Fleet
		cfg.Time = fl.Now
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil // enrolment; agentListenerHandler refuses the rest
			}
			vctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := fl.CheckClientCert(vctx, cs.PeerCertificates[0]); err != nil {
				a.Logger.Warn("agent certificate refused at the handshake", "serial", fleet.Serial(cs.PeerCertificates[0]), "reason", err)
				return err
			}
			return nil
		}
	}
	return cfg, nil
}

// agentListenerHandler is AgentHandler, behind the client certificate
// requirement when agent_mtls is on.
func (a *App) agentListenerHandler() http.Handler {
	h := a.AgentHandler()
	if !a.Config.AgentMTLS {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != agent.EnrolPath && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
			a.Logger.Warn("agent request refused", "remote", r.RemoteAddr, "path", r.URL.Path, "reason", "no client certificate")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"client certificate required"}` + "\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ServeAgents serves the agent listener on ln (a plain TCP listener; TLS
// is added here) until ctx is done.
func (a *App) ServeAgents(ctx context.Context, ln net.Listener) error {
	cfg, err := a.agentTLSConfig(ctx)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.agentListenerHandler(),
		TLSConfig:         cfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, cfg)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("agent listener: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("agent listener shutdown: %w", err)
	}
	return nil
}

// startAgentListener listens on agent_addr and serves the agent
// listener; the returned stop waits for it.
func (a *App) startAgentListener(ctx context.Context) (func() error, error) {
	ln, err := net.Listen("tcp", a.Config.AgentAddr)
	if err != nil {
		return nil, fmt.Errorf("agent_addr %s: %w", a.Config.AgentAddr, err)
	}
	a.Logger.Info("agent listener", "addr", ln.Addr().String(), "mtls", a.Config.AgentMTLS)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.ServeAgents(ctx, ln) }()
	return func() error { cancel(); return <-done }, nil
}
