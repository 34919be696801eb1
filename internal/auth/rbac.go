// Package auth owns who may do what in Vigil: roles and their permissions,
// password hashing, API tokens, browser sessions, login rate limiting, and
// the Principal every request acts as.
package auth

import (
	"slices"
	"sort"
)

// Perm is one permission. Permissions are checked against a tenant: a
// principal holds a permission in a tenant through its role there (or
// through a global role, which applies to every tenant).
type Perm string

// Permissions. ".read" permissions never change anything.
const (
	PermTenantRead    Perm = "tenant.read"
	PermTenantAdmin   Perm = "tenant.admin" // create, edit, delete tenants (global only)
	PermUserAdmin     Perm = "user.admin"   // users, memberships, teams (global only)
	PermAssetRead     Perm = "asset.read"
	PermAssetWrite    Perm = "asset.write"
	PermContactRead   Perm = "contact.read"
	PermContactWrite  Perm = "contact.write"
	PermServiceRead   Perm = "service.read"
	PermServiceWrite  Perm = "service.write"
	PermTokenAdmin    Perm = "token.admin"
	PermAuditRead     Perm = "audit.read"
	PermTeamRead      Perm = "team.read"
	PermSecretWrite   Perm = "secret.write"
	PermEventRead     Perm = "event.read"     // logs, alerts (later issues)
	PermEventTriage   Perm = "event.triage"   // acknowledge, escalate alerts
	PermIncidentWrite Perm = "incident.write" // cases, response
	PermAssessRead    Perm = "assessment.read"
	PermAssessWrite   Perm = "assessment.write"
	PermReportRead    Perm = "report.read"
	PermVulnWrite     Perm = "vuln.write"   // import findings, move them through their lifecycle
	PermEventIngest   Perm = "event.ingest" // send log events (a log shipper's token)
	// PermInspectWrite opens, runs and closes compliance inspections
	// (campaigns, spot checks) without any other write to assessments.
	PermInspectWrite Perm = "inspection.write"
	// PermCommissionWrite commissions a third-party assessment
	// organisation into tenants for a period (and revokes it).
	PermCommissionWrite Perm = "commission.write"
)

// Role names.
const (
	RoleAdmin     = "admin"     // runs the platform
	RoleAnalyst   = "analyst"   // tier-1 monitoring desk
	RoleExpert    = "expert"    // tier-2 expert
	RoleOperator  = "operator"  // operations engineer
	RoleAuditor   = "auditor"   // read-only, sees the audit log
	RoleCustomer  = "customer"  // customer viewer, own tenant only
	RoleRegulator = "regulator" // supervisor: reads granted tenants, runs inspections, commissions third parties
	RoleAssessor  = "assessor"  // external assessor, assigned projects only
)

var readAll = []Perm{
	PermTenantRead, PermAssetRead, PermContactRead, PermServiceRead,
	PermTeamRead, PermEventRead, PermAssessRead, PermReportRead,
}

func with(base []Perm, more ...Perm) []Perm {
	return append(slices.Clone(base), more...)
}

// rolePerms is the fixed role table. It is data, read only.
func rolePerms(role string) []Perm {
	switch role {
	case RoleAdmin:
		return with(readAll, PermTenantAdmin, PermUserAdmin, PermAssetWrite, PermContactWrite,
			PermServiceWrite, PermTokenAdmin, PermAuditRead, PermSecretWrite, PermEventTriage,
			PermIncidentWrite, PermAssessWrite, PermVulnWrite, PermEventIngest, PermInspectWrite, PermCommissionWrite)
	case RoleExpert:
		return with(readAll, PermAssetWrite, PermContactWrite, PermEventTriage, PermIncidentWrite,
			PermAssessWrite, PermSecretWrite, PermVulnWrite, PermEventIngest, PermInspectWrite)
	case RoleAnalyst:
		return with(readAll, PermEventTriage, PermIncidentWrite, PermVulnWrite)
	case RoleOperator:
		return with(readAll, PermAssetWrite, PermContactWrite, PermSecretWrite, PermVulnWrite, PermEventIngest)
	case RoleAuditor:
		return with(readAll, PermAuditRead)
	case RoleCustomer:
		return []Perm{PermTenantRead, PermAssetRead, PermContactRead, PermServiceRead, PermReportRead, PermEventRead}
	case RoleRegulator:
		// Compliance views, its own inspections and commissions only; see docs/compliance.md.
		return []Perm{PermTenantRead, PermReportRead, PermAssessRead, PermInspectWrite, PermCommissionWrite}
	case RoleAssessor:
		return []Perm{PermTenantRead, PermAssessRead, PermAssessWrite, PermInspectWrite}
	}
	return nil
}

// Roles lists every role name, in display order.
func Roles() []string {
	return []string{RoleAdmin, RoleExpert, RoleAnalyst, RoleOperator, RoleAuditor,
		RoleCustomer, RoleRegulator, RoleAssessor}
}

// ValidRole reports whether role is a known role.
func ValidRole(role string) bool { return slices.Contains(Roles(), role) }

// GlobalRoles are the roles that may be held across every tenant.
func GlobalRoles() []string {
	return []string{RoleAdmin, RoleAuditor, RoleExpert, RoleAnalyst, RoleOperator}
}

// ValidGlobalRole reports whether role may be a user's or token's global role.
func ValidGlobalRole(role string) bool { return slices.Contains(GlobalRoles(), role) }

// RolePerms returns the sorted permissions of a role.
func RolePerms(role string) []Perm {
	p := rolePerms(role)
	sort.Slice(p, func(i, j int) bool { return p[i] < p[j] })
	return p
}

// RoleHas reports whether role grants perm.
func RoleHas(role string, perm Perm) bool { return slices.Contains(rolePerms(role), perm) }

// GlobalOnly reports whether a permission can only come from a global role:
// holding "admin" in one tenant does not let a user create tenants or users.
func GlobalOnly(p Perm) bool {
	return p == PermTenantAdmin || p == PermUserAdmin
}
