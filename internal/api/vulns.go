package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// Vulnerability is one tracked finding of a tenant.
type Vulnerability struct {
	ID             string     `json:"id"`
	Fingerprint    string     `json:"fingerprint" doc:"Stable identity across rescans (see the importer's rule)"`
	AssetID        string     `json:"asset_id,omitempty"`
	AssetKey       string     `json:"asset_key" doc:"IP, host, target or URL host it was found on"`
	Scanner        string     `json:"scanner"`
	RuleID         string     `json:"rule_id,omitempty"`
	Title          string     `json:"title"`
	Description    string     `json:"description,omitempty"`
	Severity       string     `json:"severity"`
	Layer          string     `json:"layer" enum:"network,os,application,configuration"`
	Host           string     `json:"host,omitempty"`
	IP             string     `json:"ip,omitempty"`
	Port           int        `json:"port,omitempty"`
	URL            string     `json:"url,omitempty"`
	Package        string     `json:"package,omitempty"`
	Version        string     `json:"version,omitempty"`
	FixedIn        string     `json:"fixed_in,omitempty"`
	CVEs           []string   `json:"cves"`
	CWEs           []string   `json:"cwes"`
	CVSSVector     string     `json:"cvss_vector,omitempty"`
	CVSSScore      *float64   `json:"cvss_score,omitempty" doc:"Computed by Vigil from the vector"`
	KEV            bool       `json:"kev" doc:"In CISA's Known Exploited Vulnerabilities catalogue"`
	EPSS           *float64   `json:"epss,omitempty"`
	Priority       float64    `json:"priority"`
	PriorityReason string     `json:"priority_reason"`
	State          string     `json:"state"`
	StateNote      string     `json:"state_note,omitempty"`
	Assignee       string     `json:"assignee,omitempty" doc:"User ID"`
	Control        string     `json:"control,omitempty" doc:"Compensating control of a mitigated finding"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	DueAt          *time.Time `json:"due_at,omitempty"`
	Overdue        bool       `json:"overdue"`
	FirstSeen      time.Time  `json:"first_seen"`
	LastSeen       time.Time  `json:"last_seen"`
	Remediation    string     `json:"remediation,omitempty"`
	Evidence       string     `json:"evidence,omitempty"`
}

func (s *server) vulnDTO(f store.VulnFinding) Vulnerability {
	d := Vulnerability{ID: f.ID, Fingerprint: f.Fingerprint, AssetID: f.AssetID, AssetKey: f.AssetKey, Scanner: f.Scanner,
		RuleID: f.RuleID, Title: f.Title, Description: f.Description, Severity: f.Severity, Layer: f.Layer, Host: f.Host,
		IP: f.IP, Port: f.Port, URL: f.URL, Package: f.Package, Version: f.Version, FixedIn: f.FixedIn, CVEs: f.CVEs,
		CWEs: f.CWEs, CVSSVector: f.CVSSVector, CVSSScore: f.CVSSScore, KEV: f.KEV, EPSS: f.EPSS, Priority: f.Priority,
		PriorityReason: f.PriorityReason, State: f.State, StateNote: f.StateNote, Assignee: f.Assignee, Control: f.Control,
		ExpiresAt: optTime(f.ExpiresAt), DueAt: optTime(f.DueAt), Overdue: s.opts.Vulns.Overdue(f), FirstSeen: f.FirstSeen,
		LastSeen: f.LastSeen, Remediation: f.Remediation, Evidence: f.Evidence}
	if d.CVEs == nil {
		d.CVEs = []string{}
	}
	if d.CWEs == nil {
		d.CWEs = []string{}
	}
	return d
}

// VulnerabilityList is one page of findings, highest priority first.
type VulnerabilityList struct {
	Items []Vulnerability `json:"items"`
	Total int             `json:"total" doc:"Matching findings, counted up to 10000"`
	// TotalCapped says the count stopped at its limit: at least Total
	// findings match.
	TotalCapped bool `json:"total_capped" doc:"The count stopped at 10000: at least total findings match"`
	Limit       int  `json:"limit"`
	Offset      int  `json:"offset"`
}

// VulnerabilityEvent is one entry of a finding's timeline.
type VulnerabilityEvent struct {
	At      time.Time `json:"at"`
	ActorID string    `json:"actor_id,omitempty"`
	Kind    string    `json:"kind"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Note    string    `json:"note,omitempty"`
}

