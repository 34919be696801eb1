package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/gmp"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// VulnSLA is a tenant's days to fix a finding by severity.
type VulnSLA struct {
	Critical int `json:"critical" minimum:"0" maximum:"3650" doc:"Days; 0 means the default (7)"`
	High     int `json:"high" minimum:"0" maximum:"3650" doc:"Days; 0 means the default (30)"`
	Medium   int `json:"medium" minimum:"0" maximum:"3650" doc:"Days; 0 means the default (90)"`
	Low      int `json:"low" minimum:"0" maximum:"3650" doc:"Days; 0 means the default (120)"`
}

// VulnSLAView is the SLA in force and the defaults it overrides.
type VulnSLAView struct {
	Effective VulnSLA `json:"effective" doc:"The days in force for new findings"`
	Defaults  VulnSLA `json:"defaults"`
}

// VulnScanRun says what a scan did.
type VulnScanRun struct {
	Targets  int      `json:"targets" doc:"Services checked (in the tenant's scope)"`
	Findings int      `json:"findings"`
	Scans    []string `json:"scans" doc:"IDs of the scan imports made (Vigil's checks, then nmap and nuclei)"`
	Skipped  []string `json:"skipped" doc:"External scanners not installed"`
	Errors   []string `json:"errors" doc:"Services or tools a check could not reach"`
}

// VulnVerification is the outcome of re-running a finding's check.
type VulnVerification struct {
	Finding  string `json:"finding"`
	Present  bool   `json:"present" doc:"Whether the problem is still there"`
	State    string `json:"state" doc:"The finding's state afterwards"`
	Evidence string `json:"evidence"`
}

type vulnSLAIn struct {
	TenantParam
	Body VulnSLA
}

func slaDTO(m map[string]int) VulnSLA {
	return VulnSLA{Critical: m["critical"], High: m["high"], Medium: m["medium"], Low: m["low"]}
}

var errNoVulnScan = errors.New("vulnerability scanning is not configured")

func (s *server) registerVulnScan() {
	tags := []string{"vulnerabilities"}
	read, write := inTenant(auth.PermAssetRead), inTenant(auth.PermVulnWrite)
	base := "/tenants/{tenant}/vulnerabilities"
	register(s, read, huma.Operation{OperationID: "get-vulnerability-sla", Method: http.MethodGet, Path: base + "/sla",
		Summary: "The tenant's SLA days by severity", Tags: tags}, s.getVulnSLA)
	register(s, write, huma.Operation{OperationID: "put-vulnerability-sla", Method: http.MethodPut, Path: base + "/sla",
		Summary: "Set the tenant's SLA days by severity", Description: "New findings get due dates from these days; " +
			"0 restores the default. Existing due dates stay.", Tags: tags}, s.putVulnSLA)
	register(s, write, huma.Operation{OperationID: "run-vulnerability-scan", Method: http.MethodPost, Path: base + "/scans",
		Summary: "Scan the tenant's discovered services", Description: "Runs Vigil's own checks (risky ports, TLS, " +
			"admin panels and default pages, product versions) on the in-scope services of the latest discovery run, " +
			"and nmap and nuclei when installed, and imports the findings. It answers when the scan is done.",
		Tags: tags}, s.runVulnScan)
	register(s, write, huma.Operation{OperationID: "verify-vulnerability", Method: http.MethodPost, Path: base + "/{vuln}/verify",
		Summary: "Re-run the check of a finding", Description: "Gone: the finding becomes verified-closed; still " +
			"there: a fixed or closed finding is reopened.", Tags: tags}, s.verifyVuln)
	register(s, read, huma.Operation{OperationID: "list-vulnerability-scan-runs", Method: http.MethodGet, Path: base + "/scan-runs",
		Summary: "The tenant's vulnerability scan runs, newest first", Description: "Scheduled and manual runs with the " +
			"imports they made and the errors they met (an unreachable or failing scanner among them).", Tags: tags},
		s.listVulnScanRuns)
	// The gvmd account is a credential: setting it takes vuln.write and
	// secret.write in the tenant (a tenant administrator).
	admin := inTenant(auth.PermSecretWrite)
	register(s, admin, huma.Operation{OperationID: "get-vulnerability-openvas", Method: http.MethodGet, Path: base + "/openvas",
		Summary: "The tenant's OpenVAS (gvmd) connection", Description: "Without the password, which is never returned.",
		Tags: tags}, s.getOpenVAS)
	register(s, admin, huma.Operation{OperationID: "put-vulnerability-openvas", Method: http.MethodPut, Path: base + "/openvas",
		Summary: "Set the tenant's OpenVAS (gvmd) connection", Description: "Scans of the tenant then run OpenVAS through " +
			"gvmd on the in-scope hosts and import its report. The password is stored encrypted; an empty password keeps " +
			"the stored one.", Tags: tags}, s.putOpenVAS)
	register(s, admin, huma.Operation{OperationID: "delete-vulnerability-openvas", Method: http.MethodDelete, Path: base + "/openvas",
		Summary: "Remove the tenant's OpenVAS (gvmd) connection and its password", Tags: tags, DefaultStatus: http.StatusNoContent},
		s.deleteOpenVAS)
}

