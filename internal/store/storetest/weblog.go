package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

func testWeblog(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := s.Weblog()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	app := mkAsset(t, s, a.ID, "shop")
	r := store.WeblogRun{TenantID: a.ID, AssetID: app.ID, Name: "access.log", Result: []byte(`{"hits":[]}`), Hits: 3, CreatedBy: "u"}
	ok(t, ws.CreateRun(ctx, &r))
	got, err := ws.GetRun(ctx, a.ID, r.ID)
	ok(t, err)
	same(t, "GetRun", r, got)
	_, err = ws.GetRun(ctx, b.ID, r.ID)
	isErr(t, err, store.ErrNotFound)
	list, err := ws.ListRuns(ctx, a.ID, store.Page{})
	ok(t, err)
	if len(list) != 1 || list[0].Result != nil {
		t.Fatalf("ListRuns %+v", list)
	}

	ok(t, ws.Mark(ctx, a.ID, r.ID, []store.WeblogMark{{Hit: 0, Mark: "false-positive", Note: "health check", MarkedBy: "u", MarkedAt: at(1)},
		{Hit: 2, Mark: "true-positive", MarkedBy: "u", MarkedAt: at(1)}}))
	ok(t, ws.Mark(ctx, a.ID, r.ID, []store.WeblogMark{{Hit: 0, Mark: "true-positive", MarkedBy: "v", MarkedAt: at(2)}}))
	isErr(t, ws.Mark(ctx, b.ID, r.ID, []store.WeblogMark{{Hit: 1, Mark: "x"}}), store.ErrNotFound)
	ms, err := ws.Marks(ctx, a.ID, r.ID)
	ok(t, err)
	if len(ms) != 2 || ms[0].Mark != "true-positive" || ms[0].MarkedBy != "v" || ms[1].Hit != 2 {
		t.Fatalf("marks %+v", ms)
	}
	ms, err = ws.Marks(ctx, b.ID, r.ID)
	ok(t, err)
	same(t, "marks of another tenant", 0, len(ms))

	ok(t, ws.SetVerdict(ctx, a.ID, r.ID, "attacked-not-compromised", "payloads answered 404", "u", at(3)))
	isErr(t, ws.SetVerdict(ctx, b.ID, r.ID, "clean", "", "u", at(3)), store.ErrNotFound)
	got, err = ws.GetRun(ctx, a.ID, r.ID)
	ok(t, err)
	if got.Verdict != "attacked-not-compromised" || !got.VerdictAt.Equal(micro(at(3))) {
		t.Fatalf("verdict %+v", got)
	}

	ex := store.WeblogExclusion{TenantID: a.ID, AssetID: app.ID, Rule: "942100", PathPrefix: "/search", Reason: "free text"}
	ok(t, ws.AddExclusion(ctx, &ex))
	exs, err := ws.Exclusions(ctx, a.ID, app.ID)
	ok(t, err)
	if len(exs) != 1 || exs[0].Rule != "942100" {
		t.Fatalf("exclusions %+v", exs)
	}
	exs, err = ws.Exclusions(ctx, b.ID, app.ID)
	ok(t, err)
	same(t, "exclusions of another tenant", 0, len(exs))

	// One holder per system and name until the lease expires; tenants,
	// systems and names apart; a released lease is free at once.
	claim := func(tenant, asset, name string, now, until int) bool {
		t.Helper()
		got, err := ws.Claim(ctx, tenant, asset, name, at(now), at(until))
		ok(t, err)
		return got
	}
	same(t, "first claim", true, claim(a.ID, app.ID, "day", 0, 60))
	same(t, "claim held", false, claim(a.ID, app.ID, "day", 30, 90))
	same(t, "other name", true, claim(a.ID, app.ID, "next day", 30, 90))
	same(t, "other tenant", true, claim(b.ID, app.ID, "day", 30, 90))
	same(t, "claim expired", true, claim(a.ID, app.ID, "day", 60, 120))
	same(t, "claim taken over", false, claim(a.ID, app.ID, "day", 61, 121))
	ok(t, ws.Release(ctx, a.ID, app.ID, "day"))
	same(t, "claim released", true, claim(a.ID, app.ID, "day", 62, 122))
}
