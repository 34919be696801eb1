package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// ScanResult is what one run of Vigil's vulnerability scan (package
// vuln/scan) did: the imports it made and the services it could not check.
type ScanResult struct {
	ScanIDs []string
	Errors  []string
	Skipped []string
	// Services counts the services the scan checked.
	Services int
}

// ScanTarget is the one target a campaign task scans: the asset, its
// address, the ports to probe there and the TLS server name.
type ScanTarget struct {
	AssetID    string
	Address    string
	Ports      []uint16
	ServerName string
}

// TargetScanner runs Vigil's vulnerability scan on one target and imports
// the findings into the lifecycle (scan.Service.ScanTarget): it probes
// the target's own ports, creates no discovery run and scans nothing
// else of the tenant.
type TargetScanner interface {
	ScanTarget(ctx context.Context, tenantID string, t ScanTarget) (ScanResult, error)
}

// TargetScanFunc adapts a function to TargetScanner.
type TargetScanFunc func(ctx context.Context, tenantID string, t ScanTarget) (ScanResult, error)

// ScanTarget implements TargetScanner.
func (f TargetScanFunc) ScanTarget(ctx context.Context, tenantID string, t ScanTarget) (ScanResult, error) {
	return f(ctx, tenantID, t)
}

// FindingLister lists a tenant's tracked vulnerability findings
// (lifecycle.Service).
type FindingLister interface {
	List(ctx context.Context, tenantID string, f lifecycle.Filter) ([]store.VulnFinding, int, error)
}

// ParamSeverityThreshold is the task parameter of the VulnScan runner: open
// findings at or above it fail the task (default high).
const ParamSeverityThreshold = "min_severity"

// scannerVigil is the lifecycle scanner name of Vigil's own checks.
const scannerVigil = "vigil"

// maxVulnFindings bounds the findings of one target the runner reads.
const maxVulnFindings = store.MaxPageSize

// blockingStates are the lifecycle states of findings that still count
// against a system: fixed-pending-verification, mitigated, risk-accepted,
// false-positive and closed do not.
var blockingStates = []string{lifecycle.StateNew, lifecycle.StateConfirmed, lifecycle.StateAssigned, lifecycle.StateFixing, lifecycle.StateReopened}

// VulnScan runs Vigil's own vulnerability scan on one target: the
// scanner probes the task's ports (ParamPorts, default the top 100) plus
// the target's declared and TLS ports on the target's address, checks the
// open services and imports the findings; then the target's open findings
// at or above the task's threshold fail the task. Nothing else of the
// tenant is scanned and no discovery run is made. A finding of Vigil's
// scanner this scan did not see again is not counted (the lifecycle marks
// it fixed pending verification); findings of other scanners count while
// they are open.
type VulnScan struct {
	scanner  TargetScanner
	findings FindingLister
}

// NewVulnScan returns a VulnScan runner.
func NewVulnScan(scanner TargetScanner, findings FindingLister) *VulnScan {
	return &VulnScan{scanner: scanner, findings: findings}
}

