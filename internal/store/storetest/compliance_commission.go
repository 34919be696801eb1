package storetest

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testComplianceCommissions checks commissions: scope and members kept,
// lists filtered by scope tenant, grants only inside the period and until
// revoked, optimistic revocation, and a scope tenant that goes takes its
// scope row with it.
func testComplianceCommissions(t *testing.T, s store.Store) {
	ctx := t.Context()
	cs := s.Compliance()
	a, b, c := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta"), mkTenant(t, s, "gamma")
	u1, u2 := mkUser(t, s, "assessor1"), mkUser(t, s, "assessor2")
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	in := store.Commission{Org: "某测评机构", Contact: "李工 010-1234", Purpose: "2026 年度抽查",
		Scope:   []store.CommissionScope{{TenantID: a.ID, Systems: []string{"asset-1", "asset-2"}}, {TenantID: b.ID}},
		Members: []string{u2.ID, u1.ID}, StartsAt: start, EndsAt: end, CreatedBy: "reg"}
	ok(t, cs.CreateCommission(ctx, &in))
	if in.ID == "" || in.Version != 1 {
		t.Fatalf("created %+v", in)
	}
	stamped(t, "commission created", in.CreatedAt)
	got, err := cs.GetCommission(ctx, in.ID)
	ok(t, err)
	want := in
	want.Scope = []store.CommissionScope{{TenantID: a.ID, Systems: []string{"asset-1", "asset-2"}}, {TenantID: b.ID}}
	if a.ID > b.ID {
		want.Scope[0], want.Scope[1] = want.Scope[1], want.Scope[0]
	}
	same(t, "commission", want, got)
	_, err = cs.GetCommission(ctx, "no-such-commission")
	isErr(t, err, store.ErrNotFound)
	bad := store.Commission{Org: "x", Scope: []store.CommissionScope{{TenantID: "no-such-tenant"}}, StartsAt: start, EndsAt: end}
	isErr(t, cs.CreateCommission(ctx, &bad), store.ErrNotFound)

	// Lists: by scope tenant.
	other := store.Commission{Org: "另一机构", Scope: []store.CommissionScope{{TenantID: c.ID}}, Members: []string{u1.ID}, StartsAt: start, EndsAt: end}
	ok(t, cs.CreateCommission(ctx, &other))
	list, err := cs.ListCommissions(ctx, []string{a.ID}, false, store.Page{Limit: 10})
	ok(t, err)
	if len(list) != 1 || list[0].ID != in.ID || len(list[0].Scope) != 2 || len(list[0].Members) != 2 {
		t.Fatalf("list of alpha: %+v", list)
	}
	list, err = cs.ListCommissions(ctx, nil, false, store.Page{Limit: 10})
	ok(t, err)
	if len(list) != 0 {
		t.Fatalf("list of no tenant: %+v", list)
	}
	list, err = cs.ListCommissions(ctx, nil, true, store.Page{Limit: 10})
	ok(t, err)
	if len(list) != 2 {
		t.Fatalf("list of all: %d", len(list))
	}

	// Grants: [start, end) only.
	grants := func(user string, at time.Time) map[string]string {
		t.Helper()
		gs, err := cs.CommissionGrants(ctx, user, at)
		ok(t, err)
		m := map[string]string{}
		for _, g := range gs {
			m[g.TenantID] = g.CommissionID
		}
		return m
	}
	if g := grants(u2.ID, start.Add(-time.Second)); len(g) != 0 {
		t.Fatalf("grants before the start: %v", g)
	}
	if g := grants(u2.ID, start); len(g) != 2 || g[a.ID] != in.ID || g[b.ID] != in.ID {
		t.Fatalf("grants at the start: %v", g)
	}
	if g := grants(u1.ID, end.Add(-time.Microsecond)); len(g) != 3 || g[c.ID] != other.ID {
		t.Fatalf("grants of u1 before the end: %v", g)
	}
	if g := grants(u2.ID, end); len(g) != 0 {
		t.Fatalf("grants at the end: %v", g)
	}

	// Revocation: optimistic, ends the grants.
	stale := got
	got.RevokedAt, got.RevokedBy = start.Add(24*time.Hour), "reg"
	ok(t, cs.RevokeCommission(ctx, &got))
	if got.Version != 2 {
		t.Fatalf("version after revoke: %d", got.Version)
	}
	stale.RevokedAt, stale.RevokedBy = start.Add(48*time.Hour), "reg"
	isErr(t, cs.RevokeCommission(ctx, &stale), store.ErrConflict)
	missing := store.Commission{ID: "no-such-commission", RevokedAt: start, Version: 1}
	isErr(t, cs.RevokeCommission(ctx, &missing), store.ErrNotFound)
	again, err := cs.GetCommission(ctx, in.ID)
	ok(t, err)
	if !again.RevokedAt.Equal(start.Add(24*time.Hour)) || again.RevokedBy != "reg" {
		t.Fatalf("revoked: %+v", again)
	}
	if g := grants(u2.ID, start.Add(time.Hour)); len(g) != 0 {
		t.Fatalf("grants after revocation: %v", g)
	}

	// A deleted scope tenant leaves the commission's other tenants.
	ok(t, s.Tenants().Delete(ctx, c.ID))
	o2, err := cs.GetCommission(ctx, other.ID)
	ok(t, err)
	if len(o2.Scope) != 0 {
		t.Fatalf("scope after the tenant was deleted: %+v", o2.Scope)
	}
}
