package store

import (
	"context"
	"time"
)

// AnalystAdvisory is an early-warning advisory written by the SOC's
// analysts: a vulnerability or campaign notice matched against every
// tenant once published. Doc is the advisory as JSON (internal/intel/hunt
// owns its shape); the columns lists filter on sit beside it.
type AnalystAdvisory struct {
	ID          string
	Title       string
	Severity    string
	State       string // draft, published, withdrawn
	Doc         []byte
	Author      string // user ID
	PublishedAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version counts writes; Update refuses a stale one with ErrConflict.
	Version int
}

// AdvisoryFilter narrows an advisory list, newest change first.
type AdvisoryFilter struct {
	State string // "" is every state
	Page
}

// AdvisoryStore persists analyst advisories. They belong to the SOC, not
// to a tenant: who may read and write them is the desk's business.
type AdvisoryStore interface {
	// Create stores a new advisory with Version 1.
	Create(ctx context.Context, a *AnalystAdvisory) error
	// Update writes a when its Version is the stored one and bumps it;
	// otherwise ErrConflict (or ErrNotFound).
	Update(ctx context.Context, a *AnalystAdvisory) error
	Get(ctx context.Context, id string) (AnalystAdvisory, error)
	List(ctx context.Context, f AdvisoryFilter) ([]AnalystAdvisory, error)
}
