package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/vuln/gmp"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// vulnScanEvery is the least time between two scheduled vulnerability
// scans of one tenant whose subscription names no frequency.
const vulnScanEvery = 7 * 24 * time.Hour

// RunDueVulnScans scans every enabled tenant whose "vuln-lifecycle"
// subscription is active and whose last scheduled scan is older than the
// subscription's frequency (daily to yearly; weekly when it names none; a
// per-engagement subscription is scanned on demand only). The claim in
// the store makes one worker of many run it. Every run, failed or not, is
// recorded in the tenant's scan history with its errors.
func (a *App) RunDueVulnScans(ctx context.Context, now time.Time) error {
	ts, err := a.Store.Tenants().List(ctx)
	if err != nil {
		return err
	}
	ctx = asSystem(ctx)
	for _, t := range ts {
		if t.Disabled {
			continue
		}
		sub, err := a.Store.Services().Get(ctx, t.ID, scan.ServiceCode)
		if err != nil || !sub.Enabled || (!sub.StartsOn.IsZero() && now.Before(sub.StartsOn)) ||
			(!sub.EndsOn.IsZero() && now.After(sub.EndsOn)) {
			continue
		}
		every, scheduled := exposure.ScanInterval(sub.ReportFrequency)
		if sub.ReportFrequency == "" {
			every, scheduled = vulnScanEvery, true
		}
		if !scheduled {
			continue
		}
		claimed, err := a.Store.VulnSettings().ClaimRun(ctx, t.ID, now, now.Add(-every))
		if err != nil {
			return fmt.Errorf("tenant %s: %w", t.Slug, err)
		}
		if !claimed {
			continue
		}
		started := time.Now()
		res, err := a.VulnScan.Scan(ctx, t.ID)
		run, rerr := a.GMP.Record(ctx, t.ID, "scheduled", started, scanOutcome(res), err)
		if rerr != nil {
			a.Logger.Error("recording a vulnerability scan run failed", "tenant", t.Slug, "err", rerr)
		}
		if err != nil {
			a.Logger.Warn("scheduled vulnerability scan failed", "tenant", t.Slug, "err", err)
			continue
		}
		a.Logger.Info("scheduled vulnerability scan", "tenant", t.Slug, "status", run.Status, "targets", res.Targets,
			"findings", res.Findings, "skipped", res.Skipped, "errors", len(res.Errors))
	}
	return nil
}

// scanOutcome is what a scan did, for the scan history.
func scanOutcome(r scan.Result) gmp.Outcome {
	return gmp.Outcome{Targets: r.Targets, Findings: r.Findings, ScanIDs: r.ScanIDs, Skipped: r.Skipped, Errors: r.Errors}
}

// openVAS is the scan service's OpenVAS step: the tenant's gvmd scan of
// hosts, or no report when the tenant has no gvmd connection or the scan
// was started by hand (gmp.WithoutScan).
func (a *App) openVAS(ctx context.Context, tenantID string, hosts []string) ([]byte, error) {
	if a.GMP == nil || gmp.ScanLeftOut(ctx) {
		return nil, nil
	}
	rep, err := a.GMP.Scan(ctx, tenantID, hosts)
	if errors.Is(err, gmp.ErrNotConfigured) {
		return nil, nil
	}
	return rep, err
}
