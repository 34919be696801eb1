package manager

import (
	"context"

	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/runner"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// Services are the services of Vigil the product runners call; each is
// the application's own (exposure, vulnerability scan and lifecycle,
// baseline hardening, compromise detection). A nil one leaves its task
// kind without a runner: such tasks are recorded as errored.
type Services struct {
	Discovery runner.Discoverer
	Scan      runner.TargetScanner
	Findings  runner.FindingLister
	Baseline  runner.BaselineRuns
	Weblogs   runner.WeblogRuns
	// DiscoveryOptions tune the waits of discovery runs.
	DiscoveryOptions runner.DiscoveryOptions
}

// ScanService adapts Vigil's vulnerability scan service to the runners:
// a campaign task scans its one target (scan.Service.ScanTarget).
func ScanService(s *scan.Service) runner.TargetScanner {
	return runner.TargetScanFunc(func(ctx context.Context, tenantID string, t runner.ScanTarget) (runner.ScanResult, error) {
		r, err := s.ScanTarget(ctx, tenantID, scan.TargetScope{AssetID: t.AssetID, Address: t.Address, Ports: t.Ports, ServerName: t.ServerName})
		return runner.ScanResult{ScanIDs: r.ScanIDs, Errors: r.Errors, Skipped: r.Skipped, Services: r.Targets}, err
	})
}

// ProductRunners are DefaultRunners plus the runners over Vigil's own
// services: discovery runs, vulnerability scans, stored or scheduled
// baseline runs and the verdicts of web log analyses. They run as the
// user who runs the task, so that user's permissions on those services
// apply.
func ProductRunners(s Services) map[campaign.TaskKind]campaign.Runner {
	rs := DefaultRunners()
	if s.Discovery != nil {
		rs[campaign.TaskDiscovery] = runner.NewDiscovery(s.Discovery, s.DiscoveryOptions)
	}
	if s.Scan != nil && s.Findings != nil {
		rs[campaign.TaskVulnScan] = runner.NewVulnScan(s.Scan, s.Findings)
	}
	if s.Baseline != nil {
		rs[campaign.TaskBaseline] = runner.NewStoredBaseline(s.Baseline, runner.StoredBaselineOptions{})
	}
	if s.Weblogs != nil {
		rs[campaign.TaskWebLog] = runner.NewWebLog(s.Weblogs, runner.WebLogOptions{})
	}
	return rs
}
