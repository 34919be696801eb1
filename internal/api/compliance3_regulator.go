package api

import (
	"context"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
)

// The regulator role reads the compliance work and reports of the tenants
// it is granted, nothing else (see docs/compliance.md): its permissions
// are shared with some operations endpoints, so the guard also limits it
// to these paths.

// regulatorTenantPrefixes are the tenant paths (after
// /api/v1/tenants/{tenant}) a regulator may use.
func regulatorTenantPrefixes() []string {
	return []string{"/assessments", "/risks", "/remediation", "/reports", "/inspections"}
}

// regulatorAllows reports whether p may call the operation at path (with
// its rule r) in tenantID: always, unless p is a regulator — in that
// tenant, or, for paths without a tenant, in every tenant it holds a role
// in, without a platform role.
func regulatorAllows(p *auth.Principal, r rule, tenantID, path string) bool {
	if p == nil || p.GlobalRole != "" {
		return true
	}
	if tenantID == "" {
		if r.Scope == scopeAuthenticated || path == basePath+"/tenants" || path == basePath+supervisionPath || regulatorOwnPath(path) {
			return true
		}
		for _, role := range p.Roles {
			if role != auth.RoleRegulator {
				return true
			}
		}
		return len(p.Roles) == 0
	}
	if p.Roles[tenantID] != auth.RoleRegulator && p.Commissioned[tenantID] == "" {
		return true // a commissioned assessor keeps to the same paths
	}
	rest, ok := strings.CutPrefix(path, basePath+"/tenants/{"+tenantParam+"}")
	if !ok {
		return false
	}
	if rest == "" {
		return true // the tenant itself
	}
	for _, pre := range regulatorTenantPrefixes() {
		if rest == pre || strings.HasPrefix(rest, pre+"/") {
			return true
		}
	}
	return false
}

// listReportsFor lists the tenant's archived reports the caller may see:
// a regulator (without a platform role) sees the compliance reports only.
func (s *server) listReportsFor(ctx context.Context, tenantID string, f store.ReportFilter) ([]store.Report, error) {
	if p := auth.FromContext(ctx); p != nil && p.GlobalRole == "" && p.Roles[tenantID] == auth.RoleRegulator {
		return project.ListComplianceReports(ctx, s.opts.Archive.List, tenantID, f)
	}
	return s.opts.Archive.List(ctx, tenantID, f)
}
