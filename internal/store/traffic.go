package store

import (
	"context"
	"time"
)

// Traffic analysis statuses.
const (
	TrafficPending = "pending"
	TrafficRunning = "running"
	TrafficDone    = "done"
	TrafficFailed  = "failed"
)

// Traffic finding states an analyst gives.
const (
	TrafficNew           = "new"
	TrafficConfirmed     = "confirmed"
	TrafficFalsePositive = "false-positive"
)

// TrafficAnalysis is one traffic risk analysis of a tenant: an uploaded
// input (Zeek logs, Suricata EVE JSON, a pcap) analysed by a worker.
type TrafficAnalysis struct {
	ID       string
	TenantID string
	Name     string // the input's file names
	Kind     string // zeek, eve, pcap
	Status   string // pending, running, done, failed
	Error    string
	// From and To bound the records' times; zero until done.
	From, To                time.Time
	Lines, Records, Skipped int64
	Findings                int // findings stored
	Alerts                  int // findings that have an alert
	// Summary is the result as JSON (first skips, host ranking); only Get
	// returns it.
	Summary    []byte
	CreatedBy  string
	CreatedAt  time.Time
	FinishedAt time.Time
}

// TrafficInput is one uploaded file of an analysis.
type TrafficInput struct {
	Name string
	Data []byte
}

// TrafficFinding is one finding of an analysis.
type TrafficFinding struct {
	ID         string
	TenantID   string
	AnalysisID string
	// Key names the finding across analyses (class, hosts, port, domain,
	// rule): the same finding found again has the same key.
	Key       string
	Class     string // beacon, dns_tunnel, scan_horizontal...
	Category  string // compromised, external-attack, internal-attack, violation
	Severity  string
	Score     float64
	Src, Dst  string
	DstPort   int
	Proto     string
	Domain    string
	Rule      string
	Indicator string
	Technique string // MITRE ATT&CK technique ID, or ""
	Summary   string // the explanation
	// Detail is the finding as JSON (sub-scores...); only GetFinding
	// returns it.
	Detail                 []byte
	Count, Bytes, Distinct int64
	FirstSeen, LastSeen    time.Time
	State                  string // new, confirmed, false-positive
	Note                   string
	MarkedBy               string
	MarkedAt               time.Time
	AlertID                string // the alert raised for it, or ""
}

// TrafficFindingFilter narrows a finding list. Findings are listed highest
// score first.
type TrafficFindingFilter struct {
	AnalysisID string
	Category   string
	Class      string
	States     []string
	// Since keeps findings last seen at or after it; Until keeps findings
	// first seen before it.
	Since, Until time.Time
	Page
}

// TrafficStore persists traffic analyses and their findings.
type TrafficStore interface {
	// CreateAnalysis stores a new analysis with its inputs.
	CreateAnalysis(ctx context.Context, a *TrafficAnalysis, inputs []TrafficInput) error
	GetAnalysis(ctx context.Context, tenantID, id string) (TrafficAnalysis, error)
	// ListAnalyses returns a page of analyses, newest first, without
	// summaries.
	ListAnalyses(ctx context.Context, tenantID string, p Page) ([]TrafficAnalysis, error)
	// Inputs returns an analysis's uploaded files in upload order.
	Inputs(ctx context.Context, tenantID, analysisID string) ([]TrafficInput, error)
	// Start moves a pending analysis to running; one not pending gives
	// ErrConflict, so a redelivered job does not analyse twice.
	Start(ctx context.Context, tenantID, id string) error
	// Finish records an analysis's outcome (status, error, period, counts,
	// summary, finish time) and replaces its findings.
	Finish(ctx context.Context, a *TrafficAnalysis, findings []TrafficFinding) error
	ListFindings(ctx context.Context, tenantID string, f TrafficFindingFilter) ([]TrafficFinding, error)
	CountFindings(ctx context.Context, tenantID string, f TrafficFindingFilter) (int, error)
	GetFinding(ctx context.Context, tenantID, id string) (TrafficFinding, error)
	// MarkFinding records an analyst's state and note on a finding.
	MarkFinding(ctx context.Context, tenantID, id, state, note, userID string, at time.Time) error
	// AlertForKey returns the alert already raised for a finding key in
	// any analysis of the tenant, or "".
	AlertForKey(ctx context.Context, tenantID, key string) (string, error)

	// Settings returns the tenant's traffic settings; ErrNotFound when the
	// tenant never saved any.
	Settings(ctx context.Context, tenantID string) (TrafficSettings, error)
	// PutSettings saves the tenant's settings when their stored version is
	// still version (0: none saved yet), else ErrConflict; on success
	// s.Version is the new version.
	PutSettings(ctx context.Context, s *TrafficSettings, version int) error
	// Exporters lists the platform's exporter map, by prefix. It is not
	// scoped by tenant: the flow collector reads it for every tenant.
	Exporters(ctx context.Context) ([]TrafficExporter, error)
	// PutExporter adds or replaces the tenant of an exporter prefix.
	PutExporter(ctx context.Context, e *TrafficExporter) error
	// DeleteExporter removes an exporter prefix; ErrNotFound when absent.
	DeleteExporter(ctx context.Context, prefix string) error
}

// TrafficSettings are a tenant's traffic analysis settings, as text in
// the formats of the offline --policy (YAML rules) and --safelist (one
// domain or CIDR a line) files.
type TrafficSettings struct {
	TenantID string
	Policy   string
	Safelist string
	// DefaultSafelist adds the shipped safelist to the tenant's own.
	DefaultSafelist bool
	Version         int
	UpdatedBy       string
	UpdatedAt       time.Time
}

// TrafficExporter names the tenant that owns the flow records of the
// exporters in a prefix (a single address is a /32 or /128).
type TrafficExporter struct {
	Prefix    string
	TenantID  string
	Note      string
	CreatedBy string
	CreatedAt time.Time
}
