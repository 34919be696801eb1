package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testCompliance checks assessment projects and their item results: unique
// names per tenant, optimistic updates, item upserts keyed by item and
// object, and the tenant scope.
func testCompliance(t *testing.T, s store.Store) {
	ctx := t.Context()
	cs := s.Compliance()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	p := store.AssessmentProject{TenantID: a.ID, Name: "2026 等保测评", System: "网上营业厅", Level: 3, Framework: "mlps2-l3",
		Phase: "preparation", CreatedBy: "u1"}
	ok(t, cs.CreateProject(ctx, &p))
	if p.ID == "" || p.Version != 1 {
		t.Fatalf("created %+v", p)
	}
	stamped(t, "created", p.CreatedAt)
	got, err := cs.GetProject(ctx, a.ID, p.ID)
	ok(t, err)
	same(t, "project", p, got)

	dup := store.AssessmentProject{TenantID: a.ID, Name: p.Name, System: "x", Level: 2, Framework: "mlps2-l2", Phase: "preparation"}
	isErr(t, cs.CreateProject(ctx, &dup), store.ErrConflict)
	other := store.AssessmentProject{TenantID: b.ID, Name: p.Name, System: "x", Level: 2, Framework: "mlps2-l2", Phase: "preparation"}
	ok(t, cs.CreateProject(ctx, &other)) // names are unique per tenant only
	noTenant := store.AssessmentProject{TenantID: "missing", Name: "n", System: "x", Level: 2, Framework: "mlps2-l2", Phase: "plan"}
	isErr(t, cs.CreateProject(ctx, &noTenant), store.ErrNotFound)

	_, err = cs.GetProject(ctx, b.ID, p.ID)
	isErr(t, err, store.ErrNotFound)

	// Optimistic update: a stale copy is refused.
	stale := got
	got.Phase, got.Agency = "plan", "某测评机构"
	ok(t, cs.UpdateProject(ctx, &got))
	if got.Version != 2 {
		t.Fatalf("version = %d, want 2", got.Version)
	}
	stale.Phase = "onsite"
	isErr(t, cs.UpdateProject(ctx, &stale), store.ErrConflict)
	foreign := got
	foreign.TenantID = b.ID
	isErr(t, cs.UpdateProject(ctx, &foreign), store.ErrNotFound)
	reread, err := cs.GetProject(ctx, a.ID, p.ID)
	ok(t, err)
	same(t, "updated project", got, reread)

	// Items: insert, then replace one by (item, object).
	items := []store.AssessmentItem{
		{Item: "L3-CES1-01", Object: "db-01", Result: store.ItemConform, Evidence: "口令策略截图", Links: []string{"/t/alpha/reports/1"},
			Assessor: "u1"},
		{Item: "L3-CES1-01", Object: "web-01", Result: store.ItemNonConform, HighRisk: true, Note: "弱口令", Remediation: "启用复杂度"},
		{Item: "L3-PES1-01", Result: store.ItemNA},
	}
	ok(t, cs.PutItems(ctx, a.ID, p.ID, items))
	stamped(t, "item updated", items[0].UpdatedAt)
	items[1].Result, items[1].Resolved = store.ItemPartial, true
	items[1].Compensation, items[1].Adjustment = "堡垒机统一认证", 0.25
	ok(t, cs.PutItems(ctx, a.ID, p.ID, items[1:2]))
	list, err := cs.Items(ctx, a.ID, p.ID, 100)
	ok(t, err)
	if len(list) != 3 {
		t.Fatalf("items = %d, want 3", len(list))
	}
	want := []store.AssessmentItem{items[0], items[1], items[2]}
	for i := range want {
		want[i].UpdatedAt = list[i].UpdatedAt
	}
	same(t, "items by item and object", want, list)
	if n, err := cs.CountItems(ctx, a.ID, p.ID); err != nil || n != 3 {
		t.Fatalf("count = %d, %v; want 3", n, err)
	}
	if n, err := cs.CountItems(ctx, b.ID, p.ID); err != nil || n != 0 {
		t.Fatalf("count through tenant B = %d, %v; want 0", n, err)
	}
	list, err = cs.Items(ctx, a.ID, p.ID, 1)
	ok(t, err)
	if len(list) != 1 {
		t.Fatalf("limit 1 gave %d items", len(list))
	}
	_, err = cs.Items(ctx, a.ID, p.ID, 0)
	isErr(t, err, store.ErrInvalid)

	// The other tenant neither reads nor writes them.
	list, err = cs.Items(ctx, b.ID, p.ID, 100)
	ok(t, err)
	if len(list) != 0 {
		t.Fatalf("tenant B sees %d items of A", len(list))
	}
	isErr(t, cs.PutItems(ctx, b.ID, p.ID, items[:1]), store.ErrNotFound)
	isErr(t, cs.DeleteItem(ctx, b.ID, p.ID, "L3-PES1-01", ""), store.ErrNotFound)

	ok(t, cs.DeleteItem(ctx, a.ID, p.ID, "L3-PES1-01", ""))
	isErr(t, cs.DeleteItem(ctx, a.ID, p.ID, "L3-PES1-01", ""), store.ErrNotFound)

	ps, err := cs.ListProjects(ctx, a.ID, store.Page{})
	ok(t, err)
	if len(ps) != 1 || ps[0].ID != p.ID {
		t.Fatalf("projects of A = %+v", ps)
	}

	// Deleting the tenant deletes its projects and items.
	ok(t, s.Tenants().Delete(ctx, a.ID))
	_, err = cs.GetProject(ctx, a.ID, p.ID)
	isErr(t, err, store.ErrNotFound)
	list, err = cs.Items(ctx, a.ID, p.ID, 100)
	ok(t, err)
	if len(list) != 0 {
		t.Fatalf("%d items survive their tenant", len(list))
	}
}
