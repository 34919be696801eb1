package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// Agents returns the host agent store.
func (s *Store) Agents() store.AgentStore { return agents{s} }

// agents implements store.AgentStore; every query but AgentByToken is
// scoped by tenant.
type agents struct{ s *Store }

const enrolmentCols = `id, tenant_id, name, token_hash, max_uses, uses, expires_at, revoked, created_by, created_at`

func scanEnrolment(r rowScanner) (store.AgentEnrolment, error) {
	var e store.AgentEnrolment
	err := r.Scan(&e.ID, &e.TenantID, &e.Name, &e.TokenHash, &e.MaxUses, &e.Uses, timeDest{&e.ExpiresAt}, &e.Revoked,
		&e.CreatedBy, timeDest{&e.CreatedAt})
	return e, err
}

const agentCols = `tenant_id, id, hostname, version, token_hash, status, enrolment_id, enrolled_at, last_seen_at, revoked_at,
	config_etag, spool_pending, spool_dropped`

func scanAgent(r rowScanner) (store.Agent, error) {
	var a store.Agent
	err := r.Scan(&a.TenantID, &a.ID, &a.Hostname, &a.Version, &a.TokenHash, &a.Status, &a.EnrolmentID,
		timeDest{&a.EnrolledAt}, timeDest{&a.LastSeenAt}, timeDest{&a.RevokedAt}, &a.ConfigETag, &a.SpoolPending, &a.SpoolDropped)
	return a, err
}

// CreateEnrolment stores a new enrolment token.
func (x agents) CreateEnrolment(ctx context.Context, e *store.AgentEnrolment) error {
	s := x.s
	if err := ensureID(&e.ID); err != nil {
		return err
	}
	e.CreatedAt, e.ExpiresAt, e.Uses, e.Revoked = s.stamp(), norm(e.ExpiresAt), 0, false
	_, err := s.conn().exec(ctx, `INSERT INTO agent_enrolments (`+enrolmentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.TenantID, e.Name, e.TokenHash, e.MaxUses, e.Uses, s.t(e.ExpiresAt), e.Revoked, e.CreatedBy, s.t(e.CreatedAt))
	return s.wrap("create agent enrolment", err)
}

// ListEnrolments returns the tenant's enrolment tokens, newest first.
func (x agents) ListEnrolments(ctx context.Context, tenantID string) ([]store.AgentEnrolment, error) {
	es, err := collect(ctx, x.s.conn(), scanEnrolment, `SELECT `+enrolmentCols+` FROM agent_enrolments WHERE tenant_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, tenantID, store.MaxPageSize)
	return es, x.s.wrap("list agent enrolments", err)
}

// RevokeEnrolment makes an enrolment token unusable.
func (x agents) RevokeEnrolment(ctx context.Context, tenantID, id string) error {
	return x.s.wrap("revoke agent enrolment", affected(x.s.conn().exec(ctx,
		`UPDATE agent_enrolments SET revoked = ? WHERE tenant_id = ? AND id = ?`, true, tenantID, id)))
}

// Enrol consumes one use of the enrolment and creates (or re-enrols) the
// agent in the enrolment's tenant, in one transaction.
func (x agents) Enrol(ctx context.Context, tokenHash string, a *store.Agent) error {
	s := x.s
	if a.EnrolledAt.IsZero() {
		a.EnrolledAt = s.stamp()
	}
	a.EnrolledAt = norm(a.EnrolledAt)
	err := s.inTx(ctx, func(c conn) error {
		var id, tenantID string
		err := c.queryRow(ctx, `SELECT id, tenant_id FROM agent_enrolments WHERE token_hash = ? AND revoked = ?
			AND uses < max_uses AND expires_at > ?`, tokenHash, false, s.t(a.EnrolledAt)).Scan(&id, &tenantID)
		if err != nil {
			return err
		}
		// The guard repeats the conditions so that two enrolments racing
		// on PostgreSQL's read committed cannot both take the last use.
		if err := affected(c.exec(ctx, `UPDATE agent_enrolments SET uses = uses + 1 WHERE id = ? AND uses < max_uses`, id)); err != nil {
			return err
		}
		a.TenantID, a.EnrolmentID, a.Status = tenantID, id, store.AgentActive
		a.LastSeenAt, a.RevokedAt, a.ConfigETag, a.SpoolPending, a.SpoolDropped = time.Time{}, time.Time{}, "", 0, 0
		_, err = c.exec(ctx, `INSERT INTO agents (`+agentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET hostname = excluded.hostname, version = excluded.version,
			token_hash = excluded.token_hash, status = excluded.status, enrolment_id = excluded.enrolment_id,
			enrolled_at = excluded.enrolled_at, last_seen_at = excluded.last_seen_at, revoked_at = excluded.revoked_at,
			config_etag = excluded.config_etag, spool_pending = excluded.spool_pending, spool_dropped = excluded.spool_dropped`,
			a.TenantID, a.ID, a.Hostname, a.Version, a.TokenHash, a.Status, a.EnrolmentID, s.t(a.EnrolledAt),
			nil, nil, "", 0, 0)
		return err
	})
	return s.wrap("enrol agent", err)
}

