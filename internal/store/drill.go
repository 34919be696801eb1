package store

import (
	"context"
	"time"
)

// Drill is an attack/defence exercise of a tenant as stored: its plan
// (scope, teams with their members, scoring scheme and planned cases kept
// as JSON the drill engine owns), its schedule and state. Version counts
// every change, of the plan or of the drill's log, so a stale edit is
// ErrConflict.
type Drill struct {
	ID                string
	TenantID          string
	Name              string
	State             string // planned, running, paused, finished
	Start, End        time.Time
	RulesOfEngagement string
	Scope             []byte // JSON
	Teams             []byte // JSON: names, roles, units and member usernames
	Scheme            []byte // JSON, empty for the default scheme
	Cases             []byte // JSON
	CreatedBy         string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Version           int
	// Participants are the other tenants the drill covers, in order, each
	// with its scope. Create and Update write them; List leaves them out.
	Participants []DrillParticipant
}

// DrillParticipant is another tenant a drill covers; Scope is the
// engine's scope of that tenant as JSON.
type DrillParticipant struct {
	TenantID string
	Scope    []byte
}

// DrillRecord is one attack action of a drill as stored; Body is the
// engine's record as JSON.
type DrillRecord struct {
	ID        string
	At        time.Time
	Team      string
	Technique string
	Body      []byte
}

// DrillObservation is a defence observation the defenders confirmed;
// Body is the engine's observation as JSON. Seq orders a drill's
// observations.
type DrillObservation struct {
	Seq      int64
	RecordID string
	AlertID  string
	At       time.Time
	By       string
	Body     []byte
}

// DrillAnnouncement is a directing team's message to the teams of one role
// (To empty: everyone).
type DrillAnnouncement struct {
	Seq  int64
	At   time.Time
	By   string
	To   string
	Text string
}

// DrillStateChange is one entry of a drill's state history. An emergency
// stop (running → paused) carries who and why.
type DrillStateChange struct {
	Seq    int64
	From   string
	To     string
	At     time.Time
	By     string
	Reason string
}

// DrillReport is a defender report (analysis, response, notification,
// coordination, tracing) submitted in a drill; Body is the engine's report
// as JSON. Accepted is the directing team's decision: only accepted
// reports score.
type DrillReport struct {
	ID       string
	At       time.Time
	Team     string
	Kind     string
	By       string
	Accepted bool
	Body     []byte
}

// DrillRemediation links a detection gap of a drill (named by its case) to
// the remediation work order made for it. WorkOrderID is empty while the
// order is being made.
type DrillRemediation struct {
	CaseID      string
	WorkOrderID string
	CreatedBy   string
	CreatedAt   time.Time
}

// DrillLog is everything that happened in a drill: records by time, then
// id; reports by time, then id; remediations by case; the other lists in
// the order they were added.
type DrillLog struct {
	Records       []DrillRecord
	Observations  []DrillObservation
	Announcements []DrillAnnouncement
	StateChanges  []DrillStateChange
	Reports       []DrillReport
	Remediations  []DrillRemediation
}

// DrillStore persists drills. Every method that adds to a drill's log
// takes the version the caller read: when the drill changed since, nothing
// is written and the error is ErrConflict; the version after the change is
// returned. A drill of another tenant is ErrNotFound.
type DrillStore interface {
	Create(ctx context.Context, d *Drill) error
	Get(ctx context.Context, tenantID, id string) (Drill, error)
	// List returns a page of the drills the tenant runs or takes part in,
	// latest start first. A drill of another tenant keeps that tenant's
	// TenantID: the caller shows a participant only its part.
	List(ctx context.Context, tenantID string, p Page) ([]Drill, error)
	// Owner returns the tenant that runs drill id when tenantID runs it or
	// takes part in it; otherwise ErrNotFound.
	Owner(ctx context.Context, tenantID, id string) (string, error)
	// DeleteRecord removes an attack record and the observations made on
	// it (ErrNotFound when the drill has no such record).
	DeleteRecord(ctx context.Context, tenantID, drillID string, version int, recordID string) (int, error)
	// Update writes the plan and state of d if d.Version is current.
	Update(ctx context.Context, d *Drill) error
	Delete(ctx context.Context, tenantID, id string) error
	// Log returns a drill's records, observations, announcements and state
	// history.
	Log(ctx context.Context, tenantID, id string) (DrillLog, error)
	AddRecord(ctx context.Context, tenantID, drillID string, version int, r *DrillRecord) (int, error)
	AddObservation(ctx context.Context, tenantID, drillID string, version int, o *DrillObservation) (int, error)
	AddAnnouncement(ctx context.Context, tenantID, drillID string, version int, a *DrillAnnouncement) (int, error)
	// ChangeState appends c to the state history and sets the drill's
	// state to c.To, in one transaction.
	ChangeState(ctx context.Context, tenantID, drillID string, version int, c *DrillStateChange) (int, error)
	// AddReport appends a defender report; an id the drill already has is
	// ErrConflict.
	AddReport(ctx context.Context, tenantID, drillID string, version int, r *DrillReport) (int, error)
	// UpdateReport writes the decision and body of a report of the drill
	// (ErrNotFound when it has none with r.ID).
	UpdateReport(ctx context.Context, tenantID, drillID string, version int, r *DrillReport) (int, error)
	// AddRemediation links a gap's case to a work order; a case linked
	// already is ErrConflict, so a gap gets one order. Links do not move
	// the drill's version.
	AddRemediation(ctx context.Context, tenantID, drillID string, r *DrillRemediation) error
	// SetRemediationOrder names the work order of a linked case.
	SetRemediationOrder(ctx context.Context, tenantID, drillID, caseID, workOrderID string) error
	// DeleteRemediation removes a case's link (when making its order
	// failed).
	DeleteRemediation(ctx context.Context, tenantID, drillID, caseID string) error
}
