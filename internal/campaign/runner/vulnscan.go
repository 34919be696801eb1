package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/lifecycle"
)

// ScanResult is what one run of Vigil's vulnerability scan (package
// vuln/scan) did: the imports it made and the targets it could not check.
type ScanResult struct {
	ScanIDs []string
	Errors  []string
	Skipped []string
}

// TenantScanner runs Vigil's vulnerability scan of a tenant: it checks the
// services of the tenant's latest finished discovery run and imports the
// findings into the lifecycle.
type TenantScanner interface {
	ScanTenant(ctx context.Context, tenantID string) (ScanResult, error)
}

// ScanFunc adapts a function to TenantScanner.
type ScanFunc func(ctx context.Context, tenantID string) (ScanResult, error)

// ScanTenant implements TenantScanner.
func (f ScanFunc) ScanTenant(ctx context.Context, tenantID string) (ScanResult, error) {
	return f(ctx, tenantID)
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

// VulnScan runs Vigil's own vulnerability scan on a target: a discovery
// run over the target's address (through the Discovery runner's service,
// in the tenant's scope) makes the target's services the tenant's latest
// discovery, the tenant scan checks them and imports the findings, and the
// target's open findings at or above the task's threshold fail the task.
// A finding of Vigil's scanner this scan did not see again is not counted
// (the lifecycle marks it fixed pending verification); findings of other
// scanners count while they are open. Scans of one tenant run one at a
// time, so each checks the services of its own target.
type VulnScan struct {
	disc     *Discovery
	scanner  TenantScanner
	findings FindingLister
	mu       sync.Mutex
	tenants  map[string]chan struct{}
}

// NewVulnScan returns a VulnScan runner.
func NewVulnScan(disc *Discovery, scanner TenantScanner, findings FindingLister) *VulnScan {
	return &VulnScan{disc: disc, scanner: scanner, findings: findings, tenants: map[string]chan struct{}{}}
}

// lock takes the tenant's scan slot, or fails when ctx ends first.
func (v *VulnScan) lock(ctx context.Context, tenantID string) (func(), error) {
	v.mu.Lock()
	ch, ok := v.tenants[tenantID]
	if !ok {
		ch = make(chan struct{}, 1)
		v.tenants[tenantID] = ch
	}
	v.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// latestDone is the tenant's most recently created finished discovery run
// among the latest 20: the one the tenant scan reads.
func (v *VulnScan) latestDone(ctx context.Context, tenantID string) (string, error) {
	runs, err := v.disc.svc.List(ctx, tenantID, store.Page{Limit: 20})
	if err != nil {
		return "", err
	}
	for _, r := range runs {
		if r.Status == exposure.StatusDone {
			return r.ID, nil
		}
	}
	return "", nil
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
	unlock, err := v.lock(ctx, target.Tenant)
	if err != nil {
		return campaign.Result{}, err
	}
	defer unlock()
	run, res, err := v.disc.discover(ctx, task, target, nil)
	if err != nil {
		return campaign.Result{}, fmt.Errorf("vulnerability scan: %w", err)
	}
	if id, err := v.latestDone(ctx, target.Tenant); err != nil || id != run.ID {
		return campaign.Result{}, fmt.Errorf("vulnerability scan: another discovery run of the organisation finished after %s; run the task again (%v)", run.ID, err)
	}
	sr, err := v.scanner.ScanTenant(ctx, target.Tenant)
	if err != nil {
		return campaign.Result{}, fmt.Errorf("vulnerability scan: %w", err)
	}
	if id, err := v.latestDone(ctx, target.Tenant); err != nil || id != run.ID {
		return campaign.Result{}, fmt.Errorf("vulnerability scan: another discovery run of the organisation finished during the scan; run the task again (%v)", err)
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
		fmt.Sprintf("discovery run %s: %d open ports; vulnerability scan %s", run.ID, len(res.Open), strings.Join(sr.ScanIDs, ", "))}}
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
