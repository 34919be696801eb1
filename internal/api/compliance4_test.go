package api

import (
	"net/http"
	"testing"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/report"
)

// TestRegulatorListsComplianceReports: tenant A archives an MLPS report
// and a vulnerability report; a regulator of A lists only the MLPS one
// (and nothing when it asks for the vulnerability service), the admin
// both.
func TestRegulatorListsComplianceReports(t *testing.T) {
	h := newHarness(t)
	ctx := h.env.AdminCtx(t.Context())
	tn := h.env.TenantA.ID
	doc := &report.Document{Title: "r", Lang: "en", Sections: []report.Section{{Heading: "x", Paragraphs: []string{"y"}}}}
	mlps, err := h.env.Archive.Generate(ctx, archive.Request{TenantID: tn, Service: "mlps", Kind: "mlps-assessment", Format: report.FormatHTML, Doc: doc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.env.Archive.Generate(ctx, archive.Request{TenantID: tn, Service: "vuln-lifecycle", Kind: "vulnerabilities", Format: report.FormatHTML, Doc: doc}); err != nil {
		t.Fatal(err)
	}
	reg := h.token(tn, auth.RoleRegulator)
	url := "/api/v1/tenants/" + h.env.TenantA.Slug + "/reports"
	var got []ArchivedReport
	h.want(http.StatusOK, http.MethodGet, url, reg, nil, &got)
	if len(got) != 1 || got[0].ID != mlps.ID {
		t.Fatalf("regulator lists %+v", got)
	}
	h.want(http.StatusOK, http.MethodGet, url+"?service=vuln-lifecycle", reg, nil, &got)
	if len(got) != 0 {
		t.Fatalf("regulator lists %d vulnerability reports", len(got))
	}
	h.want(http.StatusOK, http.MethodGet, url, h.adminA, nil, &got)
	if len(got) != 2 {
		t.Fatalf("admin lists %d reports, want 2", len(got))
	}
}

// TestSupervisionAPI: a regulator of A gets A's summary with the gap it
// recorded, not B's; a customer of B, without assessment.read anywhere,
// is refused.
func TestSupervisionAPI(t *testing.T) {
	h := newHarness(t)
	ctx := h.env.AdminCtx(t.Context())
	p, err := h.env.Assessments.Create(ctx, h.env.TenantA.ID, project.ProjectInput{Name: "OA", System: "OA", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.env.Assessments.SetItem(ctx, h.env.TenantA.ID, p.ID, project.ItemInput{Item: "L3-CES1-01", Object: "db", Result: "partial"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.env.Assessments.Create(ctx, h.env.TenantB.ID, project.ProjectInput{Name: "B", System: "B", Level: 2}); err != nil {
		t.Fatal(err)
	}
	reg := h.token(h.env.TenantA.ID, auth.RoleRegulator)
	var got []SupervisedTenant
	h.want(http.StatusOK, http.MethodGet, "/api/v1/supervision", reg, nil, &got)
	if len(got) != 1 || got[0].Tenant != h.env.TenantA.Slug || len(got[0].Projects) != 1 || got[0].Gaps != 1 || got[0].Projects[0].Assessed != 1 {
		t.Fatalf("regulator's summary %+v", got)
	}
	h.want(http.StatusForbidden, http.MethodGet, "/api/v1/supervision", h.customer, nil, nil)
}
