package app

import (
	"context"
	"errors"
	"time"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/reportcentre"
)

// newReportCentre registers every service's deliverable reports in one
// catalogue. Scheduled reports are PDF when a browser is available to
// print them, HTML otherwise.
func (a *App) newReportCentre() (*reportcentre.Centre, error) {
	format := report.FormatHTML
	if _, err := report.FindBrowser(a.Config.Chromium); err == nil {
		format = report.FormatPDF
	}
	c := reportcentre.New(a.Store, a.Archive, reportcentre.Options{Format: format, Sender: a.Alerting, Logger: a.Logger})
	err := c.RegisterStandard(reportcentre.Services{Posture: a.Posture, Vulns: a.Vulns, Exposure: a.Exposure,
		Reviews: a.Reviews, Compromise: a.Compromise, Incidents: a.Incidents, Assessments: a.Assessments, Intel: a.Store, Traffic: a.Traffic, Baseline: a.Baseline, Devices: a.Devices, Ops: a.Ops})
	return c, err
}

// runDueReports generates the scheduled reports whose period has ended.
func (a *App) runDueReports(ctx context.Context) error {
	n, err := a.Reports.RunDue(asSystem(ctx))
	if n > 0 {
		a.Logger.Info("scheduled reports generated", "count", n)
	}
	return err
}

// housekeepingEvery is how often the scheduled jobs are queued.
const housekeepingEvery = 10 * time.Minute

// EscalateBreaches notifies the tenants of SLA timers of their cases that
// ran out in the last period (now-every, now]: each breach is told once
// when the job runs on schedule; a timer that ran out while Vigil was down
// for longer is not told again.
func (a *App) EscalateBreaches(ctx context.Context, now time.Time, every time.Duration) error {
	ctx = asSystem(ctx)
	bs, err := a.Incidents.Breaches(ctx, now)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range bs {
		for _, t := range b.Breached {
			if t.Due.After(now.Add(-every)) && !t.Due.After(now) {
				errs = append(errs, a.Alerting.SLABreached(ctx, b.Case, t.Name, t.Due))
			}
		}
	}
	return errors.Join(errs...)
}
