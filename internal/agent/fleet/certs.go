package fleet

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// The revocation list of agent certificates. Every certificate the CA
// issues is recorded by serial in the store (store.AgentCerts); revoking
// an agent, or enrolling it again, revokes its certificates. The agent
// listener of every node sharing the store checks the serial of the
// certificate a client presents during the TLS handshake
// (CheckClientCert), so a revoked certificate cannot open a connection on
// any node. A certificate past its NotAfter fails the handshake's chain
// verification; its agent has to enrol again.

// ErrCertRevoked means a client certificate is on the revocation list,
// or names an agent that is revoked.
var ErrCertRevoked = errors.New("agent certificate revoked")

// Serial is the key under which a certificate is recorded: its serial
// number in lower-case hex.
func Serial(c *x509.Certificate) string { return c.SerialNumber.Text(16) }

// Now is the service's clock, which the agent listener's TLS
// verification uses too.
func (s *Service) Now() time.Time { return s.opts.Now() }

// CertValidity is the lifetime of the client certificates the service
// issues.
func (s *Service) CertValidity() time.Duration { return s.opts.CertValidity }

func (s *Service) certStore() (store.AgentCerts, bool) {
	cs, ok := s.st.(store.AgentCerts)
	return cs, ok
}

// issue signs a client certificate for csr naming tenantID and agentID
// and records its serial.
func (s *Service) issue(ctx context.Context, ca *CA, csr *x509.CertificateRequest, tenantID, agentID string) ([]byte, *x509.Certificate, error) {
	now := s.opts.Now()
	certPEM, cert, err := ca.IssueFor(csr, tenantID, agentID, now, s.opts.CertValidity)
	if err != nil {
		return nil, nil, err
	}
	if cs, ok := s.certStore(); ok {
		if err := cs.RecordAgentCert(ctx, &store.AgentCert{Serial: Serial(cert), TenantID: tenantID, AgentID: agentID,
			NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, IssuedAt: now}); err != nil {
			return nil, nil, fmt.Errorf("fleet: record agent certificate: %w", err)
		}
	}
	return certPEM, cert, nil
}

// revokeCerts puts every certificate of the agent but except on the
// revocation list.
func (s *Service) revokeCerts(ctx context.Context, tenantID, agentID, except string) (int64, error) {
	cs, ok := s.certStore()
	if !ok {
		return 0, nil
	}
	n, err := cs.RevokeAgentCerts(ctx, tenantID, agentID, except, s.opts.Now())
	if err != nil {
		return 0, fmt.Errorf("fleet: revoke agent certificates: %w", err)
	}
	return n, nil
}

// CheckClientCert is the revocation check of the TLS handshake: it
// refuses (ErrCertRevoked) a certificate whose serial is revoked, and one
// that names an agent that is revoked or unknown. A certificate the store
// has no record of (issued before certificates were recorded) passes on
// its agent's status alone. Errors of the store refuse too.
func (s *Service) CheckClientCert(ctx context.Context, cert *x509.Certificate) error {
	tenantID, agentID, ok := agent.CertIdentity(cert)
	if !ok {
		return fmt.Errorf("%w: the certificate names no agent", ErrCertRevoked)
	}
	if cs, ok := s.certStore(); ok {
		c, err := cs.AgentCertBySerial(ctx, Serial(cert))
		switch {
		case err == nil:
			if !c.RevokedAt.IsZero() {
				return fmt.Errorf("%w: serial %s", ErrCertRevoked, Serial(cert))
			}
			if c.TenantID != tenantID || c.AgentID != agentID {
				return fmt.Errorf("%w: serial %s was issued to another agent", ErrCertRevoked, Serial(cert))
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	a, err := s.st.Agents().GetAgent(ctx, tenantID, agentID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: unknown agent", ErrCertRevoked)
	}
	if err != nil {
		return err
	}
	if a.Status != store.AgentActive {
		return fmt.Errorf("%w: agent %s is revoked", ErrCertRevoked, agentID)
	}
	return nil
}

// Renew implements agent.Renewer: it issues the agent a new client
// certificate for the key of req.CSR, naming the same tenant and agent as
// the certificate it presented (which stays valid until it expires). The
// caller authenticated the agent's credential as tenantID's agent
// req.AgentID and took presented from the verified TLS chain.
func (s *Service) Renew(ctx context.Context, tenantID string, presented *x509.Certificate, req agent.RenewRequest) (agent.RenewResponse, error) {
	if presented == nil {
		return agent.RenewResponse{}, fmt.Errorf("%w: no client certificate", agent.ErrRenewRefused)
	}
	t, id, ok := agent.CertIdentity(presented)
	if !ok || t != tenantID || id != req.AgentID {
		return agent.RenewResponse{}, fmt.Errorf("%w: the certificate does not name this agent", agent.ErrRenewRefused)
	}
	if err := s.CheckClientCert(ctx, presented); err != nil {
		if errors.Is(err, ErrCertRevoked) {
			return agent.RenewResponse{}, fmt.Errorf("%w: %w", agent.ErrRenewRefused, err)
		}
		return agent.RenewResponse{}, err
	}
	csr, err := ParseCSR(req.CSR)
	if err != nil {
		return agent.RenewResponse{}, fmt.Errorf("%w: %w", agent.ErrEnrolInvalid, err)
	}
	ca, err := s.CA(ctx)
	if err != nil {
		return agent.RenewResponse{}, err
	}
	if ca == nil {
		return agent.RenewResponse{}, errors.New("fleet: this node issues no certificates")
	}
	certPEM, cert, err := s.issue(ctx, ca, csr, tenantID, id)
	if err != nil {
		return agent.RenewResponse{}, err
	}
	if err := s.audit.RecordAs(ctx, &auth.Principal{Username: "agent:" + id, UserID: "agent:" + id}, audit.Event{
		TenantID: tenantID, Action: "agent.cert.renew", Object: "agent:" + id,
		Detail: map[string]any{"serial": Serial(cert), "not_after": cert.NotAfter, "previous_serial": Serial(presented),
			"previous_not_after": presented.NotAfter}}); err != nil {
		s.opts.Logger.Warn("fleet: certificate renewal not audited", "err", err)
	}
	return agent.RenewResponse{Certificate: string(certPEM), CACertificate: string(ca.CertPEM())}, nil
}

// Certificates lists the client certificates issued to one agent of the
// tenant, newest first; nil when the store keeps none.
func (s *Service) Certificates(ctx context.Context, tenantID, agentID string) ([]store.AgentCert, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	cs, ok := s.certStore()
	if !ok {
		return nil, nil
	}
	return cs.ListAgentCerts(ctx, tenantID, agentID)
}
