package store

import (
	"context"
	"time"
)

// RiskAssessment is one GB/T 20984 risk assessment of a tenant. Doc holds
// its input — assets, threats, vulnerabilities with their existing
// controls, scenarios and treatment decisions — as the JSON the risk
// engine reads; the risks themselves are computed on every read. Version
// counts writes: UpdateRiskAssessment refuses a stale copy.
type RiskAssessment struct {
	ID        string
	TenantID  string
	Name      string
	Method    string // risk method name: formula or matrix
	Doc       []byte
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// Sources of a remediation item.
const (
	RemediationFromAssessment = "assessment_item" // a non-conforming item of an assessment project
	RemediationFromRisk       = "risk"            // a high risk of a risk assessment
)

// States of a remediation item (整改).
const (
	RemediationOpen     = "open"
	RemediationProgress = "in_progress"
	RemediationVerified = "verified" // a re-verification passed
	RemediationClosed   = "closed"   // closed without a passing re-verification (e.g. risk accepted)
)

// RemediationItem is one gap or risk to be fixed. (SourceKind, SourceID,
// SourceRef) is unique per tenant: raising the same gap twice keeps one.
type RemediationItem struct {
	ID          string
	TenantID    string
	SourceKind  string // one of the RemediationFrom* values
	SourceID    string // the project or risk assessment
	SourceRef   string // item and object ("L3-CES1-01" or "L3-CES1-01@db-01"), or scenario id
	Title       string
	Detail      string
	Level       string // what was found: an item result code or a risk level
	State       string
	Owner       string
	Due         time.Time // zero when none
	WorkOrderID string    // the work order that carries it out, "" when none
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// RemediationFilter narrows a remediation list; empty fields match all.
type RemediationFilter struct {
	SourceKind string
	SourceID   string
	State      string
	Page       Page
}

// RemediationVerification is one re-verification (复核) of a remediation
// item: what it was before and what the verifier found after.
type RemediationVerification struct {
	ID         string
	TenantID   string
	ItemID     string
	Before     string
	After      string
	Passed     bool
	Note       string
	VerifiedBy string
	VerifiedAt time.Time
}

// VerificationFilter selects re-verifications: of one item, or of every
// item in [From, To) when ItemID is empty.
type VerificationFilter struct {
	ItemID   string
	From, To time.Time
	Limit    int // required
}

// Kinds of a communication of an assessment project.
const (
	CommunicationMeeting  = "meeting"
	CommunicationDecision = "decision"
	CommunicationNote     = "note"
)

// ProjectCommunication is one entry of a project's communication log:
// a meeting, a decision or a note, with who took part and when. Entries
// are never changed or removed.
type ProjectCommunication struct {
	ID           string
	TenantID     string
	ProjectID    string
	Kind         string
	OccurredAt   time.Time
	Participants string
	Text         string
	CreatedBy    string
	CreatedAt    time.Time
}

// ComplianceRegisterStore persists risk assessments, remediation items
// and their re-verifications, communication logs and the assets of
// assessment projects. Every method is scoped by tenant; a row of another
// tenant is ErrNotFound.
type ComplianceRegisterStore interface {
	// CreateRiskAssessment stores a new assessment; the store sets ID
	// (when empty), the times and Version 1. A second one of the tenant
	// with the same name is ErrConflict.
	CreateRiskAssessment(ctx context.Context, r *RiskAssessment) error
	GetRiskAssessment(ctx context.Context, tenantID, id string) (RiskAssessment, error)
	// ListRiskAssessments returns a page, most recently updated first;
	// Doc is left empty.
	ListRiskAssessments(ctx context.Context, tenantID string, p Page) ([]RiskAssessment, error)
	// UpdateRiskAssessment writes name, method and doc if the assessment
	// was not changed since it was read (ErrConflict otherwise).
	UpdateRiskAssessment(ctx context.Context, r *RiskAssessment) error

	// CreateRemediation stores a new item; the store sets ID, the times
	// and Version 1. An item of the same source is ErrConflict.
	CreateRemediation(ctx context.Context, it *RemediationItem) error
	GetRemediation(ctx context.Context, tenantID, id string) (RemediationItem, error)
	// ListRemediation returns a page, most recently updated first.
	ListRemediation(ctx context.Context, tenantID string, f RemediationFilter) ([]RemediationItem, error)
	// UpdateRemediation writes title, detail, state, owner, due and the
	// work order if the item was not changed since it was read.
	UpdateRemediation(ctx context.Context, it *RemediationItem) error
	// AddVerification stores a re-verification of an item; the store sets
	// ID and VerifiedAt.
	AddVerification(ctx context.Context, v *RemediationVerification) error
	// Verifications returns re-verifications oldest first.
	Verifications(ctx context.Context, tenantID string, f VerificationFilter) ([]RemediationVerification, error)

	// AddCommunication appends to a project's communication log; the
	// store sets ID and CreatedAt. There is no update or delete.
	AddCommunication(ctx context.Context, c *ProjectCommunication) error
	// Communications returns a project's log, oldest first, at most limit.
	Communications(ctx context.Context, tenantID, projectID string, limit int) ([]ProjectCommunication, error)

	// SetProjectAssets replaces the assets a project covers; an asset not
	// of the tenant is ErrNotFound.
	SetProjectAssets(ctx context.Context, tenantID, projectID string, assetIDs []string) error
	// ProjectAssets returns the IDs of the assets a project covers, sorted.
	ProjectAssets(ctx context.Context, tenantID, projectID string) ([]string, error)
	// EvidenceCounts counts the files attached to each item of a project
	// (attachments of kind assessment_item whose owner is
	// "<project>/<item>"), keyed by item id.
	EvidenceCounts(ctx context.Context, tenantID, projectID string) (map[string]int, error)

	// Compliance inspections.
	ComplianceInspectionStore
	ComplianceCommissionStore
}
