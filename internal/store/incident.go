package store

import (
	"context"
	"time"
)

// Incident is one incident response case of a tenant. Seq is the tenant's
// case number (1, 2, ...) and Ref the reference shown to people
// ("IR-2026-0042": the year the case was opened and Seq); both are assigned
// by the store. Version counts writes: Update refuses a stale copy.
//
// The SLA due times are computed by the incident service from the
// severity and stored so that "SLA breached" is a query.
type Incident struct {
	ID          string
	TenantID    string
	Seq         int
	Ref         string
	Title       string
	Description string // markdown source as written; surfaces sanitise it
	Severity    string // low, medium, high, critical
	TLP         string // clear, green, amber, amber+strict, red
	PAP         string // white, green, amber, red
	Category    string // malware, intrusion, data_leak, dos, defacement, phishing, insider, other
	GBClass     string // a GB/T 20986-2023 class code of the incident service
	Phase       string // detect, contain, eradicate, recover, summarise, closed
	Resolution  string // set when closed: true_positive, false_positive, duplicate, benign
	Assignee    string // user ID or ""
	Tags        []string
	Techniques  []string // MITRE ATT&CK technique IDs
	AssetIDs    []string // affected assets
	// ReportSections holds the analyst-written report text by section key
	// (summary, impact, root_cause, recommendations).
	ReportSections map[string]string
	ReportFinal    bool
	CreatedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	AcknowledgedAt time.Time
	ContainedAt    time.Time
	ClosedAt       time.Time
	AckDue         time.Time
	ContainDue     time.Time
	CloseDue       time.Time
	Version        int
}

// IncidentFilter narrows a case list. Lists are sorted by UpdatedAt, newest
// first.
type IncidentFilter struct {
	Phases   []string
	Severity string
	Assignee string
	Category string
	Tag      string
	// Query is a case reference (IR-2026-0042, any case), which finds that
	// case only, or else text matching a substring of the title or an
	// observable value of the case exactly (values are normalised by the
	// service before they are stored and before they are searched).
	Query string
	// Breached keeps open cases (ClosedAt zero) with a timer past due at
	// Now: not acknowledged by AckDue, not contained by ContainDue, or not
	// closed by CloseDue.
	Breached bool
	Now      time.Time
	// CountCap, when positive, makes Count stop at that number, so
	// counting a large result does not read all of it.
	CountCap int
	Page
}

// IncidentEntry is one stored timeline entry of a case: a phase change or
// an analyst's note. At is when the fact happened, CreatedAt when it was
// written.
type IncidentEntry struct {
	ID        string
	TenantID  string
	CaseID    string
	At        time.Time
	Kind      string // phase, note, ...
	Actor     string // user ID
	Text      string
	CreatedAt time.Time
}

// IncidentAlert links an alert to the case it was promoted to; an alert
// belongs to one case at most.
type IncidentAlert struct {
	TenantID string
	CaseID   string
	AlertID  string
	AddedBy  string
	AddedAt  time.Time
}

// ChecklistItem is one line of a task's checklist.
type ChecklistItem struct {
	Text string `json:"text"`
	Done bool   `json:"done"`
}

// IncidentTask is one piece of work on a case.
type IncidentTask struct {
	ID          string
	TenantID    string
	CaseID      string
	Title       string
	Description string
	Phase       string
	Owner       string // user ID or ""
	Status      string // todo, doing, done, skipped
	DueAt       time.Time
	Checklist   []ChecklistItem
	Source      string // the playbook it came from, or ""
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DoneAt      time.Time
}

// IncidentTaskLog is one entry of a task's work log.
type IncidentTaskLog struct {
	ID       string
	TenantID string
	CaseID   string
	TaskID   string
	Author   string // user ID
	At       time.Time
	Text     string
}

// IncidentObservable is one observable of a case; Type and Value (as
// normalised by the service) are unique per case.
type IncidentObservable struct {
	ID          string
	TenantID    string
	CaseID      string
	Type        string // ip, domain, url, hash, email, file, user, process, other
	Value       string
	IOC         bool
	Tags        []string
	Description string
	FirstSeen   time.Time
	LastSeen    time.Time
	CreatedBy   string
	CreatedAt   time.Time
}

