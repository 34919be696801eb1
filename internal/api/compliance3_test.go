package api

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
)

// TestRegulatorReachesOnlyCompliance calls every operation with a
// regulator's token of tenant A: outside the tenant's assessments, risks,
// remediation, inspections and reports (and the tenant list, the
// supervision summary, inspection campaigns and commissions) every call
// is refused with 403; the compliance reads it is granted, and its own
// inspection and commission writes, are not.
func TestRegulatorReachesOnlyCompliance(t *testing.T) {
	h := newHarness(t)
	reg := h.token(h.env.TenantA.ID, auth.RoleRegulator)
	param := regexp.MustCompile(`\{(\w+)\}`)
	allowedPrefix := basePath + "/tenants/{tenant}"
	refused, reached := 0, 0
	for key, r := range h.srv.rules {
		method, path, _ := strings.Cut(key, " ")
		target := param.ReplaceAllStringFunc(path, func(m string) string {
			if m == "{tenant}" {
				return h.env.TenantA.Slug
			}
			return "no-such-id"
		})
		rest, inTenantPath := strings.CutPrefix(path, allowedPrefix)
		compliance := false
		if inTenantPath {
			for _, pre := range regulatorTenantPrefixes() {
				compliance = compliance || rest == pre || strings.HasPrefix(rest, pre+"/")
			}
		}
		granted := r.Perm == auth.PermAssessRead || r.Perm == auth.PermReportRead || r.Perm == auth.PermTenantRead || r.Scope == scopeAuthenticated ||
			r.Perm == auth.PermInspectWrite || r.Perm == auth.PermCommissionWrite
		res := h.do(method, target, reg, nil)
		switch {
		case (compliance || rest == "" || path == basePath+"/tenants" || path == basePath+supervisionPath || regulatorOwnPath(path)) && granted:
			if res.Code == http.StatusForbidden || res.Code == http.StatusUnauthorized {
				t.Errorf("regulator %s: %d, want it reachable", key, res.Code)
			}
			reached++
		case r.Scope == scopeAuthenticated:
		default:
			if res.Code != http.StatusForbidden {
				t.Errorf("regulator %s: %d, want 403", key, res.Code)
			}
			refused++
		}
	}
	if reached < 5 || refused < 50 {
		t.Fatalf("only %d compliance reads reached and %d operations refused", reached, refused)
	}
	// Concretely: assessments yes, assets, vulnerabilities and secrets no.
	base := "/api/v1/tenants/" + h.env.TenantA.Slug
	h.want(http.StatusOK, http.MethodGet, base+"/assessments", reg, nil, nil)
	h.want(http.StatusOK, http.MethodGet, base+"/risks", reg, nil, nil)
	h.want(http.StatusForbidden, http.MethodGet, base+"/assets", reg, nil, nil)
	h.want(http.StatusForbidden, http.MethodPost, base+"/assessments", reg, map[string]any{"name": "x", "system": "y", "level": 3}, nil)
	// Tenant B is not granted: not found.
	h.want(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/"+h.env.TenantB.Slug+"/assessments", reg, nil, nil)
}

// TestEditRiskEntry edits one register entry over the API: T 3 → 4 and
// V 3 → 4 on an asset of value 3 give L = 4, F = √12 ≈ 3.46, R = 13.86 →
// 14 → 中 (worked by hand); a stale version is 409, an analyst 403.
func TestEditRiskEntry(t *testing.T) {
	h := newHarness(t)
	ctx := h.env.AdminCtx(t.Context())
	tn := h.env.TenantA.ID
	svc := h.env.Assessments.Register()
	ra, err := svc.CreateRisk(ctx, tn, "条目", "formula")
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.Replace(ctx, tn, ra.ID, 0, &risk.Assessment{
		Assets:          []risk.Asset{{ID: "A1", Name: "业务", Tier: risk.TierBusiness, Importance: 3}, {ID: "A2", Name: "系统", Tier: risk.TierSystem, Parent: "A1", C: 3, I: 2, A: 1}},
		Threats:         []risk.Threat{{ID: "T1", Name: "攻击", Frequency: 3}},
		Vulnerabilities: []risk.Vulnerability{{ID: "V1", Name: "弱口令", Asset: "A2", Severity: 3}},
		Scenarios:       []risk.Scenario{{ID: "S1", Threat: "T1", Vulnerability: "V1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := "/api/v1/tenants/" + h.env.TenantA.Slug + "/risks/" + ra.ID + "/entries/S1"
	body := map[string]any{"version": r.Meta.Version, "threat": "T1", "vulnerability": "V1", "frequency": 4, "severity": 4, "c": 3, "i": 2, "a": 1,
		"treatment": "reduce", "owner": "张三"}
	var got RiskAssessment
	h.want(http.StatusOK, http.MethodPut, url, h.adminA, body, &got)
	if len(got.Register) != 1 || got.Register[0].R != 14 || got.Register[0].Level != "中" || got.Register[0].Decision == nil ||
		got.Register[0].Decision.Owner != "张三" || got.Version != r.Meta.Version+1 {
		t.Fatalf("after the edit: %+v", got)
	}
	h.want(http.StatusConflict, http.MethodPut, url, h.adminA, body, nil)
	h.want(http.StatusForbidden, http.MethodPut, url, h.analystA, body, nil)
	body["version"], body["treatment"] = got.Version, "ignore"
	h.want(http.StatusUnprocessableEntity, http.MethodPut, url, h.adminA, body, nil)
}
