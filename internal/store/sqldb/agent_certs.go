package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

var _ store.AgentCerts = (*Store)(nil)

const agentCertCols = `serial, tenant_id, agent_id, not_before, not_after, issued_at, revoked_at`

func scanAgentCert(r rowScanner) (store.AgentCert, error) {
	var c store.AgentCert
	err := r.Scan(&c.Serial, &c.TenantID, &c.AgentID, timeDest{&c.NotBefore}, timeDest{&c.NotAfter}, timeDest{&c.IssuedAt},
		timeDest{&c.RevokedAt})
	return c, err
}

// RecordAgentCert implements store.AgentCerts.
func (s *Store) RecordAgentCert(ctx context.Context, c *store.AgentCert) error {
	if c.IssuedAt.IsZero() {
		c.IssuedAt = s.stamp()
	}
	c.NotBefore, c.NotAfter, c.IssuedAt, c.RevokedAt = norm(c.NotBefore), norm(c.NotAfter), norm(c.IssuedAt), time.Time{}
	_, err := s.conn().exec(ctx, `INSERT INTO agent_certs (`+agentCertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.Serial, c.TenantID, c.AgentID, s.t(c.NotBefore), s.t(c.NotAfter), s.t(c.IssuedAt), nil)
	return s.wrap("record agent certificate", err)
}

// AgentCertBySerial implements store.AgentCerts.
func (s *Store) AgentCertBySerial(ctx context.Context, serial string) (store.AgentCert, error) {
	c, err := scanAgentCert(s.conn().queryRow(ctx, `SELECT `+agentCertCols+` FROM agent_certs WHERE serial = ?`, serial))
	return c, s.wrap("get agent certificate", err)
}

// RevokeAgentCerts implements store.AgentCerts.
func (s *Store) RevokeAgentCerts(ctx context.Context, tenantID, agentID, except string, at time.Time) (int64, error) {
	if at.IsZero() {
		at = s.stamp()
	}
	res, err := s.conn().exec(ctx, `UPDATE agent_certs SET revoked_at = ?
		WHERE tenant_id = ? AND agent_id = ? AND serial <> ? AND revoked_at IS NULL`, s.t(at), tenantID, agentID, except)
	if err != nil {
		return 0, s.wrap("revoke agent certificates", err)
	}
	n, err := res.RowsAffected()
	return n, s.wrap("revoke agent certificates", err)
}

// ListAgentCerts implements store.AgentCerts.
func (s *Store) ListAgentCerts(ctx context.Context, tenantID, agentID string) ([]store.AgentCert, error) {
	cs, err := collect(ctx, s.conn(), scanAgentCert, `SELECT `+agentCertCols+` FROM agent_certs
		WHERE tenant_id = ? AND agent_id = ? ORDER BY issued_at DESC, serial DESC LIMIT ?`, tenantID, agentID, store.MaxPageSize)
	return cs, s.wrap("list agent certificates", err)
}
