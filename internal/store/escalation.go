package store

import (
	"context"
	"time"
)

// EscalationRule is one of a tenant's notification escalation rules; Spec
// is the rule as its owner (internal/notify) writes it in JSON.
type EscalationRule struct {
	TenantID  string
	Name      string
	Spec      []byte
	Enabled   bool
	UpdatedBy string
	UpdatedAt time.Time
	// EnabledAt is when the rule was last enabled or began to take KEV
	// matches (zero for a rule enabled before this was recorded).
	EnabledAt time.Time
	// KEVPending is set until the KEV matches already present at
	// EnabledAt (the backlog) have been skipped; KEVSkipped counts them.
	KEVPending bool
	KEVSkipped int
	// Restart, on PutRule, sets EnabledAt (to now when zero), KEVPending and clears
	// KEVSkipped (the rule is newly enabled); otherwise PutRule keeps
	// them as stored.
	Restart bool
}

// EscalationState is one escalation in progress: State is its JSON, Rev
// the number of writes so far (0 before the first).
type EscalationState struct {
	ID       string
	TenantID string
	Rule     string
	State    []byte
	NextAt   time.Time
	Done     bool
	Rev      int
	RaisedAt time.Time
}

// EscalationStore persists escalation rules and escalation state.
type EscalationStore interface {
	PutRule(ctx context.Context, r *EscalationRule) error // create or replace
	DeleteRule(ctx context.Context, tenantID, name string) error
	Rules(ctx context.Context, tenantID string) ([]EscalationRule, error)
	// EnabledRules lists the enabled rules of every tenant.
	EnabledRules(ctx context.Context) ([]EscalationRule, error)
	// SkipKEVBacklog adds skipped to a rule's KEVSkipped and clears
	// KEVPending, if the rule is still at enabledAt (not re-enabled since);
	// otherwise it does nothing. An unknown rule is ErrNotFound.
	SkipKEVBacklog(ctx context.Context, tenantID, name string, enabledAt time.Time, skipped int) error
	// Put writes e when the stored escalation is at revision e.Rev (an
	// unknown one is at 0) and stores it at e.Rev+1; otherwise ErrConflict.
	Put(ctx context.Context, e EscalationState) error
	Get(ctx context.Context, id string) (EscalationState, error)
	// Due lists at most limit open escalations with NextAt not after now,
	// the earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]EscalationState, error)
	// List returns a page of the tenant's escalations, newest first.
	List(ctx context.Context, tenantID string, p Page) ([]EscalationState, error)
}