// AgentByToken finds an agent by its credential's hash.
func (x agents) AgentByToken(ctx context.Context, tokenHash string) (store.Agent, error) {
	a, err := scanAgent(x.s.conn().queryRow(ctx, `SELECT `+agentCols+` FROM agents WHERE token_hash = ?`, tokenHash))
	return a, x.s.wrap("agent by token", err)
}

// GetAgent returns one agent of the tenant.
func (x agents) GetAgent(ctx context.Context, tenantID, id string) (store.Agent, error) {
	a, err := scanAgent(x.s.conn().queryRow(ctx, `SELECT `+agentCols+` FROM agents WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return a, x.s.wrap("get agent", err)
}

// ListAgents returns a page of the tenant's agents by host name.
func (x agents) ListAgents(ctx context.Context, tenantID string, p store.Page) ([]store.Agent, error) {
	limit, offset := PageBounds(p)
	as, err := collect(ctx, x.s.conn(), scanAgent, `SELECT `+agentCols+` FROM agents WHERE tenant_id = ?
		ORDER BY hostname, id LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return as, x.s.wrap("list agents", err)
}

// Heartbeat records an active agent's report.
func (x agents) Heartbeat(ctx context.Context, tenantID, id string, hb store.AgentHeartbeat) error {
	s := x.s
	if hb.At.IsZero() {
		hb.At = s.stamp()
	}
	return s.wrap("agent heartbeat", affected(s.conn().exec(ctx, `UPDATE agents SET last_seen_at = ?, hostname = ?, version = ?,
		config_etag = ?, spool_pending = ?, spool_dropped = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
		s.t(hb.At), hb.Hostname, hb.Version, hb.ConfigETag, hb.SpoolPending, hb.SpoolDropped, tenantID, id, store.AgentActive)))
}

// RevokeAgent revokes an agent's credential.
func (x agents) RevokeAgent(ctx context.Context, tenantID, id string, at time.Time) error {
	s := x.s
	if at.IsZero() {
		at = s.stamp()
	}
	return s.wrap("revoke agent", affected(s.conn().exec(ctx, `UPDATE agents SET status = ?, revoked_at = ?
		WHERE tenant_id = ? AND id = ?`, store.AgentRevoked, s.t(at), tenantID, id)))
}

// PutConfig creates or replaces a configuration, bumping its version.
func (x agents) PutConfig(ctx context.Context, c *store.AgentConfig) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(cn conn) error {
		if _, err := cn.exec(ctx, `INSERT INTO agent_configs (tenant_id, agent_id, body, version, updated_by, updated_at)
			VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (tenant_id, agent_id) DO UPDATE SET body = excluded.body,
			version = agent_configs.version + 1, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			c.TenantID, c.AgentID, c.Body, c.UpdatedBy, s.t(now)); err != nil {
			return err
		}
		return cn.queryRow(ctx, `SELECT version FROM agent_configs WHERE tenant_id = ? AND agent_id = ?`,
			c.TenantID, c.AgentID).Scan(&c.Version)
	})
	if err != nil {
		return s.wrap("put agent config", err)
	}
	c.UpdatedAt = now
	return nil
}

// GetConfig returns the configuration row of the tenant (agentID "") or
// of one agent.
func (x agents) GetConfig(ctx context.Context, tenantID, agentID string) (store.AgentConfig, error) {
	var c store.AgentConfig
	err := x.s.conn().queryRow(ctx, `SELECT tenant_id, agent_id, body, version, updated_by, updated_at FROM agent_configs
		WHERE tenant_id = ? AND agent_id = ?`, tenantID, agentID).Scan(&c.TenantID, &c.AgentID, &c.Body, &c.Version,
		&c.UpdatedBy, timeDest{&c.UpdatedAt})
	return c, x.s.wrap("get agent config", err)
}

// DeleteConfig removes a configuration row.
func (x agents) DeleteConfig(ctx context.Context, tenantID, agentID string) error {
	return x.s.wrap("delete agent config", affected(x.s.conn().exec(ctx,
		`DELETE FROM agent_configs WHERE tenant_id = ? AND agent_id = ?`, tenantID, agentID)))
}
