package store

import (
	"context"
	"time"
)

// Commission is a regulator's commission of a third-party assessment
// organisation (委托第三方): the organisation's users (Members) act as
// assessors in exactly the tenants of Scope from StartsAt until EndsAt,
// unless it is revoked earlier. A commission spans tenants, so the row
// itself has no tenant; each scope entry belongs to its tenant and goes
// with it. Version counts writes: RevokeCommission refuses a stale copy.
type Commission struct {
	ID        string
	Org       string // the commissioned organisation
	Contact   string
	Purpose   string
	Scope     []CommissionScope // by tenant ID
	Members   []string          // user IDs of the organisation's assessors, sorted
	StartsAt  time.Time
	EndsAt    time.Time
	RevokedAt time.Time // zero while not revoked
	RevokedBy string
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// CommissionScope is one commissioned tenant with the systems (asset IDs)
// to be assessed there; no systems means the whole tenant.
type CommissionScope struct {
	TenantID string
	Systems  []string
}

// CommissionGrant is a tenant a user may act in through a commission.
type CommissionGrant struct {
	CommissionID string
	TenantID     string
	EndsAt       time.Time
}

// ComplianceCommissionStore persists commissions.
type ComplianceCommissionStore interface {
	// CreateCommission stores a commission with its scope and members;
	// the store sets ID (when empty), the times and Version 1. A scope
	// tenant or member that does not exist is ErrNotFound.
	CreateCommission(ctx context.Context, c *Commission) error
	// GetCommission returns one commission with its scope and members.
	GetCommission(ctx context.Context, id string) (Commission, error)
	// ListCommissions returns a page of the commissions with at least one
	// scope tenant among tenantIDs (every commission when all is set),
	// most recently created first, with their scope and members.
	ListCommissions(ctx context.Context, tenantIDs []string, all bool, p Page) ([]Commission, error)
	// RevokeCommission sets RevokedAt and RevokedBy if the commission was
	// not changed since it was read (ErrConflict otherwise).
	RevokeCommission(ctx context.Context, c *Commission) error
	// CommissionGrants returns the tenants userID may act in at time at:
	// commissions not revoked with StartsAt <= at < EndsAt.
	CommissionGrants(ctx context.Context, userID string, at time.Time) ([]CommissionGrant, error)
}
