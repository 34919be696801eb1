package store

import (
	"context"
	"time"
)

// AgentCert is a client certificate the agent CA issued to a host agent,
// kept by serial so that every node sharing the store can refuse a
// revoked one at the TLS handshake. Serial is the certificate's serial
// number in lower-case hex.
type AgentCert struct {
	Serial    string
	TenantID  string
	AgentID   string
	NotBefore time.Time
	NotAfter  time.Time
	IssuedAt  time.Time
	// RevokedAt is zero while the certificate is not revoked.
	RevokedAt time.Time
}

// AgentCerts is implemented by stores that keep the agent certificates
// issued and their revocation. Callers type-assert the Store.
//
//   - RecordAgentCert stores a newly issued certificate; a serial stored
//     already is ErrConflict.
//   - AgentCertBySerial finds a certificate by serial, in any tenant
//     (the TLS handshake knows no tenant yet); ErrNotFound when unknown.
//   - RevokeAgentCerts revokes every certificate of the agent not revoked
//     yet, but the one whose serial is except (none when ""), and returns
//     how many it revoked.
//   - ListAgentCerts returns the agent's certificates, newest first.
type AgentCerts interface {
	RecordAgentCert(ctx context.Context, c *AgentCert) error
	AgentCertBySerial(ctx context.Context, serial string) (AgentCert, error)
	RevokeAgentCerts(ctx context.Context, tenantID, agentID, except string, at time.Time) (int64, error)
	ListAgentCerts(ctx context.Context, tenantID, agentID string) ([]AgentCert, error)
}
