package store

import (
	"context"
	"time"
)

// AssessmentProject is one MLPS 2.0 (等级保护) assessment of a tenant's
// system: the assessed system (定级对象) at its protection level, the
// framework its items come from, the commissioned agency and the
// GB/T 28449-2018 activity it is in. Version counts writes: UpdateProject
// refuses a stale copy.
type AssessmentProject struct {
	ID        string
	TenantID  string
	Name      string
	System    string // 定级对象
	Level     int    // protection level, 2 or 3
	Framework string // compliance framework id, e.g. mlps2-l3
	Agency    string // commissioned assessment agency, "" when not yet chosen
	Phase     string // preparation, plan, onsite, report, done
	CreatedBy string // user ID
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// Result codes of an assessment item as stored; surfaces show them as
// 符合 / 部分符合 / 不符合 / 不适用.
const (
	ItemConform    = "conform"
	ItemPartial    = "partial"
	ItemNonConform = "nonconform"
	ItemNA         = "na"
)

// AssessmentItem is the result of one requirement item of a project on one
// assessed object ("" when the item is assessed once for the system).
// (ProjectID, Item, Object) is unique.
type AssessmentItem struct {
	TenantID  string
	ProjectID string
	Item      string // requirement id, e.g. L3-CES1-01
	Object    string
	Result    string // one of the Item* codes
	HighRisk  bool
	Resolved  bool // the high risk was resolved (e.g. by a compensating control)
	// Compensation is a compensating measure from the overall assessment
	// and Adjustment the value (0 to 1) it adds to the item's result.
	Compensation string
	Adjustment   float64
	Evidence     string
	Links        []string // evidence links (baseline results, findings, documents)
	Note         string
	Remediation  string
	Assessor     string // user ID
	UpdatedAt    time.Time
}

// ComplianceStore persists assessment projects and their item results.
// Every method is scoped by tenant; a project of another tenant is
// ErrNotFound.
type ComplianceStore interface {
	// CreateProject stores a new project; the store sets ID (when empty),
	// the times and Version 1. A second project of the tenant with the
	// same name is ErrConflict.
	CreateProject(ctx context.Context, p *AssessmentProject) error
	// GetProject returns one project.
	GetProject(ctx context.Context, tenantID, id string) (AssessmentProject, error)
	// ListProjects returns a page of the tenant's projects, most recently
	// updated first.
	ListProjects(ctx context.Context, tenantID string, p Page) ([]AssessmentProject, error)
	// UpdateProject writes name, system, agency and phase if the project
	// was not changed since it was read (ErrConflict otherwise).
	UpdateProject(ctx context.Context, p *AssessmentProject) error
	// PutItems inserts or replaces item results of a project, all or
	// none, and touches the project's UpdatedAt.
	PutItems(ctx context.Context, tenantID, projectID string, items []AssessmentItem) error
	// Items returns a project's item results by item id and object, at
	// most limit of them.
	Items(ctx context.Context, tenantID, projectID string, limit int) ([]AssessmentItem, error)
	// CountItems counts a project's item results.
	CountItems(ctx context.Context, tenantID, projectID string) (int, error)
	// DeleteItem removes one item result; a missing one is ErrNotFound.
	DeleteItem(ctx context.Context, tenantID, projectID, item, object string) error

	// The risk register, remediation and project logs.
	ComplianceRegisterStore
}
