package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Certificate renewal. An enrolled agent with a client certificate asks
// for a new one, over mutual TLS with the certificate it has, once two
// thirds of that certificate's lifetime have passed. The new certificate
// is for a new key made on the host and names the same tenant and agent;
// the old one stays valid until it expires. A certificate that expired,
// or that the server revoked, cannot be renewed: the agent has to enrol
// again with a new enrolment token.

// RenewSchema is the schema of a RenewRequest.
const RenewSchema = "vigil.agent.renew/v1"

// RenewPath is where an enrolled agent renews its client certificate.
const RenewPath = "/api/v1/agent/renew"

// RenewRequest is posted to RenewPath with the agent's credential, over a
// connection that presented the agent's current certificate.
type RenewRequest struct {
	Schema  string `json:"schema"`
	AgentID string `json:"agent_id"`
	// CSR is a PEM certificate request for the agent's new key.
	CSR string `json:"csr"`
}

// Validate checks a renewal request.
func (r *RenewRequest) Validate() error {
	if r.Schema != RenewSchema {
		return fmt.Errorf("schema: want %q, got %q", RenewSchema, clipForError(r.Schema))
	}
	if err := validAgentID(r.AgentID); err != nil {
		return err
	}
	if r.CSR == "" || len(r.CSR) > MaxCSRBytes || !strings.HasPrefix(r.CSR, "-----BEGIN CERTIFICATE REQUEST-----") {
		return fmt.Errorf("csr: not a PEM certificate request of at most %d bytes", MaxCSRBytes)
	}
	return nil
}

// RenewResponse is the server's answer: the new certificate and the CA
// that issued it.
type RenewResponse struct {
	Certificate   string `json:"certificate"`
	CACertificate string `json:"ca_certificate"`
}

// ErrRenewRefused is returned by a Renewer when the agent may not renew:
// no certificate presented, one naming another agent, or one revoked. The
// handler answers 401.
var ErrRenewRefused = errors.New("certificate renewal refused")

// Renewer issues an enrolled agent a new client certificate. presented is
// the certificate of the request's verified TLS chain (nil without one).
type Renewer interface {
	Renew(ctx context.Context, tenantID string, presented *x509.Certificate, req RenewRequest) (RenewResponse, error)
}

// peerCertKey carries the verified client certificate to the renewal.
type peerCertKey struct{}

// NewRenewHandler returns the handler of POST RenewPath: opts.Authenticate
// must accept only the agent's own credential; the request must come over
// mutual TLS with the agent's certificate. Answers 200 with the
// RenewResponse, 401 when refused, 400/413 for a bad body, 503 when the
// renewer failed.
func NewRenewHandler(rn Renewer, opts HandlerOptions) http.Handler {
	opts.defaults()
	if opts.MaxBodyBytes > 16<<10 {
		opts.MaxBodyBytes = 16 << 10
	}
	h := &docHandler{opts: opts, kind: "renewal", accept: func(ctx context.Context, tenant string, body []byte) (any, error) {
		var req RenewRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, badRequest(err)
		}
		if err := req.Validate(); err != nil {
			return nil, badRequest(err)
		}
		if err := sameAgent(ctx, req.AgentID); err != nil {
			return nil, err
		}
		presented, _ := ctx.Value(peerCertKey{}).(*x509.Certificate)
		res, err := rn.Renew(ctx, tenant, presented, req)
		switch {
		case errors.Is(err, ErrRenewRefused):
			return nil, &statusError{status: http.StatusUnauthorized, msg: "unauthorised", err: err}
		case errors.Is(err, ErrEnrolInvalid):
			return nil, badRequest(err)
		case err != nil:
			return nil, err
		}
		return res, nil
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
			r = r.WithContext(context.WithValue(r.Context(), peerCertKey{}, r.TLS.VerifiedChains[0][0]))
		}
		h.ServeHTTP(w, r)
	})
}

// ErrMustEnrol means the agent's certificate cannot be renewed any more
// (it expired, or the server refused it: revoked); the agent has to enrol
// again.
var ErrMustEnrol = errors.New("the agent must enrol again")

// RenewalDue reports whether a certificate is due for renewal at now: two
// thirds of its lifetime have passed.
func RenewalDue(cert *x509.Certificate, now time.Time) bool {
	life := cert.NotAfter.Sub(cert.NotBefore)
	return !now.Before(cert.NotBefore.Add(life / 3 * 2))
}

// ClientLeaf returns the agent's current client certificate, parsed; nil
// when it has none.
func ClientLeaf(dir string) (*x509.Certificate, error) {
	c, err := LoadClientCert(dir)
	if err != nil || c == nil {
		return nil, err
	}
	return x509.ParseCertificate(c.Certificate[0])
}

