package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testComplianceInspections checks compliance inspections: unique names per
// tenant, the doc kept byte for byte, optimistic updates, lists without
// the doc, all scoped by tenant.
func testComplianceInspections(t *testing.T, s store.Store) {
	ctx := t.Context()
	cs := s.Compliance()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	doc := []byte(`{"objects":["x"],"results":[{"item":"L3-CES1-01","object":"x","result":"conform","note":"口令策略"}]}`)
	in := store.Inspection{TenantID: a.ID, Name: "2026 Q1 合规检查", Campaign: "2026-Q1", Framework: "mlps2-l3",
		State: store.InspectionOpen, Doc: doc, CreatedBy: "u1"}
	ok(t, cs.CreateInspection(ctx, &in))
	if in.ID == "" || in.Version != 1 {
		t.Fatalf("created %+v", in)
	}
	stamped(t, "inspection created", in.CreatedAt)
	got, err := cs.GetInspection(ctx, a.ID, in.ID)
	ok(t, err)
	same(t, "inspection", in, got)
	dup := store.Inspection{TenantID: a.ID, Name: in.Name, Framework: "iso27001-2022", State: store.InspectionOpen, Doc: []byte("{}")}
	isErr(t, cs.CreateInspection(ctx, &dup), store.ErrConflict)
	other := store.Inspection{TenantID: b.ID, Name: in.Name, Campaign: "2026-Q1", Framework: "mlps2-l3", State: store.InspectionOpen, Doc: []byte("{}")}
	ok(t, cs.CreateInspection(ctx, &other))
	_, err = cs.GetInspection(ctx, b.ID, in.ID)
	isErr(t, err, store.ErrNotFound)

	stale := got
	got.Doc, got.State, got.Name = []byte(`{"objects":[]}`), store.InspectionClosed, "renamed"
	ok(t, cs.UpdateInspection(ctx, &got))
	if got.Version != 2 {
		t.Fatalf("version = %d, want 2", got.Version)
	}
	isErr(t, cs.UpdateInspection(ctx, &stale), store.ErrConflict)
	foreign := got
	foreign.TenantID = b.ID
	isErr(t, cs.UpdateInspection(ctx, &foreign), store.ErrNotFound)
	reread, err := cs.GetInspection(ctx, a.ID, in.ID)
	ok(t, err)
	same(t, "updated inspection", got, reread)
	if reread.Campaign != "2026-Q1" || reread.Framework != "mlps2-l3" {
		t.Fatalf("campaign or framework changed: %+v", reread)
	}
	list, err := cs.ListInspections(ctx, a.ID, store.Page{})
	ok(t, err)
	if len(list) != 1 || list[0].ID != in.ID || len(list[0].Doc) != 0 || list[0].Version != 2 || list[0].State != store.InspectionClosed {
		t.Fatalf("inspections of A = %+v", list)
	}
	listB, err := cs.ListInspections(ctx, b.ID, store.Page{})
	ok(t, err)
	if len(listB) != 1 || listB[0].ID != other.ID {
		t.Fatalf("inspections of B = %+v", listB)
	}
}
