package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestRegulatorInspectionsAPI: with a regulator's token of A, a spot-check
// campaign over A opens, a result is recorded and the inspection closed;
// a campaign that also names B (not granted to the token) is 404 and
// opens nothing; projects stay out of reach (403); an analyst may not
// record results (403).
func TestRegulatorInspectionsAPI(t *testing.T) {
	h := newHarness(t)
	reg := h.token(h.env.TenantA.ID, auth.RoleRegulator)
	body := map[string]any{"name": "年度抽查", "framework": "mlps2-l2", "sample": 1, "tenants": []string{h.env.TenantA.Slug, h.env.TenantB.Slug}}
	h.want(http.StatusNotFound, http.MethodPost, "/api/v1/inspection-campaigns", reg, body, nil)
	for _, tn := range []string{h.env.TenantA.ID, h.env.TenantB.ID} {
		xs, err := h.env.Assessments.ListInspections(h.env.AdminCtx(t.Context()), tn, store.Page{Limit: 10})
		if err != nil || len(xs) != 0 {
			t.Fatalf("inspections of %s after the refused campaign: %d %v", tn, len(xs), err)
		}
	}
	body["tenants"] = []string{h.env.TenantA.Slug}
	var camp InspectionCampaign
	h.want(http.StatusCreated, http.MethodPost, "/api/v1/inspection-campaigns", reg, body, &camp)
	if camp.Opened != 1 || len(camp.Outcomes) != 1 || camp.Outcomes[0].Inspection == "" {
		t.Fatalf("campaign %+v", camp)
	}
	base := "/api/v1/tenants/" + h.env.TenantA.Slug + "/inspections/" + camp.Outcomes[0].Inspection
	var x Inspection
	h.want(http.StatusOK, http.MethodGet, base, reg, nil, &x)
	if !x.SpotCheck || len(x.Objects) != 1 {
		t.Fatalf("inspection %+v", x)
	}
	res := map[string]any{"version": x.Version, "item": "L2-CES1-01", "object": x.Objects[0].Asset, "result": "nonconform", "note": "弱口令"}
	h.want(http.StatusForbidden, http.MethodPut, base+"/results", h.analystA, res, nil)
	h.want(http.StatusOK, http.MethodPut, base+"/results", reg, res, &x)
	h.want(http.StatusConflict, http.MethodPut, base+"/results", reg, res, nil)
	h.want(http.StatusOK, http.MethodPut, base+"/state", reg, map[string]any{"version": x.Version, "state": "closed"}, &x)
	if x.State != "closed" || x.Checked != 1 || x.Compliance != 0 {
		t.Fatalf("after closing: %+v", x)
	}
	var list []Inspection
	h.want(http.StatusOK, http.MethodGet, "/api/v1/tenants/"+h.env.TenantA.Slug+"/inspections", reg, nil, &list)
	if len(list) != 1 {
		t.Fatalf("list %+v", list)
	}
	h.want(http.StatusForbidden, http.MethodPost, "/api/v1/tenants/"+h.env.TenantA.Slug+"/assessments", reg,
		map[string]any{"name": "x", "system": "y", "level": 3}, nil)
	h.want(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/"+h.env.TenantB.Slug+"/inspections", reg, nil, nil)
}

// TestCommissionsAPI: a regulator's token of A commissions a third party
// over A (B is 404), reads it back active, revokes it; a stale revoke is
// 409 and a customer's token 403.
func TestCommissionsAPI(t *testing.T) {
	h := newHarness(t)
	ctx := h.env.AdminCtx(t.Context())
	if _, err := h.env.Tenants.CreateUser(ctx, tenant.UserInput{Username: "thirdparty", Password: "correct-horse-battery"}); err != nil {
		t.Fatal(err)
	}
	reg := h.token(h.env.TenantA.ID, auth.RoleRegulator)
	now := time.Now().UTC()
	body := map[string]any{"org": "某测评中心", "purpose": "年度测评", "tenants": []string{h.env.TenantA.Slug, h.env.TenantB.Slug},
		"members": []string{"thirdparty"}, "starts_at": now.Add(-time.Hour), "ends_at": now.Add(48 * time.Hour),
		"systems": map[string][]string{h.env.TenantA.Slug: {h.env.AssetA.Address}}}
	h.want(http.StatusNotFound, http.MethodPost, "/api/v1/commissions", reg, body, nil)
	body["tenants"] = []string{h.env.TenantA.Slug}
	var c Commission
	h.want(http.StatusCreated, http.MethodPost, "/api/v1/commissions", reg, body, &c)
	if c.Status != "active" || len(c.Tenants) != 1 || len(c.Tenants[0].Systems) != 1 || c.Tenants[0].Systems[0] != h.env.AssetA.Name ||
		len(c.Members) != 1 || c.Members[0] != "thirdparty" {
		t.Fatalf("commission %+v", c)
	}
	var list []Commission
	h.want(http.StatusOK, http.MethodGet, "/api/v1/commissions", reg, nil, &list)
	if len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("list %+v", list)
	}
	cust := h.token(h.env.TenantB.ID, auth.RoleCustomer)
	h.want(http.StatusForbidden, http.MethodPost, "/api/v1/commissions/"+c.ID+"/revoke", cust, map[string]any{"version": c.Version}, nil)
	h.want(http.StatusConflict, http.MethodPost, "/api/v1/commissions/"+c.ID+"/revoke", reg, map[string]any{"version": c.Version + 1}, nil)
	h.want(http.StatusOK, http.MethodPost, "/api/v1/commissions/"+c.ID+"/revoke", reg, map[string]any{"version": c.Version}, &c)
	if c.Status != "revoked" || c.RevokedAt.IsZero() {
		t.Fatalf("after revoking: %+v", c)
	}
}
