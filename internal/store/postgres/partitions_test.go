package postgres

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// partitionsVersion is the migration that partitions events by day.
const partitionsVersion = 42

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// partitionOf names the table that holds event id.
func partitionOf(t *testing.T, db *sql.DB, id string) string {
	t.Helper()
	var name string
	if err := db.QueryRowContext(t.Context(), `SELECT tableoid::regclass::text FROM events WHERE id = $1`, id).Scan(&name); err != nil {
		t.Fatalf("partition of %s: %v", id, err)
	}
	return name
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n sql.NullString
	if err := db.QueryRowContext(t.Context(), `SELECT to_regclass($1)::text`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n.Valid
}

// TestEventsMoveIntoPartitions migrates a database holding events to the
// partitioned layout: every row is kept, in its day's partition, and rows
// of far-off days land in the default partition.
func TestEventsMoveIntoPartitions(t *testing.T) {
	ctx := t.Context()
	dbURL := freshDB(t)
	db, err := openDB(ctx, dbURL)
	ok(t, err)
	t.Cleanup(func() { _ = db.Close() })
	migrateTo(t, db, partitionsVersion-1)
	now := time.Now().UTC()
	exec(t, db, `INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ('t1', 't1', 'T1', now(), now())`)
	rows := map[string]time.Time{
		"ev-old-day": now.AddDate(0, 0, -10),
		"ev-today":   now,
		"ev-ahead":   now.Add(time.Hour),
		"ev-2001":    time.Date(2001, 5, 6, 7, 8, 9, 0, time.UTC),
	}
	for id, at := range rows {
		if _, err := db.ExecContext(ctx, `INSERT INTO events (id, tenant_id, at, received, original) VALUES ($1, 't1', $2, $2, $1)`, id, at); err != nil {
			t.Fatal(err)
		}
	}
	st := open(t, dbURL) // migrates the rest
	for id, at := range rows {
		want := "events_p" + at.Format("20060102")
		if id == "ev-2001" {
			want = "events_default"
		}
		if got := partitionOf(t, db, id); got != want {
			t.Errorf("event %s (%s) is in %s, want %s", id, at.Format(time.RFC3339), got, want)
		}
		e, err := st.Events().Get(ctx, "t1", id)
		if err != nil || e.Original != id || !e.Time.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("Get(%s) = %+v, %v after the migration", id, e, err)
		}
	}
	n, err := st.Events().Count(ctx, "t1", store.EventQuery{})
	ok(t, err)
	if n != len(rows) {
		t.Errorf("%d events after the migration, want %d", n, len(rows))
	}
	if tableExists(t, db, "events_unpartitioned") {
		t.Error("the old events table is still there")
	}
}

// TestEventRetentionDropsPartitions prepares day partitions, stores events
// on several days, and drops the days past the retention: whole
// partitions go, the default partition loses its old rows, newer days
// keep theirs. A day prepared later takes its rows out of the default
// partition.
func TestEventRetentionDropsPartitions(t *testing.T) {
	ctx := t.Context()
	dbURL := migratedDB(t)
	st := open(t, dbURL)
	r, isRetention := st.(store.EventRetention)
	if !isRetention {
		t.Fatal("the PostgreSQL store does not implement store.EventRetention")
	}
	db, err := openDB(ctx, dbURL)
	ok(t, err)
	t.Cleanup(func() { _ = db.Close() })
	tn := store.Tenant{Slug: "keep", Name: "Keep"}
	ok(t, st.Tenants().Create(ctx, &tn))

	today := day(time.Now())
	if _, err := r.PrepareEventDays(ctx, today.AddDate(0, 0, -5), today.AddDate(0, 0, 3)); err != nil {
		t.Fatal(err)
	}
	at := func(days int) time.Time { return today.AddDate(0, 0, days).Add(13 * time.Hour) }
	evs := []store.Event{
		{ID: "d-5", Time: at(-5)}, {ID: "d-4", Time: at(-4)}, {ID: "d-1", Time: at(-1)}, {ID: "d0", Time: at(0)},
		{ID: "old", Time: time.Date(2001, 1, 2, 3, 4, 5, 0, time.UTC)}, {ID: "d+10", Time: at(10)},
	}
	for i := range evs {
		evs[i].TenantID, evs[i].Received, evs[i].Original = tn.ID, time.Now(), evs[i].ID
	}
	added, err := st.Events().Append(ctx, evs)
	ok(t, err)
	if len(added) != len(evs) {
		t.Fatalf("added %v, want all %d", added, len(evs))
	}
	if got := partitionOf(t, db, "d+10"); got != "events_default" {
		t.Fatalf("an event ten days ahead is in %s before its day is prepared, want events_default", got)
	}
	n, err := r.PrepareEventDays(ctx, at(10), at(10))
	ok(t, err)
	if want := "events_p" + at(10).Format("20060102"); n != 1 || partitionOf(t, db, "d+10") != want {
		t.Fatalf("preparing day +10 added %d days and left the event in %s, want 1 and %s", n, partitionOf(t, db, "d+10"), want)
	}

	before := today.AddDate(0, 0, -3)
	drop, err := r.DropEventsBefore(ctx, before)
	ok(t, err)
	var dropped []string
	for _, d := range drop.Days {
		dropped = append(dropped, d.Format(time.DateOnly))
	}
	for _, want := range []int{-5, -4} {
		d := today.AddDate(0, 0, want)
		if !strings.Contains(strings.Join(dropped, " "), d.Format(time.DateOnly)) {
			t.Errorf("day %s not dropped (dropped %v)", d.Format(time.DateOnly), dropped)
		}
		if tableExists(t, db, "events_p"+d.Format("20060102")) {
			t.Errorf("partition of %s still exists", d.Format(time.DateOnly))
		}
	}
	for _, d := range drop.Days {
		if !d.AddDate(0, 0, 1).After(before) {
			continue
		}
		t.Errorf("day %s dropped, but part of it is newer than %s", d.Format(time.DateOnly), before.Format(time.DateOnly))
	}
	if drop.Rows != 1 {
		t.Errorf("%d rows deleted from the default partition, want 1 (the event of 2001)", drop.Rows)
	}
	var left []string
	es, err := st.Events().Search(ctx, tn.ID, store.EventQuery{})
	ok(t, err)
	for _, e := range es {
		left = append(left, e.ID)
	}
	if strings.Join(left, ",") != "d+10,d0,d-1" {
		t.Errorf("events left %v, want d+10, d0, d-1", left)
	}
	// Another drop finds nothing more.
	again, err := r.DropEventsBefore(ctx, before)
	ok(t, err)
	if len(again.Days) != 0 || again.Rows != 0 {
		t.Errorf("a second drop removed %+v", again)
	}
}

