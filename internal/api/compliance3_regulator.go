package api

import (
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
)

// The regulator role reads the compliance work and reports of the tenants
// it is granted, nothing else (see docs/compliance.md): its permissions
// are shared with some operations endpoints, so the guard also limits it
// to these paths.

// regulatorTenantPrefixes are the tenant paths (after
// /api/v1/tenants/{tenant}) a regulator may use.
func regulatorTenantPrefixes() []string {
	return []string{"/assessments", "/risks", "/remediation", "/reports"}
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
		if r.Scope == scopeAuthenticated || path == basePath+"/tenants" {
			return true
		}
		for _, role := range p.Roles {
			if role != auth.RoleRegulator {
				return true
			}
		}
		return len(p.Roles) == 0
	}
	if p.Roles[tenantID] != auth.RoleRegulator {
		return true
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