// Run implements campaign.Runner.
func (v *VulnScan) Run(ctx context.Context, task campaign.Task, target campaign.Target) (campaign.Result, error) {
	threshold := campaign.Severity(strings.TrimSpace(task.Params[ParamSeverityThreshold]))
	if threshold == "" {
		threshold = campaign.SeverityHigh
	}
	if !threshold.Valid() {
		return campaign.Result{}, fmt.Errorf("vulnerability scan: %s %q is not a severity", ParamSeverityThreshold, threshold)
	}
	if target.Tenant == "" {
		return campaign.Result{}, errors.New("vulnerability scan: the target has no tenant")
	}
	host := strings.TrimSpace(target.Host)
	if _, err := netip.ParseAddr(host); err != nil {
		return campaign.Result{}, fmt.Errorf("vulnerability scan: target %q is not an IP address", clip(host, 100))
	}
	spec := strings.TrimSpace(task.Params[ParamPorts])
	if spec == "" {
		spec = exposure.DefaultPorts
	}
	ports, err := portList(spec)
	if err != nil {
		return campaign.Result{}, fmt.Errorf("vulnerability scan: %s: %w", ParamPorts, err)
	}
	ports = slices.Concat(ports, target.DeclaredPorts, target.TLSPorts)
	slices.Sort(ports)
	ports = slices.Compact(ports)
	sr, err := v.scanner.ScanTarget(ctx, target.Tenant, ScanTarget{AssetID: target.AssetID, Address: host, Ports: ports,
		ServerName: target.ServerName})
	if err != nil {
		return campaign.Result{}, fmt.Errorf("vulnerability scan: %w", err)
	}
	if len(sr.Errors) > 0 {
		return campaign.Result{}, fmt.Errorf("vulnerability scan %s could not check every service: %s", strings.Join(sr.ScanIDs, ", "),
			clip(strings.Join(sr.Errors, "; "), 400))
	}
	fs, err := v.open(ctx, target)
	if err != nil {
		return campaign.Result{}, fmt.Errorf("vulnerability scan: findings: %w", err)
	}
	out := campaign.Result{Status: campaign.StatusPassed, Evidence: []string{
		fmt.Sprintf("vulnerability scan %s of %s: %d ports probed, %d services checked", strings.Join(sr.ScanIDs, ", "), host, len(ports), sr.Services)}}
	if len(sr.Skipped) > 0 {
		out.Evidence = append(out.Evidence, "external scanners not installed: "+strings.Join(sr.Skipped, ", "))
	}
	unseen := 0
	for _, f := range fs {
		if f.Scanner == scannerVigil && !slices.Contains(sr.ScanIDs, f.ScanID) {
			unseen++ // the scan just made no longer finds it
			continue
		}
		sev := campaign.Severity(f.Severity)
		if !sev.Valid() || sev.Rank() < threshold.Rank() {
			continue
		}
		cf := campaign.Finding{Key: "vuln/" + f.ID, Title: clip(f.Title, 300), Severity: sev, Ref: "vuln-finding:" + f.ID,
			Evidence: []string{fmt.Sprintf("finding %s (%s, %s) on %s", f.ID, f.State, f.Scanner, findingWhere(f))}}
		switch {
		case f.CVSSScore != nil:
			cf.Score = *f.CVSSScore
		case f.CVSS4Score != nil:
			cf.Score = *f.CVSS4Score
		default:
			cf.Score = campaign.ScoreForSeverity(sev)
		}
		if len(f.CVEs) > 0 {
			cf.Evidence = append(cf.Evidence, strings.Join(f.CVEs[:min(len(f.CVEs), 5)], ", "))
		}
		out.Findings = append(out.Findings, cf)
	}
	if unseen > 0 {
		out.Evidence = append(out.Evidence, fmt.Sprintf("%d earlier findings of Vigil's scan were not seen again", unseen))
	}
	if len(out.Findings) > 0 {
		out.Status = campaign.StatusFailed
	}
	return out, nil
}

// open lists the target's findings in a blocking state: those linked to
// the asset and those found on its address.
func (v *VulnScan) open(ctx context.Context, target campaign.Target) ([]store.VulnFinding, error) {
	var out []store.VulnFinding
	seen := map[string]bool{}
	add := func(fs []store.VulnFinding, keep func(store.VulnFinding) bool) {
		for _, f := range fs {
			if !seen[f.ID] && slices.Contains(blockingStates, f.State) && keep(f) {
				seen[f.ID] = true
				out = append(out, f)
			}
		}
	}
	fs, _, err := v.findings.List(ctx, target.Tenant, lifecycle.Filter{State: "open", AssetID: target.AssetID, Page: store.Page{Limit: maxVulnFindings}})
	if err != nil {
		return nil, err
	}
	add(fs, func(store.VulnFinding) bool { return true })
	host := strings.ToLower(strings.TrimSpace(target.Host))
	if host != "" && len(host) <= 200 {
		fs, _, err = v.findings.List(ctx, target.Tenant, lifecycle.Filter{State: "open", Query: host, Page: store.Page{Limit: maxVulnFindings}})
		if err != nil {
			return nil, err
		}
		add(fs, func(f store.VulnFinding) bool {
			return strings.EqualFold(f.IP, host) || strings.EqualFold(f.Host, host) || strings.EqualFold(f.AssetKey, host)
		})
	}
	return out, nil
}

func findingWhere(f store.VulnFinding) string {
	switch {
	case f.URL != "":
		return f.URL
	case f.Port > 0:
		return fmt.Sprintf("%s:%d", cmp.Or(f.IP, f.Host), f.Port)
	}
	return cmp.Or(f.IP, f.Host, f.AssetKey)
}
