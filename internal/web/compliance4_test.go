package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestRegulatorReportsOnlyCompliance walks the Reports page as a
// regulator of tenant A: of an MLPS report and a vulnerability report
// archived in A, the list shows only the MLPS one, every report linked
// downloads, the other is not found, and the catalogue offers only the
// compliance kinds. The admin still sees both.
func TestRegulatorReportsOnlyCompliance(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	tn := ui.TenantA.ID
	doc := func(title string) *report.Document {
		return &report.Document{Title: title, Lang: "en", Sections: []report.Section{{Heading: "x", Paragraphs: []string{"y"}}}}
	}
	mlps, err := ui.Archive.Generate(ctx, archive.Request{TenantID: tn, Service: "mlps", Kind: "mlps-assessment", Format: report.FormatHTML, Doc: doc("MLPS-REPORT")})
	if err != nil {
		t.Fatal(err)
	}
	vuln, err := ui.Archive.Generate(ctx, archive.Request{TenantID: tn, Service: "vuln-lifecycle", Kind: "vulnerabilities", Format: report.FormatHTML, Doc: doc("VULN-REPORT")})
	if err != nil {
		t.Fatal(err)
	}
	reg := ui.as(t, ui.member(t, "regulator", auth.RoleRegulator))
	admin := ui.as(t, ui.Admin)
	base := "/t/" + ui.TenantA.Slug + "/reports"

	page := reg.get(base)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.body, "MLPS-REPORT") || strings.Contains(page.body, "VULN-REPORT") {
		t.Fatalf("regulator's report list:\n%s", page.body)
	}
	links := regexp.MustCompile(`href="(`+regexp.QuoteMeta(base)+`/[0-9a-f-]{36})"`).FindAllStringSubmatch(page.body, -1)
	if len(links) != 1 {
		t.Fatalf("%d report links for the regulator", len(links))
	}
	for _, l := range links {
		wantStatus(t, reg.get(l[1]), http.StatusOK)
	}
	if r := reg.get(base + "/" + mlps.ID); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "MLPS-REPORT") {
		t.Errorf("regulator downloads the MLPS report: %d", r.StatusCode)
	}
	if r := reg.get(base + "/" + vuln.ID); r.StatusCode != http.StatusNotFound {
		t.Errorf("regulator downloads the vulnerability report: %d", r.StatusCode)
	}
	// The catalogue: no generate form for a kind outside compliance, and
	// posting one is refused.
	if strings.Contains(page.body, `name="kind" value="monitoring"`) {
		t.Error("the regulator is offered the monitoring report")
	}
	if r := reg.post(base+"/generate", url.Values{"kind": {"monitoring"}, "from": {"2026-01-01"}, "to": {"2026-01-31"}, "format": {"html"}}); r.StatusCode == http.StatusSeeOther {
		t.Error("the regulator generated a monitoring report")
	}
	all := admin.get(base)
	if !strings.Contains(all.body, "MLPS-REPORT") || !strings.Contains(all.body, "VULN-REPORT") {
		t.Error("the admin no longer sees every report")
	}
	if !strings.Contains(all.body, `name="kind" value="monitoring"`) {
		t.Error("the admin is not offered the monitoring report")
	}
}

// TestCampaignPageShowsEachTenant opens a campaign over three tenants
// where the middle one already has an inspection of that name: the page
// shows two opened and the middle one failed with its reason.
func TestCampaignPageShowsEachTenant(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	c, err := ui.Tenants.CreateTenant(ctx, tenant.TenantInput{Slug: "zeta", Name: "Zeta 单位"})
	if err != nil {
		t.Fatal(err)
	}
	in := project.InspectionInput{Name: "年度检查", Framework: "mlps2-l2"}
	if _, err := ui.Assessments.CreateInspection(ctx, ui.TenantB.ID, in); err != nil {
		t.Fatal(err)
	}
	admin := ui.as(t, ui.Admin)
	r := admin.post("/t/"+ui.TenantA.Slug+"/compliance/compliance-inspection", url.Values{"name": {in.Name}, "framework": {"mlps2-l2"},
		"tenant": {ui.TenantB.Slug, c.Slug}, "sample": {"1"}})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `id="campaign-counts" data-opened="2" data-failed="1"`) {
		t.Fatalf("campaign page:\n%s", r.body)
	}
	for slug, failure := range map[string]string{ui.TenantA.Slug: "", ui.TenantB.Slug: project.CampaignFailInvalid, c.Slug: ""} {
		if !strings.Contains(r.body, `data-tenant="`+slug+`" data-failure="`+failure+`"`) {
			t.Errorf("tenant %s: want failure %q", slug, failure)
		}
	}
	xs, err := ui.Assessments.ListInspections(ctx, c.ID, store.Page{Limit: 10})
	if err != nil || len(xs) != 1 {
		t.Fatalf("inspections of the third tenant: %d %v", len(xs), err)
	}
	v, err := ui.Assessments.Inspection(ctx, c.ID, xs[0].ID)
	if err != nil || !v.Doc.Sampled {
		t.Fatalf("the third tenant's inspection is not a spot check: %v", err)
	}
	if r := admin.post("/t/"+ui.TenantA.Slug+"/compliance/compliance-inspection", url.Values{"name": {"x"}, "framework": {"mlps2-l2"}, "sample": {"-3"}}); r.StatusCode == http.StatusSeeOther {
		t.Error("a negative sample was accepted")
	}
}

// TestSupervisionPage: a regulator of tenant A sees A's summary and not
// B's; a user without any assessment.read sees none.
func TestSupervisionPage(t *testing.T) {
	t.Parallel()
	ui := newTestUI(t)
	ctx := ui.adminCtx()
	p, err := ui.Assessments.Create(ctx, ui.TenantA.ID, project.ProjectInput{Name: "门户 <b>等保</b>", System: "门户", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Assessments.SetItem(ctx, ui.TenantA.ID, p.ID, project.ItemInput{Item: "L3-CES1-01", Object: "web-01", Result: "nonconform"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Assessments.Create(ctx, ui.TenantB.ID, project.ProjectInput{Name: "B-PROJECT", System: "B", Level: 2}); err != nil {
		t.Fatal(err)
	}
	reg := ui.as(t, ui.member(t, "regulator", auth.RoleRegulator))
	page := reg.get("/supervision")
	wantStatus(t, page, http.StatusOK)
	want := `id="sv-` + ui.TenantA.Slug + `" data-projects="1" data-gaps="1"`
	if !strings.Contains(page.body, want) || strings.Contains(page.body, "B-PROJECT") || strings.Contains(page.body, `id="sv-`+ui.TenantB.Slug+`"`) {
		t.Fatalf("regulator's summary:\n%s", page.body)
	}
	if !strings.Contains(page.body, "门户 &lt;b&gt;等保&lt;/b&gt;") {
		t.Error("the project name is not escaped")
	}
	if !strings.Contains(page.body, `href="/supervision"`) {
		t.Error("the navigation does not lead the regulator to the summary")
	}
	if r := reg.get("/t/" + ui.TenantA.Slug + "/compliance/compliance-inspection"); !strings.Contains(r.body, `id="supervision-link"`) {
		t.Error("no link to the summary for the regulator")
	}
	cust := ui.as(t, ui.CustomerB)
	if r := cust.get("/supervision"); r.StatusCode != http.StatusOK || strings.Contains(r.body, `class="card supervised"`) {
		t.Errorf("customer viewer of B: %d", r.StatusCode)
	}
}
