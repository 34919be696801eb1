package storetest

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testComplianceRegister checks risk assessments (unique names, optimistic
// updates, the doc kept byte for byte), remediation items (one per source,
// filters, optimistic updates) with their re-verifications, the
// append-only communication log, project assets and evidence counts, all
// scoped by tenant.
func testComplianceRegister(t *testing.T, s store.Store) {
	ctx := t.Context()
	cs := s.Compliance()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	// Risk assessments.
	doc := []byte(`{"name":"2026 风险评估","assets":[{"id":"A1","name":"网上营业厅","tier":"business","importance":4}]}`)
	ra := store.RiskAssessment{TenantID: a.ID, Name: "2026 风险评估", Method: "formula", Doc: doc, CreatedBy: "u1"}
	ok(t, cs.CreateRiskAssessment(ctx, &ra))
	if ra.ID == "" || ra.Version != 1 {
		t.Fatalf("created %+v", ra)
	}
	stamped(t, "risk created", ra.CreatedAt)
	got, err := cs.GetRiskAssessment(ctx, a.ID, ra.ID)
	ok(t, err)
	same(t, "risk assessment", ra, got)
	dup := store.RiskAssessment{TenantID: a.ID, Name: ra.Name, Method: "formula", Doc: []byte("{}")}
	isErr(t, cs.CreateRiskAssessment(ctx, &dup), store.ErrConflict)
	other := store.RiskAssessment{TenantID: b.ID, Name: ra.Name, Method: "matrix", Doc: []byte("{}")}
	ok(t, cs.CreateRiskAssessment(ctx, &other))
	_, err = cs.GetRiskAssessment(ctx, b.ID, ra.ID)
	isErr(t, err, store.ErrNotFound)

	stale := got
	got.Doc, got.Method = []byte(`{"name":"changed"}`), "matrix"
	ok(t, cs.UpdateRiskAssessment(ctx, &got))
	if got.Version != 2 {
		t.Fatalf("version = %d, want 2", got.Version)
	}
	isErr(t, cs.UpdateRiskAssessment(ctx, &stale), store.ErrConflict)
	foreign := got
	foreign.TenantID = b.ID
	isErr(t, cs.UpdateRiskAssessment(ctx, &foreign), store.ErrNotFound)
	reread, err := cs.GetRiskAssessment(ctx, a.ID, ra.ID)
	ok(t, err)
	same(t, "updated risk assessment", got, reread)
	list, err := cs.ListRiskAssessments(ctx, a.ID, store.Page{})
	ok(t, err)
	if len(list) != 1 || list[0].ID != ra.ID || len(list[0].Doc) != 0 || list[0].Version != 2 {
		t.Fatalf("risk assessments of A = %+v", list)
	}

	// Remediation items.
	due := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	it := store.RemediationItem{TenantID: a.ID, SourceKind: store.RemediationFromAssessment, SourceID: "p1", SourceRef: "L3-CES1-01@db-01",
		Title: "身份鉴别 不符合", Detail: "弱口令", Level: "nonconform", State: store.RemediationOpen, Owner: "张三", Due: due, CreatedBy: "u1"}
	ok(t, cs.CreateRemediation(ctx, &it))
	stamped(t, "remediation created", it.CreatedAt)
	again := it
	again.ID = ""
	isErr(t, cs.CreateRemediation(ctx, &again), store.ErrConflict)
	again.TenantID = b.ID
	ok(t, cs.CreateRemediation(ctx, &again)) // unique per tenant only
	risk := store.RemediationItem{TenantID: a.ID, SourceKind: store.RemediationFromRisk, SourceID: ra.ID, SourceRef: "S1", Title: "高风险",
		Level: "高", State: store.RemediationOpen}
	ok(t, cs.CreateRemediation(ctx, &risk))
	gotIt, err := cs.GetRemediation(ctx, a.ID, it.ID)
	ok(t, err)
	same(t, "remediation item", it, gotIt)
	_, err = cs.GetRemediation(ctx, b.ID, it.ID)
	isErr(t, err, store.ErrNotFound)

	staleIt := gotIt
	gotIt.State, gotIt.WorkOrderID, gotIt.Due = store.RemediationProgress, "wo-1", time.Time{}
	ok(t, cs.UpdateRemediation(ctx, &gotIt))
	isErr(t, cs.UpdateRemediation(ctx, &staleIt), store.ErrConflict)
	rr, err := cs.GetRemediation(ctx, a.ID, it.ID)
	ok(t, err)
	same(t, "updated remediation item", gotIt, rr)
	foreignIt := rr
	foreignIt.TenantID = b.ID
	isErr(t, cs.UpdateRemediation(ctx, &foreignIt), store.ErrNotFound)

	for _, c := range []struct {
		f    store.RemediationFilter
		want []string
	}{
		{store.RemediationFilter{}, []string{it.ID, risk.ID}},
		{store.RemediationFilter{SourceKind: store.RemediationFromRisk}, []string{risk.ID}},
		{store.RemediationFilter{SourceID: "p1"}, []string{it.ID}},
		{store.RemediationFilter{State: store.RemediationOpen}, []string{risk.ID}},
		{store.RemediationFilter{State: store.RemediationVerified}, nil},
	} {
		its, err := cs.ListRemediation(ctx, a.ID, c.f)
		ok(t, err)
		var ids []string
		for _, x := range its {
			ids = append(ids, x.ID)
		}
		// Most recently updated first: the update made it newer than risk.
		same(t, "remediation list", c.want, ids)
	}

	// Re-verifications.
	v1 := store.RemediationVerification{TenantID: a.ID, ItemID: it.ID, Before: "nonconform", After: "partial", Note: "部分整改", VerifiedBy: "u2"}
	ok(t, cs.AddVerification(ctx, &v1))
	stamped(t, "verified", v1.VerifiedAt)
	v2 := store.RemediationVerification{TenantID: a.ID, ItemID: it.ID, Before: "partial", After: "conform", Passed: true, VerifiedBy: "u2"}
	ok(t, cs.AddVerification(ctx, &v2))
	isErr(t, cs.AddVerification(ctx, &store.RemediationVerification{TenantID: b.ID, ItemID: it.ID, Before: "x", After: "y"}), store.ErrNotFound)
	vs, err := cs.Verifications(ctx, a.ID, store.VerificationFilter{ItemID: it.ID, Limit: 10})
	ok(t, err)
	same(t, "verifications", []store.RemediationVerification{v1, v2}, vs)
	vs, err = cs.Verifications(ctx, a.ID, store.VerificationFilter{From: v2.VerifiedAt.Add(time.Hour), Limit: 10})
	ok(t, err)
	if len(vs) != 0 {
		t.Fatalf("verifications after the last = %d", len(vs))
	}
	vs, err = cs.Verifications(ctx, a.ID, store.VerificationFilter{From: v1.VerifiedAt, To: v2.VerifiedAt.Add(time.Microsecond), Limit: 1})
	ok(t, err)
	if len(vs) != 1 || vs[0].ID != v1.ID {
		t.Fatalf("first verification in the period = %+v", vs)
	}
	vs, err = cs.Verifications(ctx, b.ID, store.VerificationFilter{ItemID: it.ID, Limit: 10})
	ok(t, err)
	if len(vs) != 0 {
		t.Fatalf("tenant B sees %d verifications of A", len(vs))
	}
	_, err = cs.Verifications(ctx, a.ID, store.VerificationFilter{})
	isErr(t, err, store.ErrInvalid)

	// Communication log and project assets need a project.
	p := store.AssessmentProject{TenantID: a.ID, Name: "等保", System: "OA", Level: 3, Framework: "mlps2-l3", Phase: "preparation"}
	ok(t, cs.CreateProject(ctx, &p))
	met := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	c2 := store.ProjectCommunication{TenantID: a.ID, ProjectID: p.ID, Kind: store.CommunicationDecision, OccurredAt: met.Add(time.Hour),
		Participants: "李四", Text: "范围确认", CreatedBy: "u1"}
	c1 := store.ProjectCommunication{TenantID: a.ID, ProjectID: p.ID, Kind: store.CommunicationMeeting, OccurredAt: met,
		Participants: "张三, 李四", Text: "启动会", CreatedBy: "u1"}
	ok(t, cs.AddCommunication(ctx, &c2))
	ok(t, cs.AddCommunication(ctx, &c1))
	stamped(t, "communication created", c1.CreatedAt)
	isErr(t, cs.AddCommunication(ctx, &store.ProjectCommunication{TenantID: b.ID, ProjectID: p.ID, Kind: "note", Text: "x"}), store.ErrNotFound)
	log, err := cs.Communications(ctx, a.ID, p.ID, 10)
	ok(t, err)
	same(t, "communication log by time", []store.ProjectCommunication{c1, c2}, log)
	log, err = cs.Communications(ctx, b.ID, p.ID, 10)
	ok(t, err)
	if len(log) != 0 {
		t.Fatalf("tenant B reads %d entries of A's log", len(log))
	}

	x1, x2, xb := mkAsset(t, s, a.ID, "db-01"), mkAsset(t, s, a.ID, "web-01"), mkAsset(t, s, b.ID, "b-01")
	ok(t, cs.SetProjectAssets(ctx, a.ID, p.ID, []string{x2.ID, x1.ID, x2.ID}))
	ids, err := cs.ProjectAssets(ctx, a.ID, p.ID)
	ok(t, err)
	want := []string{x1.ID, x2.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	same(t, "project assets", want, ids)
	isErr(t, cs.SetProjectAssets(ctx, a.ID, p.ID, []string{x1.ID, xb.ID}), store.ErrNotFound)
	ids, err = cs.ProjectAssets(ctx, a.ID, p.ID)
	ok(t, err)
	same(t, "project assets after a refused change", want, ids)
	isErr(t, cs.SetProjectAssets(ctx, b.ID, p.ID, nil), store.ErrNotFound)
	ok(t, s.Assets().Delete(ctx, a.ID, x1.ID))
	ids, err = cs.ProjectAssets(ctx, a.ID, p.ID)
	ok(t, err)
	same(t, "project assets after an asset is deleted", []string{x2.ID}, ids)

	// Evidence counts follow the attachments of the project's items.
	for _, owner := range []string{p.ID + "/L3-CES1-01", p.ID + "/L3-CES1-01", p.ID + "/L3-CES1-02", "other/L3-CES1-01"} {
		att := store.Attachment{TenantID: a.ID, OwnerKind: "assessment_item", OwnerID: owner, Name: "e.txt", SHA256: "ab", Size: 1}
		ok(t, s.Attachments().Add(ctx, &att, []byte("x")))
	}
	work := store.Attachment{TenantID: a.ID, OwnerKind: "work_order", OwnerID: p.ID + "/L3-CES1-02", Name: "w.txt", SHA256: "ab", Size: 1}
	ok(t, s.Attachments().Add(ctx, &work, []byte("x")))
	counts, err := cs.EvidenceCounts(ctx, a.ID, p.ID)
	ok(t, err)
	same(t, "evidence counts", map[string]int{"L3-CES1-01": 2, "L3-CES1-02": 1}, counts)
	counts, err = cs.EvidenceCounts(ctx, b.ID, p.ID)
	ok(t, err)
	if len(counts) != 0 {
		t.Fatalf("tenant B counts A's evidence: %v", counts)
	}

	// Deleting the tenant deletes everything of it.
	ok(t, s.Tenants().Delete(ctx, a.ID))
	_, err = cs.GetRiskAssessment(ctx, a.ID, ra.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = cs.GetRemediation(ctx, a.ID, it.ID)
	isErr(t, err, store.ErrNotFound)
	vs, err = cs.Verifications(ctx, a.ID, store.VerificationFilter{ItemID: it.ID, Limit: 10})
	ok(t, err)
	log, err = cs.Communications(ctx, a.ID, p.ID, 10)
	ok(t, err)
	if len(vs)+len(log) != 0 {
		t.Fatal("verifications or communications survive their tenant")
	}
	if _, err := cs.GetRiskAssessment(ctx, b.ID, other.ID); err != nil {
		t.Fatalf("tenant B's assessment went with A: %v", err)
	}
}
