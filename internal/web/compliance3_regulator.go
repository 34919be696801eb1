package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
)

// The regulator (监管) role reads the compliance work of the tenants it is
// granted — assessment projects, risk registers, remediation, inspections,
// the standards library — and their reports, nothing else: its
// permissions (assessment.read, report.read) are also needed by some
// operations pages, so tenant routes outside the compliance area are
// refused to it here.

// regulatorPrefixes are the tenant routes (after /t/{tenant}) a regulator
// may reach.
func regulatorPrefixes() []string { return []string{"/compliance/", "/reports"} }

// regulatorMay reports whether p may use the tenant route pattern in
// tenantID: always, unless p holds only the regulator role there, or
// holds its role there through a compliance commission (a third party's
// assessor): those keep to the compliance pages.
func regulatorMay(p *auth.Principal, tenantID, pattern string) bool {
	if p == nil || p.GlobalRole != "" || (p.Roles[tenantID] != auth.RoleRegulator && p.Commissioned[tenantID] == "") {
		return true
	}
	rest, ok := strings.CutPrefix(pattern, "/t/{tenant}")
	if !ok {
		return false
	}
	for _, pre := range regulatorPrefixes() {
		if strings.HasPrefix(rest, pre) {
			return true
		}
	}
	return false
}

// regulatorOnly reports whether p holds only the regulator role in
// tenantID (no platform role).
func regulatorOnly(p *auth.Principal, tenantID string) bool {
	return p != nil && p.GlobalRole == "" && p.Roles[tenantID] == auth.RoleRegulator
}

// listReports lists the tenant's archived reports the request's principal
// may see: a regulator sees the compliance reports only.
func (s *server) listReports(r *http.Request, tenantID string, f store.ReportFilter) ([]store.Report, error) {
	if regulatorOnly(auth.FromContext(r.Context()), tenantID) {
		return project.ListComplianceReports(r.Context(), s.opts.Archive.List, tenantID, f)
	}
	return s.opts.Archive.List(r.Context(), tenantID, f)
}

// reportVisible reports whether the request's principal may download an
// archived report: a regulator only the compliance ones.
func reportVisible(r *http.Request, tenantID string, rep store.Report) bool {
	return !regulatorOnly(auth.FromContext(r.Context()), tenantID) || project.IsComplianceReport(rep)
}

// reportKindVisible reports whether the request's principal may see and
// generate a report kind of the catalogue, archived under service.
func reportKindVisible(r *http.Request, tenantID, service string) bool {
	return !regulatorOnly(auth.FromContext(r.Context()), tenantID) || slices.Contains(project.ReportServices(), service)
}
