package store

import (
	"context"
	"time"
)

// CustomRule is a Sigma rule a tenant uploaded: ID is the rule's own id,
// Source its YAML as uploaded.
type CustomRule struct {
	TenantID  string
	ID        string
	Title     string
	Source    []byte
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RuleSetting is a tenant's choice for one rule (built-in or custom):
// whether it runs.
type RuleSetting struct {
	TenantID  string
	RuleID    string
	Enabled   bool
	UpdatedBy string
	UpdatedAt time.Time
}

// CorrelationState is a snapshot of a tenant's correlation windows, as
// the detection engine writes it (JSON), so that a restart inside a
// window still fires.
type CorrelationState struct {
	TenantID string
	// NodeID is the node that saved the snapshot: each ingest node keeps
	// its own ("" for snapshots saved before nodes were told apart).
	NodeID  string
	State   []byte
	SavedAt time.Time
}

// MaxCorrelationState bounds one snapshot, in bytes.
const MaxCorrelationState = 32 << 20

// MaxNodeID bounds a CorrelationState's NodeID, in bytes.
const MaxNodeID = 200

// DetectionStore persists a tenant's custom Sigma rules, which rules run,
// and the correlation state.
type DetectionStore interface {
	// PutCustomRule creates or replaces the tenant's rule with r.ID.
	PutCustomRule(ctx context.Context, r *CustomRule) error
	// DeleteCustomRule removes a rule; an unknown one is ErrNotFound.
	DeleteCustomRule(ctx context.Context, tenantID, id string) error
	// CustomRules lists a tenant's rules by title; tenantID "" lists
	// every tenant's.
	CustomRules(ctx context.Context, tenantID string) ([]CustomRule, error)
	// SetRuleEnabled records whether a rule runs for the tenant.
	SetRuleEnabled(ctx context.Context, s *RuleSetting) error
	// RuleSettings lists a tenant's settings by rule id; tenantID ""
	// lists every tenant's.
	RuleSettings(ctx context.Context, tenantID string) ([]RuleSetting, error)
	// SaveCorrelationState replaces the snapshot of the tenant and node
	// (s.NodeID), leaving other nodes' snapshots alone; one larger than
	// MaxCorrelationState is ErrInvalid.
	SaveCorrelationState(ctx context.Context, s *CorrelationState) error
	// CorrelationStates returns every tenant's and node's snapshot.
	CorrelationStates(ctx context.Context) ([]CorrelationState, error)
	// DeleteCorrelationState drops the tenant's snapshots, of every
	// node, if any.
	DeleteCorrelationState(ctx context.Context, tenantID string) error
}