// VulnOpenVAS is a tenant's gvmd connection as the API shows it.
type VulnOpenVAS struct {
	Address     string    `json:"address" doc:"gvmd's Unix socket path, or host:port spoken over TLS"`
	Username    string    `json:"username"`
	PasswordSet bool      `json:"password_set" doc:"Whether a password is stored (it is never returned)"`
	CAPEM       string    `json:"ca_pem" doc:"PEM CA certificate that verifies gvmd's TLS certificate; empty: the system roots"`
	ServerName  string    `json:"server_name" doc:"Name gvmd's certificate is checked against; empty: the address's host"`
	ConfigID    string    `json:"config_id" doc:"Scan configuration (default Full and fast)"`
	PortListID  string    `json:"port_list_id" doc:"Port list (default All TCP and Nmap top 100 UDP)"`
	ScannerID   string    `json:"scanner_id" doc:"Scanner (default the OpenVAS scanner)"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// VulnOpenVASInput sets a tenant's gvmd connection.
type VulnOpenVASInput struct {
	Address    string `json:"address" maxLength:"1024" doc:"gvmd's Unix socket path (/run/gvmd/gvmd.sock) or host:port (TLS, e.g. gvmd.example:9390)"`
	Username   string `json:"username" maxLength:"200"`
	Password   string `json:"password,omitempty" maxLength:"1024" writeOnly:"true" doc:"Required the first time; empty keeps the stored one"`
	CAPEM      string `json:"ca_pem,omitempty" maxLength:"65536"`
	ServerName string `json:"server_name,omitempty" maxLength:"200"`
	ConfigID   string `json:"config_id,omitempty" doc:"Empty: Full and fast (daba56c8-73ec-11df-a475-002264764cea)"`
	PortListID string `json:"port_list_id,omitempty" doc:"Empty: All TCP and Nmap top 100 UDP (730ef368-57e2-11e1-a90f-406186ea4fc5)"`
	ScannerID  string `json:"scanner_id,omitempty" doc:"Empty: OpenVAS Default (08b69003-5fc2-4037-a479-93b440211c73)"`
}

type vulnOpenVASIn struct {
	TenantParam
	Body VulnOpenVASInput
}

// VulnScanRunView is one scan run of the history.
type VulnScanRunView struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind" enum:"scheduled,manual"`
	Status     string    `json:"status" enum:"ok,partial,failed" doc:"partial: some scanners or services failed; failed: the run stopped"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Targets    int       `json:"targets"`
	Findings   int       `json:"findings"`
	Scans      []string  `json:"scans" doc:"IDs of the scan imports made"`
	Skipped    []string  `json:"skipped" doc:"Scanners not installed or not configured"`
	Errors     []string  `json:"errors"`
}

type scanRunsIn struct {
	TenantParam
	Limit int `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

func openVASDTO(g store.VulnGMP) VulnOpenVAS {
	return VulnOpenVAS{Address: g.Address, Username: g.Username, PasswordSet: g.SecretID != "", CAPEM: g.CAPEM,
		ServerName: g.ServerName, ConfigID: g.ConfigID, PortListID: g.PortListID, ScannerID: g.ScannerID, UpdatedAt: g.UpdatedAt}
}

func (s *server) getOpenVAS(ctx context.Context, _ *TenantParam) (*out[VulnOpenVAS], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.GMP == nil {
		return nil, errNoVulnScan
	}
	g, err := s.opts.GMP.Get(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(openVASDTO(g))
}

func (s *server) putOpenVAS(ctx context.Context, in *vulnOpenVASIn) (*out[VulnOpenVAS], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.GMP == nil {
		return nil, errNoVulnScan
	}
	b := in.Body
	g, err := s.opts.GMP.Put(ctx, t.ID, gmp.Input{Address: b.Address, Username: b.Username, Password: b.Password,
		CAPEM: b.CAPEM, ServerName: b.ServerName, ConfigID: b.ConfigID, PortListID: b.PortListID, ScannerID: b.ScannerID})
	if err != nil {
		return nil, err
	}
	return reply(openVASDTO(g))
}

func (s *server) deleteOpenVAS(ctx context.Context, _ *TenantParam) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.GMP == nil {
		return nil, errNoVulnScan
	}
	return nil, s.opts.GMP.Delete(ctx, t.ID)
}

func (s *server) listVulnScanRuns(ctx context.Context, in *scanRunsIn) (*out[[]VulnScanRunView], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.GMP == nil {
		return nil, errNoVulnScan
	}
	runs, err := s.opts.GMP.Runs(ctx, t.ID, in.Limit)
	if err != nil {
		return nil, err
	}
	views := []VulnScanRunView{}
	for _, r := range runs {
		views = append(views, VulnScanRunView{ID: r.ID, Kind: r.Kind, Status: r.Status, StartedAt: r.StartedAt,
			FinishedAt: r.FinishedAt, Targets: r.Targets, Findings: r.Findings, Scans: nonNil(r.ScanIDs),
			Skipped: nonNil(r.Skipped), Errors: nonNil(r.Errors)})
	}
	return reply(views)
}

func (s *server) getVulnSLA(ctx context.Context, _ *TenantParam) (*out[VulnSLAView], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := auth.Require(ctx, auth.PermAssetRead, t.ID); err != nil {
		return nil, err
	}
	eff, err := s.opts.Vulns.TenantSLA(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(VulnSLAView{Effective: slaDTO(eff), Defaults: slaDTO(s.opts.Vulns.DefaultSLADays())})
}

func (s *server) putVulnSLA(ctx context.Context, in *vulnSLAIn) (*out[VulnSLAView], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	if err := s.opts.Vulns.SetTenantSLA(ctx, t.ID, map[string]int{"critical": b.Critical, "high": b.High,
		"medium": b.Medium, "low": b.Low}); err != nil {
		return nil, err
	}
	return s.getVulnSLA(ctx, &in.TenantParam)
}

func (s *server) runVulnScan(ctx context.Context, _ *TenantParam) (*out[VulnScanRun], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.VulnScan == nil {
		return nil, errNoVulnScan
	}
	started := time.Now()
	// OpenVAS scans take longer than a request: they run with the
	// scheduled scans only, and this run lists openvas as skipped.
	res, err := s.opts.VulnScan.Scan(gmp.WithoutScan(ctx), t.ID)
	if s.opts.GMP != nil {
		// The run goes to the history even when it failed; a history
		// that cannot be written does not hide the scan's own outcome.
		o := gmp.Outcome{Targets: res.Targets, Findings: res.Findings, ScanIDs: res.ScanIDs, Skipped: res.Skipped, Errors: res.Errors}
		if _, rerr := s.opts.GMP.Record(ctx, t.ID, "manual", started, o, err); rerr != nil && err == nil {
			s.log.Error("recording a vulnerability scan run failed", "tenant", t.Slug, "err", rerr)
		}
	}
	if err != nil {
		return nil, err
	}
	return reply(VulnScanRun{Targets: res.Targets, Findings: res.Findings, Scans: nonNil(res.ScanIDs),
		Skipped: nonNil(res.Skipped), Errors: nonNil(res.Errors)})
}

func (s *server) verifyVuln(ctx context.Context, in *vulnParamIn) (*out[VulnVerification], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if s.opts.VulnScan == nil {
		return nil, errNoVulnScan
	}
	v, err := s.opts.VulnScan.Verify(ctx, t.ID, in.Vuln)
	if errors.Is(err, scan.ErrNoCheck) {
		return nil, store.NewFieldError("vuln", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	if err != nil {
		return nil, err
	}
	return reply(VulnVerification{Finding: v.FindingID, Present: v.Present, State: v.State, Evidence: v.Evidence})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