// RenewCertificate renews the client certificate of the data directory
// dir through c (whose HTTP client presents the current certificate): it
// makes a new key, sends its certificate request, checks that the answer
// names the same tenant and agent as the current certificate and saves
// key, certificate and CA. It returns the new certificate. An expired
// current certificate, or a refusal (401), is ErrMustEnrol.
func RenewCertificate(ctx context.Context, c *Client, dir string, now time.Time) (*x509.Certificate, error) {
	cur, err := ClientLeaf(dir)
	if err != nil {
		return nil, fmt.Errorf("agent renew: %w", err)
	}
	if cur == nil {
		return nil, errors.New("agent renew: the agent has no client certificate")
	}
	tenantID, agentID, ok := CertIdentity(cur)
	if !ok || agentID != c.AgentID {
		return nil, errors.New("agent renew: the current certificate does not name this agent")
	}
	if !now.Before(cur.NotAfter) {
		return nil, fmt.Errorf("agent renew: %w: the certificate expired at %s", ErrMustEnrol, cur.NotAfter.UTC().Format(time.RFC3339))
	}
	keyPEM, csr, err := newClientKey(agentID)
	if err != nil {
		return nil, fmt.Errorf("agent renew: %w", err)
	}
	body, err := json.Marshal(RenewRequest{Schema: RenewSchema, AgentID: agentID, CSR: string(csr)})
	if err != nil {
		return nil, fmt.Errorf("agent renew: %w", err)
	}
	ans, err := c.Post(ctx, RenewPath, "application/json", "", body)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
		return nil, fmt.Errorf("agent renew: %w: the server refused the certificate (revoked?): %w", ErrMustEnrol, err)
	}
	if err != nil {
		return nil, fmt.Errorf("agent renew: %w", err)
	}
	var res RenewResponse
	if err := json.Unmarshal(ans, &res); err != nil {
		return nil, fmt.Errorf("agent renew: answer: %w", err)
	}
	if err := saveClientCert(dir, keyPEM, res.Certificate, res.CACertificate, tenantID, agentID, now); err != nil {
		return nil, fmt.Errorf("agent renew: %w", err)
	}
	return ClientLeaf(dir)
}

// RenewIfDue renews the agent's client certificate when it is due at
// the agent's clock; renewed says whether it did. The HTTP client
// presents the new certificate on its next connection.
func (a *Agent) RenewIfDue(ctx context.Context) (renewed bool, err error) {
	cur, err := ClientLeaf(a.cfg.DataDir)
	if err != nil || cur == nil {
		return false, err
	}
	now := a.cfg.Now()
	if !RenewalDue(cur, now) {
		return false, nil
	}
	leaf, err := RenewCertificate(ctx, a.client, a.cfg.DataDir, now)
	if err != nil {
		return false, err
	}
	if hc := a.client.HTTP; hc != nil {
		hc.CloseIdleConnections()
	}
	a.cfg.Logger.Info("agent: client certificate renewed", "serial", leaf.SerialNumber.Text(16), "not_after", leaf.NotAfter)
	return true, nil
}

// renewLoop checks every RenewCheck whether the certificate is due.
func (a *Agent) renewLoop(ctx context.Context) {
	for {
		if _, err := a.RenewIfDue(ctx); err != nil && ctx.Err() == nil {
			if errors.Is(err, ErrMustEnrol) {
				a.cfg.Logger.Error("agent: client certificate not renewed; enrol the agent again", "err", err)
			} else {
				a.cfg.Logger.Warn("agent: client certificate not renewed; retrying", "err", err)
			}
		}
		if !sleep(ctx, a.cfg.RenewCheck) {
			return
		}
	}
}

// certSource hands the TLS client the agent's current certificate,
// reloading it from the data directory when its file changed (after a
// renewal or an enrolment). A file that does not load (a renewal half
// written) keeps the certificate loaded before.
type certSource struct {
	dir  string
	mu   sync.Mutex
	info os.FileInfo
	cert *tls.Certificate
}

func (s *certSource) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := os.Stat(filepath.Join(s.dir, ClientCertFile))
	if err == nil && (s.info == nil || !os.SameFile(s.info, st) || !st.ModTime().Equal(s.info.ModTime())) {
		if c, err := LoadClientCert(s.dir); err == nil && c != nil {
			s.cert, s.info = c, st
		}
	}
	if s.cert == nil {
		return &tls.Certificate{}, nil // none: the handshake goes on without one
	}
	return s.cert, nil
}

// withoutClientCert returns hc, or a copy of it that presents no client
// certificate when hc would: enrolment needs none, and an expired or
// revoked one would fail the handshake of the very enrolment that
// replaces it.
func withoutClientCert(hc *http.Client) *http.Client {
	if hc == nil {
		return nil
	}
	tr, ok := hc.Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil || (tr.TLSClientConfig.GetClientCertificate == nil && len(tr.TLSClientConfig.Certificates) == 0) {
		return hc
	}
	tr = tr.Clone()
	tr.TLSClientConfig.GetClientCertificate, tr.TLSClientConfig.Certificates = nil, nil
	c := *hc
	c.Transport = tr
	return &c
}
