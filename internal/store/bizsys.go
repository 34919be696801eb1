package store

import (
	"context"
	"time"
)

// BusinessSystem (应用系统) groups a tenant's assets that serve one
// business purpose, with what the customer told about it: who owns it, who
// to call, its MLPS grade, how sensitive its data is and what it needs in
// confidentiality, integrity and availability. An asset may belong to
// several systems.
type BusinessSystem struct {
	ID          string
	TenantID    string
	Name        string // unique within the tenant
	Description string
	Owner       string
	// ContactID is the tenant contact who answers for the application
	// ("" for none); deleting the contact clears it.
	ContactID string
	// MLPSLevel is the graded protection level (等级保护) 1 to 5, 0 when
	// the system has not been graded.
	MLPSLevel int
	// DataSensitivity is public, internal, confidential or secret.
	DataSensitivity string
	// Confidentiality, Integrity and Availability are the security needs,
	// each 1 (low) to 5 (critical).
	Confidentiality int
	Integrity       int
	Availability    int
	// Members is the number of member assets (filled by Get and List).
	Members   int
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version counts writes; Update refuses a stale one with ErrConflict.
	Version int
}

// BusinessSystemStore persists business systems and their member assets.
// Deleting the tenant deletes its systems; deleting a system or an asset
// deletes their memberships.
type BusinessSystemStore interface {
	// Create stores a new system with Version 1. A duplicate name in the
	// tenant is ErrConflict; an unknown tenant ErrNotFound.
	Create(ctx context.Context, b *BusinessSystem) error
	Get(ctx context.Context, tenantID, id string) (BusinessSystem, error)
	// List returns the tenant's systems ordered by name.
	List(ctx context.Context, tenantID string) ([]BusinessSystem, error)
	// Update writes b when its Version is the stored one and bumps it;
	// otherwise ErrConflict (or ErrNotFound).
	Update(ctx context.Context, b *BusinessSystem) error
	Delete(ctx context.Context, tenantID, id string) error
	// AddMember puts an asset in a system; both must be of the tenant
	// (else ErrNotFound). Adding a member twice is no error.
	AddMember(ctx context.Context, tenantID, systemID, assetID string) error
	// RemoveMember takes an asset out of a system (ErrNotFound when it
	// was not in it).
	RemoveMember(ctx context.Context, tenantID, systemID, assetID string) error
	// MemberIDs returns the asset IDs of a system, in ID order.
	MemberIDs(ctx context.Context, tenantID, systemID string) ([]string, error)
	// SystemsOf returns the systems an asset belongs to, ordered by name.
	SystemsOf(ctx context.Context, tenantID, assetID string) ([]BusinessSystem, error)
	// Implied returns, for those of assetIDs (at most MaxPageSize) that
	// belong to a system of the tenant, the highest importance their
	// systems imply (the rule of internal/asset/bizsys, evaluated by the
	// database, the same that AssetFilter.MinEffective filters with).
	Implied(ctx context.Context, tenantID string, assetIDs []string) (map[string]int, error)
}
