package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

func testTrafficSettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	ts := s.Traffic()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	_, err := ts.Settings(ctx, a.ID)
	isErr(t, err, store.ErrNotFound)
	v := store.TrafficSettings{TenantID: a.ID, Policy: "rules: []\n", Safelist: "example.com\n", DefaultSafelist: false, UpdatedBy: "u"}
	ok(t, ts.PutSettings(ctx, &v, 0))
	if v.Version != 1 {
		t.Fatalf("version after the first save = %d, want 1", v.Version)
	}
	stamped(t, "UpdatedAt", v.UpdatedAt)
	got, err := ts.Settings(ctx, a.ID)
	ok(t, err)
	same(t, "Settings", v, got)
	// A second first save, or a save from a stale version, conflicts.
	stale := store.TrafficSettings{TenantID: a.ID, Policy: "x", DefaultSafelist: true}
	isErr(t, ts.PutSettings(ctx, &stale, 0), store.ErrConflict)
	v.Safelist, v.DefaultSafelist = "example.org\n", true
	ok(t, ts.PutSettings(ctx, &v, 1))
	isErr(t, ts.PutSettings(ctx, &stale, 1), store.ErrConflict)
	got, err = ts.Settings(ctx, a.ID)
	ok(t, err)
	if got.Version != 2 || got.Safelist != "example.org\n" || !got.DefaultSafelist || got.Policy != "rules: []\n" {
		t.Fatalf("after the second save: %+v", got)
	}
	// Another tenant's settings are its own.
	_, err = ts.Settings(ctx, b.ID)
	isErr(t, err, store.ErrNotFound)

	// The exporter map: upsert by prefix, listed by prefix, deleted once.
	ok(t, ts.PutExporter(ctx, &store.TrafficExporter{Prefix: "127.0.0.3/32", TenantID: b.ID, Note: "edge", CreatedBy: "root"}))
	e := store.TrafficExporter{Prefix: "127.0.0.2/32", TenantID: b.ID}
	ok(t, ts.PutExporter(ctx, &e))
	stamped(t, "CreatedAt", e.CreatedAt)
	ok(t, ts.PutExporter(ctx, &store.TrafficExporter{Prefix: "127.0.0.2/32", TenantID: a.ID, Note: "core"}))
	es, err := ts.Exporters(ctx)
	ok(t, err)
	if len(es) != 2 || es[0].Prefix != "127.0.0.2/32" || es[0].TenantID != a.ID || es[0].Note != "core" ||
		es[1].Prefix != "127.0.0.3/32" || es[1].TenantID != b.ID {
		t.Fatalf("Exporters = %+v", es)
	}
	isErr(t, ts.PutExporter(ctx, &store.TrafficExporter{Prefix: "10.0.0.0/8", TenantID: "no-such-tenant"}), store.ErrNotFound)
	ok(t, ts.DeleteExporter(ctx, "127.0.0.3/32"))
	isErr(t, ts.DeleteExporter(ctx, "127.0.0.3/32"), store.ErrNotFound)
}
