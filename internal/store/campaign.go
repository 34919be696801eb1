package store

import (
	"context"
	"time"
)

// Campaign kinds as stored.
const (
	CampaignGoLive    = "golive"    // go-live security gate of one system version
	CampaignKeyPeriod = "keyperiod" // key-period campaign (重保)
)

// Campaign is a go-live gate or a key-period campaign of a tenant. Doc is
// the engine's own JSON of the campaign (release record or key period,
// rules, targets, phases, acceptances), without its tasks and results,
// which have their own rows. Version counts writes: Update refuses a stale
// copy.
type Campaign struct {
	ID       string
	TenantID string
	Kind     string // CampaignGoLive or CampaignKeyPeriod
	Name     string
	AssetID  string // the system of a go-live gate, "" otherwise
	PeriodID string // the calendar period of a key-period campaign, "" otherwise
	Phase    string // current phase
	Outcome  string // latest gate decision: pass, conditional-pass, fail, "" before one
	Closed   bool
	Start    time.Time
	End      time.Time
	Doc      []byte // JSON object
	// CreatedBy is the user ID of who opened the campaign.
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// CampaignFilter narrows a campaign list.
type CampaignFilter struct {
	Kind string // "" for every kind
	// OpenOnly keeps campaigns that are not closed.
	OpenOnly bool
	Page
}

// CampaignItem is one checklist item of a manual task.
type CampaignItem struct {
	ID       string `json:"id"`
	Ref      string `json:"ref,omitempty"`
	Text     string `json:"text"`
	Severity string `json:"severity"`
}

// CampaignTask is one task of a campaign, in the campaign's order.
type CampaignTask struct {
	ID     string
	Phase  string
	Kind   string
	Title  string
	Owner  string
	Due    time.Time // zero when none
	Params map[string]string
	Items  []CampaignItem
}

// CampaignFinding is one problem a task run found.
type CampaignFinding struct {
	Key      string   `json:"key"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	Score    float64  `json:"score,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
	Ref      string   `json:"ref,omitempty"`
}

// CampaignResult is one run of a task on a target (AssetID) or one answer
// to a checklist item (ItemID). Every run is kept: Run 1 is the first, a
// re-test adds Run 2 and up; the latest run of a slot is its result.
type CampaignResult struct {
	TenantID   string
	CampaignID string
	TaskID     string
	AssetID    string
	ItemID     string
	Run        int
	Status     string // pending, passed, failed, errored, not-applicable
	Findings   []CampaignFinding
	Error      string
	Evidence   []string
	By         string
	At         time.Time
}

// CampaignCondition is one risk-accepted open item a conditional pass
// rests on.
type CampaignCondition struct {
	AssetID  string    `json:"asset_id,omitempty"`
	Key      string    `json:"key"`
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	Approver string    `json:"approver"`
	Reason   string    `json:"reason"`
	Expires  time.Time `json:"expires"`
}

// CampaignDecision is one decision of a go-live gate. Seq numbers a
// campaign's decisions from 1.
type CampaignDecision struct {
	TenantID   string
	CampaignID string
	Seq        int
	Outcome    string // pass, conditional-pass, fail
	Reasons    []string
	Conditions []CampaignCondition
	// NextExpiry is the first expiry among the conditions.
	NextExpiry time.Time
	DecidedBy  string // user name, or "system" for the periodic check
	SignedOff  bool   // a person signed the decision off
	At         time.Time
}

// DutyContact is a person on a duty shift.
type DutyContact struct {
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// DutyShift is one shift of a key-period duty roster.
type DutyShift struct {
	Start   time.Time
	End     time.Time
	Lead    DutyContact
	Members []DutyContact
}

// CampaignDailyReport is the daily report of one watch day of a key-period
// campaign: whether the day was quiet (零报告), the archived report and
// the day's figures as JSON (for the summary). (CampaignID, Day) is
// unique.
type CampaignDailyReport struct {
	TenantID   string
	CampaignID string
	Day        string // YYYY-MM-DD in the period's zone
	Quiet      bool
	ReportID   string
	Figures    []byte // JSON object
	CreatedAt  time.Time
}

// CampaignStore persists campaigns. Every method is scoped by tenant; a
// campaign of another tenant is ErrNotFound.
type CampaignStore interface {
	// Create stores a new campaign with its tasks; the store sets ID (when
	// empty), the times and Version 1. A second campaign of the tenant
	// with the same name is ErrConflict.
	Create(ctx context.Context, c *Campaign, tasks []CampaignTask) error
	Get(ctx context.Context, tenantID, id string) (Campaign, error)
	// List returns a page of campaigns, most recently updated first.
	List(ctx context.Context, tenantID string, f CampaignFilter) ([]Campaign, error)
	// Update writes name, phase, outcome, closed, start, end and doc if
	// the campaign was not changed since it was read (ErrConflict
	// otherwise).
	Update(ctx context.Context, c *Campaign) error
	// Tasks returns the campaign's tasks in order.
	Tasks(ctx context.Context, tenantID, campaignID string) ([]CampaignTask, error)
	// AddResults appends runs, all or none: each gets the next Run of its
	// slot (task, asset, item). It touches the campaign's UpdatedAt.
	AddResults(ctx context.Context, tenantID, campaignID string, rs []CampaignResult) error
	// Results returns every run of the campaign by task, asset, item and
	// run.
	Results(ctx context.Context, tenantID, campaignID string) ([]CampaignResult, error)
	// AddDecision appends a decision; the store sets Seq.
	AddDecision(ctx context.Context, d *CampaignDecision) error
	// Decisions returns at most limit decisions, newest first.
	Decisions(ctx context.Context, tenantID, campaignID string, limit int) ([]CampaignDecision, error)
	// SetRoster replaces the duty roster.
	SetRoster(ctx context.Context, tenantID, campaignID string, shifts []DutyShift) error
	// Roster returns the shifts by start.
	Roster(ctx context.Context, tenantID, campaignID string) ([]DutyShift, error)
	// AddDailyReport stores the report of a day; a second one of the same
	// day is ErrConflict.
	AddDailyReport(ctx context.Context, r *CampaignDailyReport) error
	// DailyReports returns the campaign's daily reports by day.
	DailyReports(ctx context.Context, tenantID, campaignID string) ([]CampaignDailyReport, error)
	// Calendar returns the tenant's own key-period calendar; ErrNotFound
	// when it has none.
	Calendar(ctx context.Context, tenantID string) (CampaignCalendar, error)
	// SetCalendar stores the tenant's calendar: Version 0 creates it
	// (ErrConflict when the tenant has one), another Version replaces
	// that version (ErrConflict when it changed since it was read). The
	// store sets UpdatedAt and Version.
	SetCalendar(ctx context.Context, c *CampaignCalendar) error
}

// CampaignCalendar is a tenant's own key-period calendar, in the YAML
// format of the built-in one; a tenant without one uses the built-in
// calendar.
type CampaignCalendar struct {
	TenantID string
	Doc      []byte
	// UpdatedBy is the user ID of who changed it last.
	UpdatedBy string
	UpdatedAt time.Time
	Version   int
}
