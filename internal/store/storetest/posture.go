package storetest

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testEventAggregates checks the per-source and per-hour counters Append
// keeps: only newly stored events count, by the time they were received.
func testEventAggregates(t *testing.T, s store.Store) {
	ctx := t.Context()
	es := s.Events()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	ev := func(id, tenant, source, host string, minute int) store.Event {
		return store.Event{ID: id, TenantID: tenant, Time: at(0), Received: at(minute), Source: source, Host: host}
	}
	_, err := es.Append(ctx, []store.Event{ev("e1", a.ID, "syslog", "fw-01", 0), ev("e2", a.ID, "syslog", "fw-01", 60),
		ev("e3", a.ID, "http", "web-01", 61), ev("e4", b.ID, "syslog", "fw-01", 5)})
	ok(t, err)
	// A redelivered event is not counted again; a later one moves last seen.
	_, err = es.Append(ctx, []store.Event{ev("e1", a.ID, "syslog", "fw-01", 0), ev("e5", a.ID, "http", "web-01", 90)})
	ok(t, err)

	srcs, err := es.Sources(ctx, a.ID, store.Page{})
	ok(t, err)
	same(t, "sources, longest silent first", []store.EventSource{
		{TenantID: a.ID, Source: "syslog", Host: "fw-01", FirstSeen: micro(at(0)), LastSeen: micro(at(60)), Events: 2},
		{TenantID: a.ID, Source: "http", Host: "web-01", FirstSeen: micro(at(61)), LastSeen: micro(at(90)), Events: 2},
	}, srcs)

	// at(0) is 23:08 UTC: e1 falls in the first hour, e2, e3 and e5 in the second.
	h, err := es.Hourly(ctx, a.ID, at(0), at(120))
	ok(t, err)
	same(t, "hourly", []int{1, 3, 0}, h)
	h, err = es.Hourly(ctx, b.ID, at(0), at(60))
	ok(t, err)
	same(t, "other tenant", []int{1, 0}, h)
	_, err = es.Hourly(ctx, a.ID, at(0), at(0))
	isErr(t, err, store.ErrInvalid)
	_, err = es.Hourly(ctx, a.ID, at(0), at(0).Add(200*24*time.Hour))
	isErr(t, err, store.ErrInvalid)
}

// testPosture checks daily snapshots: one per day, the last save wins.
func testPosture(t *testing.T, s store.Store) {
	ctx := t.Context()
	ps := s.Posture()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	for _, p := range []store.PostureSnapshot{
		{TenantID: a.ID, Day: "2030-05-02", Score: 70, Breakdown: []byte(`{"vulns":-30}`), TakenAt: at(0)},
		{TenantID: a.ID, Day: "2030-05-01", Score: 90, TakenAt: at(0)},
		{TenantID: a.ID, Day: "2030-05-02", Score: 75, Breakdown: []byte(`{"vulns":-25}`), TakenAt: at(5)},
		{TenantID: b.ID, Day: "2030-05-02", Score: 10, TakenAt: at(0)},
	} {
		ok(t, ps.Save(ctx, &p))
	}
	got, err := ps.History(ctx, a.ID, "2030-05-01")
	ok(t, err)
	same(t, "history", []store.PostureSnapshot{
		{TenantID: a.ID, Day: "2030-05-01", Score: 90, Breakdown: []byte("{}"), TakenAt: micro(at(0))},
		{TenantID: a.ID, Day: "2030-05-02", Score: 75, Breakdown: []byte(`{"vulns":-25}`), TakenAt: micro(at(5))},
	}, got)
	got, err = ps.History(ctx, a.ID, "2030-05-02")
	ok(t, err)
	same(t, "since", 1, len(got))
	isErr(t, ps.Save(ctx, &store.PostureSnapshot{TenantID: a.ID, Day: "May 2"}), store.ErrInvalid)
	isErr(t, ps.Save(ctx, &store.PostureSnapshot{TenantID: "missing", Day: "2030-05-02"}), store.ErrNotFound)
}
