package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testDrills checks drills and their log: unique names per tenant,
// optimistic updates, every addition to the log moving the version on (a
// stale version writes nothing), state changes setting the state,
// observations referring to a record of the same drill, the tenant scope,
// concurrent additions of which exactly one wins per version, and delete.
func testDrills(t *testing.T, s store.Store) {
	ctx := t.Context()
	ds := s.Drills()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	d := store.Drill{TenantID: a.ID, Name: "2026 重点时期演练 <b>", State: "planned", Start: at(0), End: at(60 * 24 * 3),
		RulesOfEngagement: "no DoS", Scope: []byte(`{"cidrs":["10.0.0.0/8"]}`), Teams: []byte(`[{"name":"red","role":"attacker"}]`),
		Cases: []byte(`[{"id":"c1"}]`), CreatedBy: "u1"}
	ok(t, ds.Create(ctx, &d))
	if d.ID == "" || d.Version != 1 || d.Start != micro(at(0)) {
		t.Fatalf("created %+v", d)
	}
	stamped(t, "created", d.CreatedAt)
	got, err := ds.Get(ctx, a.ID, d.ID)
	ok(t, err)
	same(t, "drill", d, got)

	dup := store.Drill{TenantID: a.ID, Name: d.Name, State: "planned", Start: at(0), End: at(10)}
	isErr(t, ds.Create(ctx, &dup), store.ErrConflict)
	other := store.Drill{TenantID: b.ID, Name: d.Name, State: "planned", Start: at(5), End: at(10)}
	ok(t, ds.Create(ctx, &other))
	noTenant := store.Drill{TenantID: "missing", Name: "x", State: "planned", Start: at(0), End: at(10)}
	isErr(t, ds.Create(ctx, &noTenant), store.ErrNotFound)
	_, err = ds.Get(ctx, b.ID, d.ID)
	isErr(t, err, store.ErrNotFound)

	// A second drill of a starts later and lists first.
	later := store.Drill{TenantID: a.ID, Name: "later", State: "planned", Start: at(100), End: at(200), Scheme: []byte(`{"name":"s"}`)}
	ok(t, ds.Create(ctx, &later))
	list, err := ds.List(ctx, a.ID, store.Page{})
	ok(t, err)
	same(t, "list", []string{later.ID, d.ID}, ids(list, func(x store.Drill) string { return x.ID }))
	same(t, "listed scheme", later.Scheme, list[0].Scheme)

	// Optimistic update.
	stale := got
	got.Name, got.Cases = "renamed", []byte(`[{"id":"c1"},{"id":"c2"}]`)
	ok(t, ds.Update(ctx, &got))
	if got.Version != 2 {
		t.Fatalf("version = %d, want 2", got.Version)
	}
	stale.Name = "stale"
	isErr(t, ds.Update(ctx, &stale), store.ErrConflict)
	foreign := got
	foreign.TenantID = b.ID
	isErr(t, ds.Update(ctx, &foreign), store.ErrNotFound)
	reread, err := ds.Get(ctx, a.ID, d.ID)
	ok(t, err)
	same(t, "updated drill", got, reread)

	// The log: each addition moves the version on.
	v := got.Version
	sc := store.DrillStateChange{From: "planned", To: "running", At: at(1), By: "director"}
	v, err = ds.ChangeState(ctx, a.ID, d.ID, v, &sc)
	ok(t, err)
	if v != 3 || sc.Seq != 1 {
		t.Fatalf("state change: version %d seq %d", v, sc.Seq)
	}
	rec := store.DrillRecord{ID: "r1", At: at(2), Team: "red", Technique: "T1110", Body: []byte(`{"id":"r1","what":"<script>x</script>"}`)}
	v, err = ds.AddRecord(ctx, a.ID, d.ID, v, &rec)
	ok(t, err)
	_, err = ds.AddRecord(ctx, a.ID, d.ID, v-1, &store.DrillRecord{ID: "r2", At: at(3), Team: "red", Technique: "T1046"})
	isErr(t, err, store.ErrConflict) // stale: nothing written
	dupRec := rec
	_, err = ds.AddRecord(ctx, a.ID, d.ID, v, &dupRec)
	isErr(t, err, store.ErrConflict) // same id twice
	early := store.DrillRecord{ID: "r0", At: at(1), Team: "red", Technique: "T1595", Body: []byte(`{}`)}
	v, err = ds.AddRecord(ctx, a.ID, d.ID, v, &early)
	ok(t, err)
	obs := store.DrillObservation{RecordID: "r1", AlertID: "al-1", At: at(4), By: "blue", Body: []byte(`{"layer":"siem_rule"}`)}
	v, err = ds.AddObservation(ctx, a.ID, d.ID, v, &obs)
	ok(t, err)
	_, err = ds.AddObservation(ctx, a.ID, d.ID, v, &store.DrillObservation{RecordID: "nope", At: at(4), By: "blue"})
	isErr(t, err, store.ErrNotFound) // no such record in this drill
	ann := store.DrillAnnouncement{At: at(5), By: "director", To: "attacker", Text: "stop scanning 10.0.9.0/24"}
	v, err = ds.AddAnnouncement(ctx, a.ID, d.ID, v, &ann)
	ok(t, err)
	pause := store.DrillStateChange{From: "running", To: "paused", At: at(6), By: "director", Reason: "production impact"}
	v, err = ds.ChangeState(ctx, a.ID, d.ID, v, &pause)
	ok(t, err)
	if pause.Seq != 2 {
		t.Fatalf("pause seq = %d", pause.Seq)
	}
	_, err = ds.AddAnnouncement(ctx, b.ID, d.ID, v, &store.DrillAnnouncement{At: at(7), By: "x", Text: "y"})
	isErr(t, err, store.ErrNotFound) // another tenant's drill
	_, err = ds.Log(ctx, b.ID, d.ID)
	isErr(t, err, store.ErrNotFound)

	cur, err := ds.Get(ctx, a.ID, d.ID)
	ok(t, err)
	if cur.Version != v || cur.State != "paused" {
		t.Fatalf("after the log: version %d (want %d), state %q", cur.Version, v, cur.State)
	}
	log, err := ds.Log(ctx, a.ID, d.ID)
	ok(t, err)
	same(t, "log", store.DrillLog{
		Records:       []store.DrillRecord{early, rec},
		Observations:  []store.DrillObservation{obs},
		Announcements: []store.DrillAnnouncement{ann},
		StateChanges:  []store.DrillStateChange{sc, pause},
	}, log)

	// Concurrent announcements on the same version: exactly one wins.
	const writers = 4
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = ds.AddAnnouncement(ctx, a.ID, d.ID, v, &store.DrillAnnouncement{At: at(8), By: "director", Text: "go"})
		})
	}
	wg.Wait()
	wins := 0
	for _, e := range errs {
		switch {
		case e == nil:
			wins++
		case !errors.Is(e, store.ErrConflict):
			t.Fatalf("concurrent add: %v", e)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent additions on one version won, want 1 (%v)", wins, errs)
	}

	// Delete takes the log with it.
	isErr(t, ds.Delete(ctx, b.ID, d.ID), store.ErrNotFound)
	ok(t, ds.Delete(ctx, a.ID, d.ID))
	_, err = ds.Get(ctx, a.ID, d.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = ds.Log(ctx, a.ID, d.ID)
	isErr(t, err, store.ErrNotFound)

	// Deleting the tenant deletes its drills.
	ok(t, s.Tenants().Delete(ctx, a.ID))
	_, err = ds.Get(ctx, a.ID, later.ID)
	isErr(t, err, store.ErrNotFound)

	t.Run("Reports", func(t *testing.T) { testDrillReports(t, s) })
	t.Run("Participants", func(t *testing.T) { testDrillParticipants(t, s) })
}
