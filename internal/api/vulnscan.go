package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
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
	res, err := s.opts.VulnScan.Scan(ctx, t.ID)
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
