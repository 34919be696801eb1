package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestRegulatorCampaignPages: a regulator of A and B opens a spot-check
// campaign over both from A's inspection page, records a result and
// closes the inspection; a campaign naming a tenant it is not granted is
// 404 and opens nothing; it still cannot open or edit MLPS projects.
func TestRegulatorCampaignPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	c, err := ui.Tenants.CreateTenant(ctx, tenant.TenantInput{Slug: "gamma", Name: "Gamma"})
	if err != nil {
		t.Fatal(err)
	}
	regUser := ui.member(t, "regulator", auth.RoleRegulator)
	if err := ui.Tenants.SetMembership(ctx, regUser.ID, ui.TenantB.ID, auth.RoleRegulator); err != nil {
		t.Fatal(err)
	}
	p, err := ui.Assessments.Create(ctx, ui.TenantA.ID, project.ProjectInput{Name: "门户", System: "门户", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	reg := ui.as(t, regUser)
	base := "/t/" + ui.TenantA.Slug + "/compliance/compliance-inspection"
	list := reg.get(base)
	wantStatus(t, list, http.StatusOK)
	if !strings.Contains(list.body, `id="inspection-form"`) || !strings.Contains(list.body, `<option value="`+ui.TenantB.Slug+`">`) ||
		strings.Contains(list.body, `value="gamma"`) {
		t.Fatalf("the regulator's inspection form:\n%s", list.body)
	}

	// A tenant not granted: 404, nothing opened anywhere.
	form := url.Values{"name": {"年度抽查"}, "framework": {"mlps2-l2"}, "sample": {"1"}, "tenant": {ui.TenantB.Slug, c.Slug}}
	wantStatus(t, reg.post(base, form), http.StatusNotFound)
	for _, tn := range []string{ui.TenantA.ID, ui.TenantB.ID, c.ID} {
		if xs, err := ui.Assessments.ListInspections(ctx, tn, store.Page{Limit: 10}); err != nil || len(xs) != 0 {
			t.Fatalf("inspections of %s after the refused campaign: %d %v", tn, len(xs), err)
		}
	}

	// Two granted tenants: opened in both.
	form["tenant"] = []string{ui.TenantB.Slug}
	out := reg.post(base, form)
	wantStatus(t, out, http.StatusOK)
	if !strings.Contains(out.body, `data-opened="2" data-failed="0"`) {
		t.Fatalf("campaign outcome:\n%s", out.body)
	}
	xs, err := ui.Assessments.ListInspections(ctx, ui.TenantA.ID, store.Page{Limit: 10})
	if err != nil || len(xs) != 1 || xs[0].CreatedBy != regUser.ID {
		t.Fatalf("inspections of A: %+v %v", xs, err)
	}
	v, err := ui.Assessments.Inspection(ctx, ui.TenantA.ID, xs[0].ID)
	if err != nil || len(v.Doc.Objects) != 1 {
		t.Fatalf("inspection: %+v %v", v, err)
	}
	item := v.Framework.Requirements()[0].ID
	r := reg.post(base+"/"+v.Meta.ID+"/results", url.Values{"version": {"1"}, "item": {item}, "object": {v.Doc.Objects[0].Asset}, "result": {"nonconform"}})
	wantStatus(t, r, http.StatusSeeOther)
	wantStatus(t, reg.post(base+"/"+v.Meta.ID+"/state", url.Values{"version": {"2"}, "state": {store.InspectionClosed}}), http.StatusSeeOther)
	if v, err = ui.Assessments.Inspection(ctx, ui.TenantA.ID, v.Meta.ID); err != nil || v.Meta.State != store.InspectionClosed || v.Summary.Checked != 1 {
		t.Fatalf("after the regulator ran it: %+v %v", v, err)
	}

	// No MLPS project writes.
	mlps := "/t/" + ui.TenantA.Slug + "/compliance/mlps"
	wantStatus(t, reg.post(mlps, url.Values{"name": {"x"}, "system": {"y"}, "level": {"3"}}), http.StatusForbidden)
	wantStatus(t, reg.post(mlps+"/"+p.ID+"/items", url.Values{"item": {"L3-CES1-01"}, "result": {"conform"}}), http.StatusForbidden)
	// And nothing in C.
	wantStatus(t, reg.get("/t/gamma/compliance/compliance-inspection"), http.StatusNotFound)
}

// TestCommissionPages: the regulator commissions a third party over A
// from the commissions page; the organisation's user reaches A's
// compliance pages only (not its assets, not B), the supervision summary
// shows the commission and what its assessor opened, and after the
// revocation the user reaches nothing.
func TestCommissionPages(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	regUser := ui.member(t, "regulator", auth.RoleRegulator)
	orgUser, err := ui.Tenants.CreateUser(ctx, tenant.UserInput{Username: "thirdparty", Password: "correct-horse-battery"})
	if err != nil {
		t.Fatal(err)
	}
	reg := ui.as(t, regUser)
	page := reg.get("/supervision/commissions")
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, `id="commission-form"`) || !strings.Contains(page.body, `value="`+ui.TenantA.Slug+`"`) ||
		strings.Contains(page.body, `value="`+ui.TenantB.Slug+`"`) {
		t.Fatalf("commission form:\n%s", page.body)
	}
	today := time.Now().UTC()
	form := url.Values{"org": {"某测评中心 <i>"}, "contact": {"王工"}, "purpose": {"年度等保测评"}, "tenant": {ui.TenantA.Slug},
		"systems-" + ui.TenantA.Slug: {ui.AssetA.Name}, "members": {"thirdparty"},
		"starts": {today.AddDate(0, 0, -1).Format(time.DateOnly)}, "ends": {today.AddDate(0, 0, 30).Format(time.DateOnly)}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad["tenant"] = []string{ui.TenantB.Slug}
	wantStatus(t, reg.post("/supervision/commissions", bad), http.StatusNotFound)
	r := reg.post("/supervision/commissions", form)
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/supervision/commissions/")
	view := reg.get("/supervision/commissions/" + id)
	wantStatus(t, view, http.StatusOK)
	if !strings.Contains(view.body, `data-status="active"`) || !strings.Contains(view.body, "某测评中心 &lt;i&gt;") ||
		!strings.Contains(view.body, ui.AssetA.Name) {
		t.Fatalf("commission page:\n%s", view.body)
	}

	// The organisation's user: A's compliance pages, nothing else.
	org := ui.as(t, orgUser)
	a := "/t/" + ui.TenantA.Slug
	wantStatus(t, org.get(a+"/compliance/mlps"), http.StatusOK)
	wantStatus(t, org.get(a+"/assets"), http.StatusForbidden)
	wantStatus(t, org.get("/t/"+ui.TenantB.Slug+"/compliance/mlps"), http.StatusNotFound)
	wantStatus(t, org.post(a+"/compliance/compliance-inspection", url.Values{"name": {"第三方检查"}, "framework": {"mlps2-l2"}}), http.StatusSeeOther)

	sum := reg.get("/supervision")
	if !strings.Contains(sum.body, `data-commission="`+id+`" data-status="active" data-results="1"`) || !strings.Contains(sum.body, "第三方检查") {
		t.Fatalf("supervision summary:\n%s", sum.body)
	}

	// Revoked: access ends on the next request.
	wantStatus(t, reg.post("/supervision/commissions/"+id+"/revoke", url.Values{"version": {"1"}}), http.StatusSeeOther)
	wantStatus(t, org.get(a+"/compliance/mlps"), http.StatusNotFound)
	if v := reg.get("/supervision/commissions/" + id); !strings.Contains(v.body, `data-status="revoked"`) {
		t.Fatalf("after the revocation:\n%s", v.body)
	}
}
