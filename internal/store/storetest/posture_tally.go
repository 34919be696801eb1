package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testAlertTally checks the dashboard's one-query alert tally against the
// per-figure counts of AlertStore.Count, which it replaces, and against
// figures worked out by hand.
func testAlertTally(t *testing.T, s store.Store) {
	ctx := t.Context()
	as := s.Alerts()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	open := []string{"new", "acknowledged"}
	raise := func(tn store.Tenant, rule, level, status string, seen time.Time) {
		t.Helper()
		al := store.Alert{TenantID: tn.ID, GroupKey: rule + "|" + level + "|" + seen.String(), RuleID: rule, RuleTitle: rule,
			Level: level, Status: "new", FirstSeen: seen, LastSeen: seen}
		_, err := as.Raise(ctx, &al, time.Minute, open, 3)
		ok(t, err)
		if status != "new" {
			ok(t, as.SetStatus(ctx, tn.ID, al.ID, status, "", "", seen))
		}
	}
	since := at(0)
	raise(a, "sigma:1", "critical", "new", at(10))
	raise(a, "intel:ip", "critical", "acknowledged", at(-600)) // open, old
	raise(a, "intel:domain", "high", "new", at(5))
	raise(a, "intel:ip", "high", "closed", at(20))       // recent, not open
	raise(a, "intel_x", "medium", "new", at(-5))         // "_" is no wildcard
	raise(a, "sigma:2", "low", "false-positive", at(-1)) // neither
	raise(b, "intel:ip", "critical", "new", at(1))       // another tenant
	q := store.AlertTallyQuery{Open: open, RulePrefix: "intel:", Since: since}
	got, err := s.Posture().AlertTally(ctx, a.ID, q)
	ok(t, err)
	same(t, "tally by hand", store.AlertTally{Open: map[string]int{"critical": 2, "high": 1, "medium": 1}, OpenTotal: 4,
		Recent: 3, OpenPrefix: 2}, got)

	// The same figures as the counts the dashboard made before.
	want := store.AlertTally{Open: map[string]int{}}
	for _, l := range []string{"critical", "high", "medium", "low", "informational"} {
		n, err := as.Count(ctx, a.ID, store.AlertFilter{Statuses: open, Level: l})
		ok(t, err)
		if n > 0 {
			want.Open[l] = n
		}
		want.OpenTotal += n
	}
	want.Recent, err = as.Count(ctx, a.ID, store.AlertFilter{Since: since})
	ok(t, err)
	want.OpenPrefix, err = as.Count(ctx, a.ID, store.AlertFilter{Statuses: open, RulePrefix: "intel:"})
	ok(t, err)
	same(t, "tally as counted", want, got)

	// Parts left out are not counted; a tenant without alerts has none.
	got, err = s.Posture().AlertTally(ctx, a.ID, store.AlertTallyQuery{Open: open})
	ok(t, err)
	same(t, "open only", store.AlertTally{Open: want.Open, OpenTotal: 4}, got)
	got, err = s.Posture().AlertTally(ctx, a.ID, store.AlertTallyQuery{Since: since})
	ok(t, err)
	same(t, "recent only", store.AlertTally{Open: map[string]int{}, Recent: 3}, got)
	got, err = s.Posture().AlertTally(ctx, mkTenant(t, s, "gamma").ID, q)
	ok(t, err)
	same(t, "no alerts", store.AlertTally{Open: map[string]int{}}, got)
}

// testEventLoad checks that EventLoader.Load leaves the store as Append
// does: the same events and the same per-sender and per-hour counters,
// with repeated and already stored IDs skipped, across several
// multi-row statements.
func testEventLoad(t *testing.T, s store.Store) {
	ctx := t.Context()
	es := s.Events()
	loader, isLoader := es.(store.EventLoader)
	if !isLoader {
		t.Fatal("the event store offers no Load")
	}
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	const n = 1234
	mk := func(tn store.Tenant, prefix string) []store.Event {
		evs := make([]store.Event, 0, n+1)
		for i := range n {
			evs = append(evs, store.Event{ID: fmt.Sprintf("%s%05d", prefix, i), TenantID: tn.ID, Time: at(-i), Received: at(i / 7),
				Source: []string{"syslog", "http", "netflow"}[i%3], Format: "rfc5424", Host: fmt.Sprintf("h%02d", i%17),
				SourceIP: "192.0.2.1", User: "u", Message: fmt.Sprintf("message %d", i), Fields: map[string]any{"n": float64(i)},
				Original: "orig", Truncated: i%100 == 0})
		}
		// A repeated ID with other content: the first one is stored.
		dup := evs[3]
		dup.Host, dup.Received = "other", at(500)
		return append(evs, dup)
	}
	appended, loaded := mk(b, "A"), mk(a, "L")
	// Each side has stored its first event already.
	_, err := es.Append(ctx, appended[:1])
	ok(t, err)
	_, err = es.Append(ctx, loaded[:1])
	ok(t, err)
	added, err := es.Append(ctx, appended)
	ok(t, err)
	got, err := loader.Load(ctx, loaded)
	ok(t, err)
	same(t, "added", len(added), got)
	same(t, "added", n-1, got)

	for _, tn := range []store.Tenant{a, b} {
		c, err := es.Count(ctx, tn.ID, store.EventQuery{})
		ok(t, err)
		same(t, "stored", n, c)
	}
	strip := func(srcs []store.EventSource) []store.EventSource {
		for i := range srcs {
			srcs[i].TenantID = ""
		}
		return srcs
	}
	sa, err := es.Sources(ctx, a.ID, store.Page{Limit: 100})
	ok(t, err)
	sb, err := es.Sources(ctx, b.ID, store.Page{Limit: 100})
	ok(t, err)
	same(t, "senders", strip(sb), strip(sa))
	ha, err := es.Hourly(ctx, a.ID, at(-60), at(600))
	ok(t, err)
	hb, err := es.Hourly(ctx, b.ID, at(-60), at(600))
	ok(t, err)
	same(t, "hours", hb, ha)
	sum := 0
	for _, h := range ha {
		sum += h
	}
	same(t, "hours sum", n, sum)
	ea, err := es.Search(ctx, a.ID, store.EventQuery{Page: store.Page{Limit: 2000}})
	ok(t, err)
	eb, err := es.Search(ctx, b.ID, store.EventQuery{Page: store.Page{Limit: 2000}})
	ok(t, err)
	for i := range ea {
		ea[i].ID, ea[i].TenantID = ea[i].ID[1:], ""
	}
	for i := range eb {
		eb[i].ID, eb[i].TenantID = eb[i].ID[1:], ""
	}
	same(t, "events", eb, ea)
	got, err = loader.Load(ctx, nil)
	ok(t, err)
	same(t, "nothing", 0, got)
}
