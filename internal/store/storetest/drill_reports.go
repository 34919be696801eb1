package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testDrillReports checks defender reports and gap remediation links: a
// report moves the version on (stale writes nothing), ids are unique per
// drill, the decision is written back, reports list by time then id, the
// tenant scope holds, a gap's case links to one work order only (of
// concurrent links exactly one wins), and delete takes both along.
func testDrillReports(t *testing.T, s store.Store) {
	ctx := t.Context()
	ds := s.Drills()
	a, b := mkTenant(t, s, "drill-rep-a"), mkTenant(t, s, "drill-rep-b")
	d := store.Drill{TenantID: a.ID, Name: "report drill", State: "running", Start: at(0), End: at(600)}
	ok(t, ds.Create(ctx, &d))
	v := d.Version

	r2 := store.DrillReport{ID: "R-2", At: at(20), Team: "blue 蓝队", Kind: "tracing", By: "bob",
		Body: []byte(`{"id":"R-2","title":"<b>traced</b>"}`)}
	v, err := ds.AddReport(ctx, a.ID, d.ID, v, &r2)
	ok(t, err)
	if v != d.Version+1 {
		t.Fatalf("version after a report = %d, want %d", v, d.Version+1)
	}
	_, err = ds.AddReport(ctx, a.ID, d.ID, v-1, &store.DrillReport{ID: "R-9", At: at(1), Team: "x", Kind: "analysis", Body: []byte(`{}`)})
	isErr(t, err, store.ErrConflict) // stale: nothing written
	dup := r2
	_, err = ds.AddReport(ctx, a.ID, d.ID, v, &dup)
	isErr(t, err, store.ErrConflict) // same id twice
	r1 := store.DrillReport{ID: "R-1", At: at(10), Team: "blue 蓝队", Kind: "analysis", By: "carol", Body: []byte(`{"id":"R-1"}`)}
	v, err = ds.AddReport(ctx, a.ID, d.ID, v, &r1)
	ok(t, err)
	_, err = ds.AddReport(ctx, b.ID, d.ID, v, &store.DrillReport{ID: "R-3", At: at(1), Team: "x", Kind: "analysis"})
	isErr(t, err, store.ErrNotFound) // another tenant's drill

	// The director accepts R-2.
	r2.Accepted, r2.Body = true, []byte(`{"id":"R-2","title":"<b>traced</b>","accepted":true}`)
	v, err = ds.UpdateReport(ctx, a.ID, d.ID, v, &r2)
	ok(t, err)
	_, err = ds.UpdateReport(ctx, a.ID, d.ID, v, &store.DrillReport{ID: "R-none", Accepted: true})
	isErr(t, err, store.ErrNotFound)
	_, err = ds.UpdateReport(ctx, a.ID, d.ID, v-1, &r1)
	isErr(t, err, store.ErrConflict)

	// Remediation links: one per case, not moving the version.
	rem := store.DrillRemediation{CaseID: "case-T1110", CreatedBy: "dave"}
	ok(t, ds.AddRemediation(ctx, a.ID, d.ID, &rem))
	stamped(t, "remediation created", rem.CreatedAt)
	isErr(t, ds.AddRemediation(ctx, a.ID, d.ID, &store.DrillRemediation{CaseID: "case-T1110", CreatedBy: "eve"}), store.ErrConflict)
	isErr(t, ds.AddRemediation(ctx, b.ID, d.ID, &store.DrillRemediation{CaseID: "case-x"}), store.ErrNotFound)
	ok(t, ds.SetRemediationOrder(ctx, a.ID, d.ID, "case-T1110", "wo-1"))
	rem.WorkOrderID = "wo-1"
	isErr(t, ds.SetRemediationOrder(ctx, b.ID, d.ID, "case-T1110", "wo-evil"), store.ErrNotFound)
	isErr(t, ds.SetRemediationOrder(ctx, a.ID, d.ID, "case-none", "wo-2"), store.ErrNotFound)
	gone := store.DrillRemediation{CaseID: "case-T1003"}
	ok(t, ds.AddRemediation(ctx, a.ID, d.ID, &gone))
	isErr(t, ds.DeleteRemediation(ctx, b.ID, d.ID, "case-T1003"), store.ErrNotFound)
	ok(t, ds.DeleteRemediation(ctx, a.ID, d.ID, "case-T1003"))

	const writers = 4
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			errs[i] = ds.AddRemediation(ctx, a.ID, d.ID, &store.DrillRemediation{CaseID: "case-T1482", CreatedBy: "x"})
		})
	}
	wg.Wait()
	wins := 0
	for _, e := range errs {
		switch {
		case e == nil:
			wins++
		case !errors.Is(e, store.ErrConflict):
			t.Fatalf("concurrent link: %v", e)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent links of one case won, want 1 (%v)", wins, errs)
	}

	cur, err := ds.Get(ctx, a.ID, d.ID)
	ok(t, err)
	if cur.Version != v {
		t.Fatalf("version %d, want %d (links do not move it)", cur.Version, v)
	}
	log, err := ds.Log(ctx, a.ID, d.ID)
	ok(t, err)
	if len(log.Remediations) != 2 {
		t.Fatalf("remediations %+v", log.Remediations)
	}
	stamped(t, "listed remediation", log.Remediations[1].CreatedAt)
	third := log.Remediations[1]
	third.CreatedAt = rem.CreatedAt
	same(t, "reports and links", store.DrillLog{
		Reports:      []store.DrillReport{r1, r2},
		Remediations: []store.DrillRemediation{rem, {CaseID: "case-T1482", CreatedBy: "x", CreatedAt: rem.CreatedAt}},
	}, store.DrillLog{Reports: log.Reports, Remediations: []store.DrillRemediation{log.Remediations[0], third}})

	ok(t, ds.Delete(ctx, a.ID, d.ID))
	// A new drill of the same name starts with no reports or links.
	d2 := store.Drill{TenantID: a.ID, Name: "report drill", State: "planned", Start: at(0), End: at(600)}
	ok(t, ds.Create(ctx, &d2))
	log, err = ds.Log(ctx, a.ID, d2.ID)
	ok(t, err)
	if len(log.Reports)+len(log.Remediations) != 0 {
		t.Fatalf("new drill has %+v", log)
	}
}