// VulnerabilityDetail is a finding with its timeline.
type VulnerabilityDetail struct {
	Vulnerability
	Timeline []VulnerabilityEvent `json:"timeline"`
}

// ScanImportInput is scanner output to import.
type ScanImportInput struct {
	Filename string `json:"filename,omitempty" maxLength:"255"`
	Format   string `json:"format,omitempty" doc:"Importer name; detected from the content when absent"`
	Full     bool   `json:"full,omitempty" doc:"A full rescan: open findings of the scanned assets it no longer reports become fixed-pending-verification"`
	Content  string `json:"content" doc:"The scanner's output file, as text"`
}

// ScanImport is the outcome of one import.
type ScanImport struct {
	ID       string    `json:"id"`
	Scanner  string    `json:"scanner"`
	Filename string    `json:"filename,omitempty"`
	SHA256   string    `json:"sha256"`
	Full     bool      `json:"full"`
	Total    int       `json:"total"`
	Added    int       `json:"added"`
	Updated  int       `json:"updated"`
	Reopened int       `json:"reopened"`
	Absent   int       `json:"absent"`
	At       time.Time `json:"at"`
}

func scanDTO(sc store.VulnScan) ScanImport {
	return ScanImport{ID: sc.ID, Scanner: sc.Scanner, Filename: sc.Filename, SHA256: sc.SHA256, Full: sc.Full,
		Total: sc.Total, Added: sc.Added, Updated: sc.Updated, Reopened: sc.Reopened, Absent: sc.Absent, At: sc.CreatedAt}
}

// StateChange moves findings to another state.
type StateChange struct {
	State     string     `json:"state"`
	Note      string     `json:"note,omitempty" maxLength:"4000"`
	Assignee  string     `json:"assignee,omitempty" doc:"For assigned: a user ID"`
	Control   string     `json:"control,omitempty" maxLength:"4000" doc:"For mitigated: the compensating control"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"For risk-accepted and mitigated"`
}

// TransformSchema takes the state enum from the lifecycle package.
func (StateChange) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	setEnum(s, "state", lifecycle.States(), false)
	return s
}

func (c StateChange) domain() lifecycle.ChangeInput {
	in := lifecycle.ChangeInput{To: c.State, Note: c.Note, Assignee: c.Assignee, Control: c.Control}
	if c.ExpiresAt != nil {
		in.Expires = *c.ExpiresAt
	}
	return in
}

// BulkStateChange applies one change to many findings.
type BulkStateChange struct {
	StateChange
	IDs []string `json:"ids" minItems:"1" maxItems:"1000"`
}

// BulkResult says what a bulk change did.
type BulkResult struct {
	Changed int               `json:"changed"`
	Failed  map[string]string `json:"failed" doc:"Finding ID → why it was not changed"`
}

type vulnListIn struct {
	TenantParam
	State    string `query:"state" maxLength:"40" doc:"A state, or open for every state that needs work"`
	Severity string `query:"severity" enum:"critical,high,medium,low,info," doc:"Only this severity"`
	KEV      bool   `query:"kev" doc:"Only findings in the KEV catalogue"`
	Overdue  bool   `query:"overdue" doc:"Only open findings past their due date"`
	Asset    string `query:"asset_id" maxLength:"100"`
	Scanner  string `query:"scanner" maxLength:"50"`
	Q        string `query:"q" maxLength:"200" doc:"Substring of title, asset, rule or CVE"`
	Limit    int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset   int    `query:"offset" minimum:"0"`
}

type vulnParamIn struct {
	TenantParam
	Vuln string `path:"vuln" maxLength:"100" doc:"Finding ID"`
}

type vulnImportIn struct {
	TenantParam
	Body ScanImportInput
}

type vulnChangeIn struct {
	TenantParam
	Vuln string `path:"vuln" maxLength:"100" doc:"Finding ID"`
	Body StateChange
}

type vulnBulkIn struct {
	TenantParam
	Body BulkStateChange
}

type scanListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

// maxAPIImport bounds a scan imported through the API (JSON-escaped).
const maxAPIImport = 64 << 20

