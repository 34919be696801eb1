package store

import (
	"context"
	"time"
)

// Agent statuses.
const (
	AgentActive  = "active"
	AgentRevoked = "revoked"
)

// Agent is a host agent enrolled in a tenant. Its ID is the agent's own
// UUID (from its data directory); TokenHash is the SHA-256 (hex) of the
// credential it was given at enrolment, never the credential itself.
type Agent struct {
	TenantID    string
	ID          string
	Hostname    string
	Version     string
	TokenHash   string
	Status      string // AgentActive or AgentRevoked
	EnrolmentID string
	EnrolledAt  time.Time
	LastSeenAt  time.Time
	RevokedAt   time.Time
	// ConfigETag is the configuration the agent last said it applied.
	ConfigETag string
	// SpoolPending and SpoolDropped are the agent's spool figures from its
	// last heartbeat: bytes waiting, and events dropped since it started
	// counting (oldest dropped when the spool was full).
	SpoolPending int64
	SpoolDropped int64
}

// AgentEnrolment is an enrolment token of a tenant: a secret an admin hands
// to the people who install agents, good for MaxUses enrolments until
// ExpiresAt. Only its SHA-256 (hex) is kept.
type AgentEnrolment struct {
	ID        string
	TenantID  string
	Name      string
	TokenHash string
	MaxUses   int
	Uses      int
	ExpiresAt time.Time
	Revoked   bool
	CreatedBy string
	CreatedAt time.Time
}

// AgentConfig is the configuration pushed to a tenant's agents: the
// tenant's default (AgentID "") or one agent's own, which replaces the
// default for that agent. Body is a JSON document the agent package
// defines and validates; Version counts the row's updates.
type AgentConfig struct {
	TenantID  string
	AgentID   string
	Body      string
	Version   int64
	UpdatedBy string
	UpdatedAt time.Time
}

// AgentHeartbeat is what an agent reports on each heartbeat.
type AgentHeartbeat struct {
	At           time.Time
	Hostname     string
	Version      string
	ConfigETag   string
	SpoolPending int64
	SpoolDropped int64
}

// AgentStore persists enrolment tokens, enrolled agents and their pushed
// configuration. Every method but AgentByToken is scoped by tenant.
//
//   - Enrol consumes one use of a usable enrolment (not revoked, ExpiresAt
//     after a.EnrolledAt, Uses below MaxUses) found by its hash and creates
//     the agent in that enrolment's tenant, filling a.TenantID and
//     a.EnrolmentID; an unknown or used-up enrolment is ErrNotFound and
//     changes nothing. Enrolling an agent ID the tenant already has
//     replaces its credential and makes it active again.
//   - AgentByToken finds an agent by its credential's hash, whatever its
//     status; callers check Status and the tenant.
//   - Heartbeat and RevokeAgent of a missing agent are ErrNotFound;
//     Heartbeat of a revoked agent is ErrNotFound too.
//   - PutConfig sets Version to one more than the row's last (1 for a new
//     row) and UpdatedAt.
type AgentStore interface {
	CreateEnrolment(ctx context.Context, e *AgentEnrolment) error
	ListEnrolments(ctx context.Context, tenantID string) ([]AgentEnrolment, error)
	RevokeEnrolment(ctx context.Context, tenantID, id string) error
	Enrol(ctx context.Context, tokenHash string, a *Agent) error
	AgentByToken(ctx context.Context, tokenHash string) (Agent, error)
	GetAgent(ctx context.Context, tenantID, id string) (Agent, error)
	ListAgents(ctx context.Context, tenantID string, p Page) ([]Agent, error)
	Heartbeat(ctx context.Context, tenantID, id string, hb AgentHeartbeat) error
	RevokeAgent(ctx context.Context, tenantID, id string, at time.Time) error
	PutConfig(ctx context.Context, c *AgentConfig) error
	GetConfig(ctx context.Context, tenantID, agentID string) (AgentConfig, error)
	DeleteConfig(ctx context.Context, tenantID, agentID string) error
}
