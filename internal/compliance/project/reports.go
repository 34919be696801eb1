package project

import (
	"context"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/store"
)

// The reports of the compliance services in a tenant's report archive:
// what a regulator may list and download there.

// ReportServices are the archive service codes of compliance reports:
// MLPS assessment, risk assessment, remediation verification and
// compliance inspection.
func ReportServices() []string {
	return []string{"mlps", "risk-assessment", "remediation", "compliance-inspection"}
}

// IsComplianceReport reports whether an archived report belongs to a
// compliance service.
func IsComplianceReport(r store.Report) bool { return slices.Contains(ReportServices(), r.Service) }

// ReportLister lists a page of a tenant's archived reports.
type ReportLister func(ctx context.Context, tenantID string, f store.ReportFilter) ([]store.Report, error)

// maxReportWindow bounds offset + limit of a merged listing.
const maxReportWindow = 20000

// ListComplianceReports lists the page f asks for of the tenant's
// compliance reports only, newest first, as list orders them. A filter
// on another service gives nothing.
func ListComplianceReports(ctx context.Context, list ReportLister, tenantID string, f store.ReportFilter) ([]store.Report, error) {
	services := ReportServices()
	if f.Service != "" {
		if !slices.Contains(services, f.Service) {
			return []store.Report{}, nil
		}
		return list(ctx, tenantID, f)
	}
	limit, offset := max(f.Limit, 0), max(f.Offset, 0)
	if limit == 0 {
		limit = 100
	}
	window := min(offset+limit, maxReportWindow)
	var all []store.Report
	for _, svc := range services {
		g := f
		g.Service, g.Page = svc, store.Page{Limit: window}
		rs, err := list(ctx, tenantID, g)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	slices.SortStableFunc(all, func(a, b store.Report) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if offset >= len(all) {
		return []store.Report{}, nil
	}
	return all[offset:min(offset+limit, len(all))], nil
}