// IncidentEvidence is one uploaded evidence file of a case; the content is
// kept once per tenant and SHA-256.
type IncidentEvidence struct {
	ID           string
	TenantID     string
	CaseID       string
	SHA256       string // hex
	Name         string
	Size         int64
	SniffedType  string // from the content
	DeclaredType string // as uploaded
	Description  string
	CreatedBy    string
	CreatedAt    time.Time
}

// IncidentCustody is one link of an evidence file's chain of custody. The
// store only appends them.
type IncidentCustody struct {
	ID         string
	TenantID   string
	EvidenceID string
	At         time.Time
	Actor      string // user ID
	Action     string // added, downloaded, verified, verify_failed
	Detail     string
}

// IncidentStore persists incident response cases. Every method takes the
// tenant ID; a case, task or evidence of another tenant is ErrNotFound.
type IncidentStore interface {
	// Create assigns ID (when empty), Seq, Ref, CreatedAt, UpdatedAt and
	// Version 1, and stores the case.
	Create(ctx context.Context, c *Incident) error
	Get(ctx context.Context, tenantID, id string) (Incident, error)
	// GetByRef finds a case by its reference (case-insensitive).
	GetByRef(ctx context.Context, tenantID, ref string) (Incident, error)
	List(ctx context.Context, tenantID string, f IncidentFilter) ([]Incident, error)
	Count(ctx context.Context, tenantID string, f IncidentFilter) (int, error)
	// Update writes c when c.Version is still the stored version (else
	// ErrConflict), sets UpdatedAt, increments Version and appends the
	// timeline entries, in one transaction. Seq, Ref, CreatedBy and
	// CreatedAt do not change.
	Update(ctx context.Context, c *Incident, entries []IncidentEntry) error

	// LinkAlerts links alerts to a case; an alert already linked to a case
	// is ErrConflict and nothing is linked.
	LinkAlerts(ctx context.Context, tenantID, caseID string, alertIDs []string, by string, at time.Time) error
	CaseAlerts(ctx context.Context, tenantID, caseID string) ([]IncidentAlert, error)
	// CaseOfAlert returns the case an alert is linked to ("" for none).
	CaseOfAlert(ctx context.Context, tenantID, alertID string) (string, error)

	AddEntry(ctx context.Context, e *IncidentEntry) error
	// Entries returns a case's stored timeline entries by At.
	Entries(ctx context.Context, tenantID, caseID string) ([]IncidentEntry, error)

	CreateTasks(ctx context.Context, tasks []IncidentTask) error
	GetTask(ctx context.Context, tenantID, id string) (IncidentTask, error)
	UpdateTask(ctx context.Context, t *IncidentTask) error
	// Tasks returns a case's tasks in creation order.
	Tasks(ctx context.Context, tenantID, caseID string) ([]IncidentTask, error)
	AddTaskLog(ctx context.Context, l *IncidentTaskLog) error
	// TaskLogs returns every task log entry of a case by At.
	TaskLogs(ctx context.Context, tenantID, caseID string) ([]IncidentTaskLog, error)

	// AddObservables stores observables of one case in one transaction; one
	// already on the case (same type and value) is merged: IOC is or-ed,
	// tags are joined, the seen range widened, and the stored row is
	// written back into the slice.
	AddObservables(ctx context.Context, tenantID, caseID string, obs []IncidentObservable) error
	UpdateObservable(ctx context.Context, o *IncidentObservable) error
	// Observables returns a case's observables by type and value.
	Observables(ctx context.Context, tenantID, caseID string) ([]IncidentObservable, error)
	// Sightings returns observables of the same type and value on other
	// cases of the tenant, newest first, at most limit.
	Sightings(ctx context.Context, tenantID, caseID, typ, value string, limit int) ([]IncidentObservable, error)

	// AddEvidence stores the content once per tenant and SHA-256 (an
	// existing blob is kept), the evidence row and its "added" custody
	// link, in one transaction.
	AddEvidence(ctx context.Context, e *IncidentEvidence, content []byte, custody IncidentCustody) error
	GetEvidence(ctx context.Context, tenantID, id string) (IncidentEvidence, error)
	// EvidenceContent returns the stored content of an evidence file.
	EvidenceContent(ctx context.Context, tenantID, id string) ([]byte, error)
	Evidence(ctx context.Context, tenantID, caseID string) ([]IncidentEvidence, error)
	AddCustody(ctx context.Context, c *IncidentCustody) error
	// Custody returns an evidence file's chain of custody by At.
	Custody(ctx context.Context, tenantID, evidenceID string) ([]IncidentCustody, error)
}