// TestEventDedupeKey stores an event twice, as a resent batch does (same
// tenant, time and ID): it is kept once. The same ID under another tenant
// is a different event.
func TestEventDedupeKey(t *testing.T) {
	ctx := t.Context()
	st := open(t, migratedDB(t))
	a, b := store.Tenant{Slug: "a", Name: "A"}, store.Tenant{Slug: "b", Name: "B"}
	ok(t, st.Tenants().Create(ctx, &a))
	ok(t, st.Tenants().Create(ctx, &b))
	at := time.Now().Add(-time.Hour)
	ev := store.Event{ID: "resent-1", TenantID: a.ID, Time: at, Received: time.Now(), Original: "x"}
	for i := range 3 {
		ev.Received = time.Now() // a resend is received again, later
		added, err := st.Events().Append(ctx, []store.Event{ev})
		ok(t, err)
		if want := map[bool]int{true: 1, false: 0}[i == 0]; len(added) != want {
			t.Errorf("send %d: added %v, want %d", i+1, added, want)
		}
	}
	other := ev
	other.TenantID = b.ID
	added, err := st.Events().Append(ctx, []store.Event{other})
	ok(t, err)
	if len(added) != 1 {
		t.Errorf("the same ID in another tenant: added %v, want it", added)
	}
	n, err := st.Events().Count(ctx, a.ID, store.EventQuery{})
	ok(t, err)
	if n != 1 {
		t.Errorf("%d events stored for three sends, want 1", n)
	}
}

// TestEventQueryPrunesPartitions checks the plan of a search over one day:
// it reads that day's partition, none of the other days' and not the
// default partition.
func TestEventQueryPrunesPartitions(t *testing.T) {
	ctx := t.Context()
	dbURL := migratedDB(t)
	st := open(t, dbURL)
	r := st.(store.EventRetention)
	db, err := openDB(ctx, dbURL)
	ok(t, err)
	t.Cleanup(func() { _ = db.Close() })
	today := day(time.Now())
	_, err = r.PrepareEventDays(ctx, today.AddDate(0, 0, -3), today.AddDate(0, 0, 1))
	ok(t, err)
	target := today.AddDate(0, 0, -2)
	plan := explain(t, db, `SELECT id FROM events WHERE tenant_id = $1 AND at >= $2 AND at < $3 ORDER BY at DESC, id DESC LIMIT 50`,
		"t1", target.Add(time.Hour), target.Add(5*time.Hour))
	if !strings.Contains(plan, "events_p"+target.Format("20060102")) {
		t.Fatalf("the plan does not read the day's partition:\n%s", plan)
	}
	for d := -3; d <= 1; d++ {
		other := today.AddDate(0, 0, d)
		if other.Equal(target) {
			continue
		}
		if strings.Contains(plan, "events_p"+other.Format("20060102")) {
			t.Errorf("the plan reads the partition of %s:\n%s", other.Format(time.DateOnly), plan)
		}
	}
	if strings.Contains(plan, "events_default") {
		t.Errorf("the plan reads the default partition:\n%s", plan)
	}
	t.Logf("plan of a one-day search:\n%s", plan)
}
