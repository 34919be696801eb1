package app

import (
	"context"

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
		Reviews: a.Reviews, Compromise: a.Compromise})
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
