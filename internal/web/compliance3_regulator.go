package web

import (
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
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
// tenantID: always, unless p holds only the regulator role there.
func regulatorMay(p *auth.Principal, tenantID, pattern string) bool {
	if p == nil || p.GlobalRole != "" || p.Roles[tenantID] != auth.RoleRegulator {
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
