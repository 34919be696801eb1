package project_test

import (
	"errors"
	"math"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/compliance"
	"github.com/vigil-sec/vigil/internal/compliance/project"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/tenant"
)

// TestCampaignCarriesOnPastAFailingTenant: of three tenants, the middle
// one already has an inspection of the campaign's name; the campaign
// opens the inspection in the first and the third, records the middle
// one's failure in its audit trail and returns it in its outcome.
func TestCampaignCarriesOnPastAFailingTenant(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	c, err := env.Tenants.CreateTenant(ctx, tenant.TenantInput{Slug: "third", Name: "Third"})
	if err != nil {
		t.Fatal(err)
	}
	in := project.InspectionInput{Name: "2026 年度检查", Framework: "mlps2-l2"}
	if _, err := env.Assessments.CreateInspection(ctx, env.TenantB.ID, in); err != nil {
		t.Fatal(err)
	}
	res, err := env.Assessments.CreateCampaign(ctx, []string{env.TenantA.ID, env.TenantB.ID, c.ID}, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outcomes) != 3 || res.Opened() != 2 || res.Campaign != in.Name {
		t.Fatalf("outcomes %+v", res)
	}
	for i, want := range []string{env.TenantA.ID, env.TenantB.ID, c.ID} {
		o := res.Outcomes[i]
		if o.TenantID != want {
			t.Fatalf("outcome %d is for %s, want %s", i, o.TenantID, want)
		}
		if (o.Inspection != nil) != (i != 1) {
			t.Fatalf("outcome %d: inspection %v failure %q", i, o.Inspection, o.Failure)
		}
	}
	failed := res.Failed()
	if len(failed) != 1 || failed[0].Failure != project.CampaignFailInvalid || failed[0].Message == "" || failed[0].Err == nil {
		t.Fatalf("failed %+v", failed)
	}
	for _, tn := range []string{env.TenantA.ID, c.ID} {
		xs, err := env.Assessments.ListInspections(ctx, tn, store.Page{Limit: 10})
		if err != nil || len(xs) != 1 || xs[0].Campaign != in.Name {
			t.Fatalf("inspections of %s: %+v %v", tn, xs, err)
		}
	}
	evs, err := env.Store.Audit().List(ctx, store.AuditFilter{TenantID: env.TenantB.ID, Action: "inspection.campaign_failed"})
	if err != nil || len(evs) != 1 || evs[0].Object != "campaign:"+in.Name {
		t.Fatalf("failure audit of B: %+v %v", evs, err)
	}

	// A caller without assessment.write in the middle tenant: forbidden
	// there, opened in the others.
	if err := env.Tenants.SetMembership(ctx, env.AnalystA.ID, env.TenantA.ID, "assessor"); err != nil {
		t.Fatal(err)
	}
	if err := env.Tenants.SetMembership(ctx, env.AnalystA.ID, c.ID, "assessor"); err != nil {
		t.Fatal(err)
	}
	analyst := env.As(t.Context(), env.AnalystA)
	res, err = env.Assessments.CreateCampaign(analyst, []string{env.TenantA.ID, env.TenantB.ID, c.ID}, project.InspectionInput{Name: "second", Framework: "mlps2-l2"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Opened() != 2 || res.Outcomes[1].Failure != project.CampaignFailForbidden {
		t.Fatalf("outcomes %+v", res.Outcomes)
	}

	// Input refused before any tenant: nothing is tried.
	if _, err := env.Assessments.CreateCampaign(ctx, nil, in); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no tenants: %v", err)
	}
}

// TestSpotCheckSamples: a spot check assigns the number of assets asked
// for, all distinct and of the tenant, and marks the inspection sampled.
func TestSpotCheckSamples(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	tn := env.TenantA.ID
	for _, n := range []string{"web-01", "web-02", "db-01", "db-02", "mail-01"} {
		if _, err := env.Assets.Create(ctx, tn, asset.Input{Kind: "host", Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := env.Store.Assets().List(ctx, tn, store.AssetFilter{Page: store.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, a := range all {
		mine[a.ID] = true
	}
	x, err := env.Assessments.CreateInspection(ctx, tn, project.InspectionInput{Name: "抽查", Framework: "mlps2-l2", Sample: 3})
	if err != nil {
		t.Fatal(err)
	}
	v, err := env.Assessments.Inspection(ctx, tn, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, o := range v.Doc.Objects {
		if !mine[o.Asset] || seen[o.Asset] {
			t.Fatalf("sampled object %+v", o)
		}
		seen[o.Asset] = true
	}
	if len(seen) != 3 || !v.Doc.Sampled {
		t.Fatalf("sample of 3 gave %d objects, sampled %v", len(seen), v.Doc.Sampled)
	}
	// More than the tenant has: every asset.
	x, err = env.Assessments.CreateInspection(ctx, tn, project.InspectionInput{Name: "大样本", Framework: "mlps2-l2", Sample: len(all) + 5})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = env.Assessments.Inspection(ctx, tn, x.ID); err != nil || len(v.Doc.Objects) != len(all) {
		t.Fatalf("oversized sample: %d of %d, %v", len(v.Doc.Objects), len(all), err)
	}
	if _, err := env.Assessments.CreateInspection(ctx, tn, project.InspectionInput{Name: "过大", Framework: "mlps2-l2", Sample: project.MaxSample + 1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("sample above the limit: %v", err)
	}
}

// TestSupervisionSummary: the summary of two tenants read by a regulator
// of one of them holds only that one, with its project's conclusion and
// gaps, remediation progress and last inspection, each figure counted
// from what the test recorded.
func TestSupervisionSummary(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	tn := env.TenantA.ID
	p, err := env.Assessments.Create(ctx, tn, project.ProjectInput{Name: "OA 等保", System: "OA", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	results := []struct{ item, result string }{{"L3-CES1-01", "conform"}, {"L3-CES1-02", "partial"}, {"L3-CES1-03", "nonconform"}, {"L3-CES1-04", "na"}}
	for _, r := range results {
		if _, err := env.Assessments.SetItem(ctx, tn, p.ID, project.ItemInput{Item: r.item, Object: "db-01", Result: r.result}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := env.Assessments.Remediate(ctx, tn, p.ID)
	if err != nil || n != 2 {
		t.Fatalf("raised %d remediation items: %v", n, err)
	}
	x, err := env.Assessments.CreateInspection(ctx, tn, project.InspectionInput{Name: "抽查", Framework: "mlps2-l2", Sample: 1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := env.Assessments.Inspection(ctx, tn, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Assessments.RecordInspectionResult(ctx, tn, x.ID, 0, project.InspectionResult{Item: "L2-CES1-01", Object: v.Doc.Objects[0].Asset, Result: "partial"}); err != nil {
		t.Fatal(err)
	}

	reg, err := env.Tenants.CreateUser(ctx, tenant.UserInput{Username: "regulator", Password: fixture.Password})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Tenants.SetMembership(ctx, reg.ID, tn, "regulator"); err != nil {
		t.Fatal(err)
	}
	rctx := env.As(t.Context(), reg)
	sum, err := env.Assessments.Supervision(rctx, []store.Tenant{env.TenantA, env.TenantB})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum) != 1 || sum[0].Tenant.ID != tn {
		t.Fatalf("summary covers %d tenants", len(sum))
	}
	st := sum[0]
	if len(st.Projects) != 1 || st.Projects[0].Assessed != 3 || st.Projects[0].Gaps != 2 || st.Gaps != 2 {
		t.Fatalf("projects %+v", st.Projects)
	}
	// The oracle: the documented formula over the framework's weights,
	// 符合 1, 部分符合 0.5, 不符合 0, 不适用 left out; 优 ≥ 90, 良 ≥ 80, 中 ≥ 70.
	fw, err := env.Assessments.Framework(p)
	if err != nil {
		t.Fatal(err)
	}
	w := func(id string) float64 { return fw.Node(id).EffectiveWeight() }
	score := 100 * (w("L3-CES1-01") + 0.5*w("L3-CES1-02")) / (w("L3-CES1-01") + w("L3-CES1-02") + w("L3-CES1-03"))
	want := compliance.Poor
	switch {
	case score >= 90:
		want = compliance.Excellent
	case score >= 80:
		want = compliance.Good
	case score >= 70:
		want = compliance.Medium
	}
	if ps := st.Projects[0]; ps.Conclusion != want || st.Worst() != want || math.Abs(ps.Overall-score) > 0.005 {
		t.Errorf("score %.2f conclusion %s (worst %s), want %.2f %s", ps.Overall, ps.Conclusion, st.Worst(), score, want)
	}
	if st.Remediation.Total != 2 || st.Remediation.Open != 2 || st.Remediation.Done() != 0 {
		t.Errorf("remediation %+v", st.Remediation)
	}
	last := st.LastInspection()
	if last == nil || last.Meta.ID != x.ID || !last.Sampled || last.Objects != 1 || last.Summary.Checked != 1 || last.Summary.Compliance != 50 || st.SpotChecks != 1 {
		t.Errorf("last inspection %+v, spot checks %d", last, st.SpotChecks)
	}
}

// TestObjectsBoundToAssets: a result recorded with the asset picker, or
// with the name or address of exactly one asset, is stored under the
// asset's ID and counts for it in the per-object coverage; free text for
// something that is not an asset stays as typed; another tenant's asset
// is refused.
func TestObjectsBoundToAssets(t *testing.T) {
	t.Parallel()
	env := fixture.New(t)
	ctx := env.AdminCtx(t.Context())
	tn := env.TenantA.ID
	db, err := env.Assets.Create(ctx, tn, asset.Input{Kind: "host", Name: "db-07", Address: "10.9.0.7"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Assessments.Create(ctx, tn, project.ProjectInput{Name: "绑定", System: "OA", Level: 3})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   project.ItemInput
		want string
	}{
		{project.ItemInput{Item: "L3-CES1-01", Asset: db.ID, Object: "ignored", Result: "conform", Evidence: "截图"}, db.ID},
		{project.ItemInput{Item: "L3-CES1-02", Object: "db-07", Result: "partial"}, db.ID},
		{project.ItemInput{Item: "L3-CES1-03", Object: "10.9.0.7", Result: "nonconform", Evidence: "配置"}, db.ID},
		{project.ItemInput{Item: "L3-PSS1-01", Object: "安全管理制度汇编", Result: "conform"}, "安全管理制度汇编"},
	}
	for _, c := range cases {
		it, err := env.Assessments.SetItem(ctx, tn, p.ID, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in.Item, err)
		}
		if it.Object != c.want {
			t.Errorf("%s: object %q, want %q", c.in.Item, it.Object, c.want)
		}
	}
	if _, err := env.Assessments.SetItem(ctx, tn, p.ID, project.ItemInput{Item: "L3-CES1-04", Asset: env.AssetB.ID, Result: "conform"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("another tenant's asset: %v", err)
	}
	a, err := env.Assessments.Assess(ctx, tn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	cov, err := env.Assessments.CoverageByObject(ctx, a, []store.Asset{db})
	if err != nil {
		t.Fatal(err)
	}
	// Three results on db-07, two with evidence text.
	if len(cov) != 1 || cov[0].Results != 3 || cov[0].Counted != 3 || cov[0].WithEvidence != 2 {
		t.Fatalf("coverage %+v", cov)
	}
	names, err := env.Assessments.ObjectNames(ctx, tn)
	if err != nil || names[db.ID] != "db-07" || project.IsAssetObject(names, "安全管理制度汇编") {
		t.Fatalf("object names: %v %v", names, err)
	}
}
