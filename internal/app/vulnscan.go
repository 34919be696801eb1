package app

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// vulnScanEvery is the least time between two scheduled vulnerability
// scans of one tenant whose subscription names no frequency.
const vulnScanEvery = 7 * 24 * time.Hour

// RunDueVulnScans scans every enabled tenant whose "vuln-lifecycle"
// subscription is active and whose last scheduled scan is older than the
// subscription's frequency (daily to yearly; weekly when it names none; a
// per-engagement subscription is scanned on demand only). The claim in
// the store makes one worker of many run it.
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
		res, err := a.VulnScan.Scan(ctx, t.ID)
		if err != nil {
			a.Logger.Warn("scheduled vulnerability scan failed", "tenant", t.Slug, "err", err)
			continue
		}
		a.Logger.Info("scheduled vulnerability scan", "tenant", t.Slug, "targets", res.Targets, "findings", res.Findings,
			"skipped", res.Skipped)
	}
	return nil
}
