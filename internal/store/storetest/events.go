package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

func testEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	es := s.Events()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	var batch []store.Event
	for i := range 10 {
		batch = append(batch, store.Event{ID: fmt.Sprintf("ev-%02d", i), TenantID: a.ID, Time: at(i), Received: at(i),
			Format: "rfc5424", Host: "web-01", SourceIP: fmt.Sprintf("192.0.2.%d", i%3), User: "root",
			Message: "sshd login", Fields: map[string]any{"event.outcome": []string{"success", "failure"}[i%2], "destination.port": 22},
			Original: fmt.Sprintf("<13>1 line %d <script>", i)})
	}
	added, err := es.Append(ctx, batch)
	ok(t, err)
	same(t, "appended", 10, len(added))
	added, err = es.Append(ctx, append(batch[:2:2], store.Event{ID: "ev-new", TenantID: a.ID, Time: at(20), Received: at(20)})) // redelivered: stored once
	ok(t, err)
	same(t, "appended again", []string{"ev-new"}, added)
	_, err = es.Append(ctx, []store.Event{{ID: "ev-b", TenantID: b.ID, Time: at(1), Received: at(1), Host: "web-01"}})
	ok(t, err)

	count := func(q store.EventQuery) int {
		n, err := es.Count(ctx, a.ID, q)
		ok(t, err)
		return n
	}
	same(t, "all", 11, count(store.EventQuery{}))
	same(t, "time range", 3, count(store.EventQuery{Since: at(2), Until: at(5)}))
	same(t, "column term", 4, count(store.EventQuery{Terms: []store.FieldTerm{{Field: "source.ip", Value: "192.0.2.0"}}}))
	same(t, "json term", 5, count(store.EventQuery{Terms: []store.FieldTerm{{Field: "event.outcome", Value: "failure"}}}))
	same(t, "json number term", 10, count(store.EventQuery{Terms: []store.FieldTerm{{Field: "destination.port", Value: "22"}}}))
	same(t, "text", 1, count(store.EventQuery{Text: "line 7 <script>"}))
	same(t, "two terms", 2, count(store.EventQuery{Terms: []store.FieldTerm{{Field: "event.outcome", Value: "failure"},
		{Field: "source_ip", Value: "192.0.2.0"}}}))

	page, err := es.Search(ctx, a.ID, store.EventQuery{Page: store.Page{Limit: 2}})
	ok(t, err)
	same(t, "newest first", []string{"ev-new", "ev-09"}, ids(page, func(e store.Event) string { return e.ID }))
	if page[1].Fields["event.outcome"] != "failure" || page[1].Original != "<13>1 line 9 <script>" {
		t.Fatalf("event %+v", page[1])
	}
	got, err := es.Get(ctx, a.ID, "ev-03")
	ok(t, err)
	same(t, "get", "192.0.2.0", got.SourceIP)
	_, err = es.Get(ctx, b.ID, "ev-03")
	isErr(t, err, store.ErrNotFound)

	h, err := es.Histogram(ctx, a.ID, store.EventQuery{Since: at(0), Until: at(10)}, 5*time.Minute)
	ok(t, err)
	same(t, "histogram", []int{5, 5, 0}, h)
}

func testAlerts(t *testing.T, s store.Store) {
	ctx := t.Context()
	as := s.Alerts()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	open := []string{"new", "acknowledged"}
	raise := func(tenant, host string, minute int, ev string) (store.Alert, bool) {
		al := store.Alert{TenantID: tenant, GroupKey: "r1|" + host, RuleID: "r1", RuleTitle: "Brute force", Level: "high",
			Tags: []string{"attack.t1110"}, Host: host, EventIDs: []string{ev}, Status: "new", LastSeen: at(minute)}
		created, err := as.Raise(ctx, &al, 10*time.Minute, open, 3)
		ok(t, err)
		return al, created
	}
	first, created := raise(a.ID, "web-01", 0, "e1")
	same(t, "first created", true, created)
	second, created := raise(a.ID, "web-01", 5, "e2")
	same(t, "repeat joins", false, created)
	same(t, "same alert", first.ID, second.ID)
	same(t, "count", 2, second.Count)
	raise(a.ID, "web-01", 6, "e3")
	fourth, _ := raise(a.ID, "web-01", 7, "e4")
	same(t, "event ids bounded", []string{"e1", "e2", "e3"}, fourth.EventIDs)
	_, created = raise(a.ID, "web-01", 30, "e5") // past the window
	same(t, "after the window", true, created)
	db, created := raise(a.ID, "db-01", 31, "e6") // another host
	same(t, "other host", true, created)
	_, created = raise(b.ID, "web-01", 31, "e7")
	same(t, "other tenant", true, created)

	ok(t, as.SetStatus(ctx, a.ID, first.ID, "false-positive", "scanner of ours", "u1", at(40)))
	isErr(t, as.SetStatus(ctx, b.ID, first.ID, "new", "", "u1", at(40)), store.ErrNotFound)
	ok(t, as.SetStatus(ctx, a.ID, db.ID, "false-positive", "", "u1", at(40)))
	_, created = raise(a.ID, "db-01", 35, "e8") // within the window, but the alert was closed
	same(t, "closed alert not joined", true, created)

	n, err := as.Count(ctx, a.ID, store.AlertFilter{Statuses: open})
	ok(t, err)
	same(t, "open alerts", 2, n)
	list, err := as.List(ctx, a.ID, store.AlertFilter{Query: "db-"})
	ok(t, err)
	same(t, "query", 2, len(list)) // both db-01 alerts
	got, err := as.Get(ctx, a.ID, first.ID)
	ok(t, err)
	if got.Status != "false-positive" || got.Note != "scanner of ours" || got.Count != 4 || len(got.Tags) != 1 {
		t.Fatalf("alert %+v", got)
	}
	_, err = as.Get(ctx, b.ID, first.ID)
	isErr(t, err, store.ErrNotFound)

	n, err = as.Count(ctx, a.ID, store.AlertFilter{Since: at(31)})
	ok(t, err)
	same(t, "last seen since", 2, n) // db-01 at 31 and 35; web-01 last seen at 30
	n, err = as.Count(ctx, a.ID, store.AlertFilter{Since: at(7), Until: at(31)})
	ok(t, err)
	same(t, "active in a window", 2, n) // web-01 0..7 and web-01 from 30; db-01 first seen at 31 is out
	intel := store.Alert{TenantID: a.ID, GroupKey: "intel:ip:203.0.113.9|web-01", RuleID: "intel:ip:203.0.113.9",
		RuleTitle: "Threat intelligence", Level: "high", Status: "new", LastSeen: at(50)}
	_, err = as.Raise(ctx, &intel, 10*time.Minute, open, 3)
	ok(t, err)
	odd := store.Alert{TenantID: a.ID, GroupKey: "intel_x|web-01", RuleID: "intel_x", RuleTitle: "Underscore", Level: "low",
		Status: "new", LastSeen: at(50)}
	_, err = as.Raise(ctx, &odd, 10*time.Minute, open, 3)
	ok(t, err)
	n, err = as.Count(ctx, a.ID, store.AlertFilter{RulePrefix: "intel:"})
	ok(t, err)
	same(t, "rule prefix", 1, n)
	n, err = as.Count(ctx, a.ID, store.AlertFilter{RulePrefix: "intel_"})
	ok(t, err)
	same(t, "rule prefix is literal", 1, n)
}
