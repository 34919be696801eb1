package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

func testDiscoveryRuns(t *testing.T, s store.Store) {
	ctx := t.Context()
	rs := s.DiscoveryRuns()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	run := store.DiscoveryRun{TenantID: a.ID, Targets: "192.0.2.0/28", Ports: "top:100", Status: "pending", CreatedBy: "u",
		Options: `{"domains":["example.com"]}`}
	ok(t, rs.Create(ctx, &run))
	stamped(t, "CreatedAt", run.CreatedAt)
	other := store.DiscoveryRun{TenantID: b.ID, Targets: "x", Ports: "80", Status: "pending"}
	ok(t, rs.Create(ctx, &other))

	ok(t, rs.Start(ctx, a.ID, run.ID))
	isErr(t, rs.Start(ctx, a.ID, run.ID), store.ErrConflict) // already running
	isErr(t, rs.Start(ctx, b.ID, run.ID), store.ErrNotFound)
	ok(t, rs.Finish(ctx, a.ID, run.ID, "done", "", []byte(`{"open":3}`), at(5)))
	isErr(t, rs.Finish(ctx, b.ID, run.ID, "done", "", nil, at(5)), store.ErrNotFound)
	got, err := rs.Get(ctx, a.ID, run.ID)
	ok(t, err)
	if got.Status != "done" || string(got.Result) != `{"open":3}` || !got.FinishedAt.Equal(micro(at(5))) {
		t.Fatalf("finished run %+v", got)
	}
	list, err := rs.List(ctx, a.ID, store.Page{})
	ok(t, err)
	if got.Options != run.Options {
		t.Fatalf("options %q, want %q", got.Options, run.Options)
	}
	if len(list) != 1 || list[0].Result != nil || list[0].ID != run.ID || list[0].Options != run.Options {
		t.Fatalf("list %+v", list)
	}
	_, err = rs.Get(ctx, b.ID, run.ID)
	isErr(t, err, store.ErrNotFound)
}
