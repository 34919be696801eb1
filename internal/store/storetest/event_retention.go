package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testTenantEventRetention: a tenant's own retention is kept, changed and
// cleared; dropping a tenant's old events removes exactly its events older
// than the bound, in day partitions and outside them, and nothing of
// another tenant.
func testTenantEventRetention(t *testing.T, s store.Store) {
	r, isR := s.(store.TenantEventRetention)
	if !isR {
		t.Skip("store keeps no tenant event retention")
	}
	ctx := t.Context()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	isErr(t, r.SetTenantEventRetention(ctx, "no-such-tenant", 48*time.Hour), store.ErrNotFound)
	isErr(t, r.SetTenantEventRetention(ctx, a.ID, 30*time.Minute), store.ErrInvalid)
	isErr(t, r.SetTenantEventRetention(ctx, a.ID, -time.Hour), store.ErrInvalid)
	ok(t, r.SetTenantEventRetention(ctx, a.ID, 10*24*time.Hour))
	ok(t, r.SetTenantEventRetention(ctx, a.ID, 5*24*time.Hour))
	ok(t, r.SetTenantEventRetention(ctx, b.ID, 7*24*time.Hour))
	ok(t, r.SetTenantEventRetention(ctx, b.ID, 0))
	got, err := r.TenantEventRetentions(ctx)
	ok(t, err)
	same(t, "retentions", map[string]time.Duration{a.ID: 5 * 24 * time.Hour}, got)

	// Ten days of events, three a day, for both tenants; on PostgreSQL the
	// last six days have partitions and the older ones are in the default
	// partition.
	now := time.Date(2030, 5, 20, 12, 0, 0, 0, time.UTC)
	if er, isER := s.(store.EventRetention); isER {
		_, err := er.PrepareEventDays(ctx, now.AddDate(0, 0, -6), now)
		ok(t, err)
	}
	var evs []store.Event
	for _, tn := range []store.Tenant{a, b} {
		for k := range 10 {
			for j := range 3 {
				ts := now.Add(-time.Duration(k) * 24 * time.Hour).Add(time.Duration(j) * time.Minute)
				evs = append(evs, store.Event{ID: fmt.Sprintf("%s-%d-%d", tn.Slug, k, j), TenantID: tn.ID, Time: ts, Received: ts, Format: "json"})
			}
		}
	}
	_, err = s.Events().Append(ctx, evs)
	ok(t, err)
	before := now.Add(-5 * 24 * time.Hour)
	wantA, wantGone := 0, int64(0)
	for _, e := range evs {
		if e.TenantID == a.ID {
			if e.Time.Before(before) {
				wantGone++
			} else {
				wantA++
			}
		}
	}
	n, err := r.DropTenantEventsBefore(ctx, a.ID, before)
	ok(t, err)
	same(t, "deleted", wantGone, n)
	count := func(tenantID string, q store.EventQuery) int {
		c, err := s.Events().Count(ctx, tenantID, q)
		ok(t, err)
		return c
	}
	same(t, "alpha kept", wantA, count(a.ID, store.EventQuery{}))
	same(t, "alpha older than the bound", 0, count(a.ID, store.EventQuery{Until: before.Add(-time.Microsecond)}))
	same(t, "beta untouched", 30, count(b.ID, store.EventQuery{}))
	// Nothing left to drop: a second run deletes nothing.
	n, err = r.DropTenantEventsBefore(ctx, a.ID, before)
	ok(t, err)
	same(t, "deleted again", int64(0), n)
}