func (s *server) registerVulns() {
	tags := []string{"vulnerabilities"}
	read, write := inTenant(auth.PermAssetRead), inTenant(auth.PermVulnWrite)
	base := "/tenants/{tenant}/vulnerabilities"
	register(s, read, huma.Operation{OperationID: "list-vulnerabilities", Method: http.MethodGet, Path: base,
		Summary: "List a tenant's vulnerabilities", Tags: tags}, s.listVulns)
	register(s, write, huma.Operation{OperationID: "import-scan", Method: http.MethodPost, Path: base + "/imports",
		Summary: "Import scanner output", Description: "Parses the file (format detected unless given) and applies it in one " +
			"transaction: new findings are added, known ones updated, closed ones that reappear reopened. A file that " +
			"fails to parse imports nothing.", DefaultStatus: http.StatusCreated, Tags: tags, MaxBodyBytes: maxAPIImport}, s.importScan)
	register(s, read, huma.Operation{OperationID: "list-scan-imports", Method: http.MethodGet, Path: base + "/imports",
		Summary: "List the tenant's scan imports", Tags: tags}, s.listScans)
	register(s, write, huma.Operation{OperationID: "bulk-change-vulnerabilities", Method: http.MethodPost, Path: base + "/bulk",
		Summary: "Change the state of many findings", Tags: tags}, s.bulkVulns)
	register(s, read, huma.Operation{OperationID: "get-vulnerability", Method: http.MethodGet, Path: base + "/{vuln}",
		Summary: "Get a finding with its timeline", Tags: tags}, s.getVuln)
	register(s, write, huma.Operation{OperationID: "change-vulnerability", Method: http.MethodPost, Path: base + "/{vuln}/state",
		Summary: "Change a finding's state", Tags: tags}, s.changeVuln)
}

func (s *server) listVulns(ctx context.Context, in *vulnListIn) (*out[VulnerabilityList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	list, total, err := s.opts.Vulns.List(ctx, t.ID, lifecycle.Filter{State: in.State, Severity: in.Severity, KEV: in.KEV,
		Overdue: in.Overdue, AssetID: in.Asset, Scanner: in.Scanner, Query: in.Q, CountLimit: lifecycle.MaxCount,
		Page: store.Page{Limit: in.Limit, Offset: in.Offset}})
	if err != nil {
		return nil, err
	}
	return reply(VulnerabilityList{Items: items(list, s.vulnDTO), Total: total, TotalCapped: total >= lifecycle.MaxCount,
		Limit: in.Limit, Offset: in.Offset})
}

func (s *server) importScan(ctx context.Context, in *vulnImportIn) (*out[ScanImport], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := s.opts.Vulns.Import(ctx, t.ID, lifecycle.ImportInput{Filename: in.Body.Filename, Format: in.Body.Format,
		Full: in.Body.Full, Data: []byte(in.Body.Content)})
	if err != nil {
		return nil, err
	}
	return reply(scanDTO(sc))
}

func (s *server) listScans(ctx context.Context, in *scanListIn) (*out[[]ScanImport], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	scans, err := s.opts.Vulns.Scans(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(scans, scanDTO))
}

func (s *server) getVuln(ctx context.Context, in *vulnParamIn) (*out[VulnerabilityDetail], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	f, evs, err := s.opts.Vulns.Get(ctx, t.ID, in.Vuln)
	if err != nil {
		return nil, err
	}
	d := VulnerabilityDetail{Vulnerability: s.vulnDTO(f), Timeline: items(evs, func(e store.VulnEvent) VulnerabilityEvent {
		return VulnerabilityEvent{At: e.At, ActorID: e.ActorID, Kind: e.Kind, From: e.From, To: e.To, Note: e.Note}
	})}
	return reply(d)
}

func (s *server) changeVuln(ctx context.Context, in *vulnChangeIn) (*out[VulnerabilityDetail], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Vulns.Change(ctx, t.ID, in.Vuln, in.Body.domain()); err != nil {
		return nil, err
	}
	return s.getVuln(ctx, &vulnParamIn{TenantParam: in.TenantParam, Vuln: in.Vuln})
}

func (s *server) bulkVulns(ctx context.Context, in *vulnBulkIn) (*out[BulkResult], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.opts.Vulns.Bulk(ctx, t.ID, in.Body.IDs, in.Body.domain())
	if err != nil {
		return nil, err
	}
	return reply(BulkResult{Changed: res.Changed, Failed: res.Failed})
}
