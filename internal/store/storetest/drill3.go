package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testDrillParticipants checks drills over several tenants: participants
// are written and read back in order, a participant lists and resolves the
// drill while an outsider does not, an update replaces them, deleting a
// participant tenant drops its row, and an attack record is deleted with
// its observations only.
func testDrillParticipants(t *testing.T, s store.Store) {
	ctx := t.Context()
	ds := s.Drills()
	org, p1, p2, outsider := mkTenant(t, s, "dp-org"), mkTenant(t, s, "dp-one"), mkTenant(t, s, "dp-two"), mkTenant(t, s, "dp-out")

	d := store.Drill{TenantID: org.ID, Name: "regional drill", State: "planned", Start: at(0), End: at(600),
		Participants: []store.DrillParticipant{{TenantID: p2.ID, Scope: []byte(`{"cidrs":["10.2.0.0/16"]}`)},
			{TenantID: p1.ID, Scope: []byte(`{"cidrs":["10.1.0.0/16"]}`)}}}
	ok(t, ds.Create(ctx, &d))
	got, err := ds.Get(ctx, org.ID, d.ID)
	ok(t, err)
	same(t, "participants", d.Participants, got.Participants)

	// A plain drill of the organiser has no participants.
	plain := store.Drill{TenantID: org.ID, Name: "own drill", State: "planned", Start: at(10), End: at(20)}
	ok(t, ds.Create(ctx, &plain))
	got2, err := ds.Get(ctx, org.ID, plain.ID)
	ok(t, err)
	if got2.Participants != nil {
		t.Fatalf("plain drill participants = %+v", got2.Participants)
	}

	for _, tc := range []struct {
		tenant string
		want   []string
	}{{org.ID, []string{plain.ID, d.ID}}, {p1.ID, []string{d.ID}}, {p2.ID, []string{d.ID}}, {outsider.ID, nil}} {
		list, err := ds.List(ctx, tc.tenant, store.Page{})
		ok(t, err)
		same(t, "list of "+tc.tenant, tc.want, ids(list, func(x store.Drill) string { return x.ID }))
		for _, l := range list {
			if l.TenantID != org.ID {
				t.Fatalf("listed drill has tenant %q, want the organiser", l.TenantID)
			}
		}
		owner, err := ds.Owner(ctx, tc.tenant, d.ID)
		if tc.want == nil {
			isErr(t, err, store.ErrNotFound)
			continue
		}
		ok(t, err)
		same(t, "owner", org.ID, owner)
	}
	_, err = ds.Owner(ctx, p1.ID, plain.ID)
	isErr(t, err, store.ErrNotFound)
	// A participant still cannot read the drill as if it were its own.
	_, err = ds.Get(ctx, p1.ID, d.ID)
	isErr(t, err, store.ErrNotFound)

	// Update replaces the participants.
	got.Participants = got.Participants[1:]
	ok(t, ds.Update(ctx, &got))
	again, err := ds.Get(ctx, org.ID, d.ID)
	ok(t, err)
	same(t, "participants after update", []store.DrillParticipant{{TenantID: p1.ID, Scope: []byte(`{"cidrs":["10.1.0.0/16"]}`)}}, again.Participants)
	_, err = ds.Owner(ctx, p2.ID, d.ID)
	isErr(t, err, store.ErrNotFound)

	// Record deletion takes the record's observations, not the others'.
	v := again.Version
	for _, id := range []string{"r1", "r2"} {
		v, err = ds.AddRecord(ctx, org.ID, d.ID, v, &store.DrillRecord{ID: id, At: at(5), Team: "red", Technique: "T1046"})
		ok(t, err)
		v, err = ds.AddObservation(ctx, org.ID, d.ID, v, &store.DrillObservation{RecordID: id, At: at(6), By: "blue"})
		ok(t, err)
	}
	_, err = ds.DeleteRecord(ctx, outsider.ID, d.ID, v, "r1")
	isErr(t, err, store.ErrNotFound)
	_, err = ds.DeleteRecord(ctx, org.ID, d.ID, v-1, "r1")
	isErr(t, err, store.ErrConflict)
	v2, err := ds.DeleteRecord(ctx, org.ID, d.ID, v, "r1")
	ok(t, err)
	if v2 != v+1 {
		t.Fatalf("version after delete = %d, want %d", v2, v+1)
	}
	_, err = ds.DeleteRecord(ctx, org.ID, d.ID, v2, "r1")
	isErr(t, err, store.ErrNotFound)
	log, err := ds.Log(ctx, org.ID, d.ID)
	ok(t, err)
	same(t, "records left", []string{"r2"}, ids(log.Records, func(r store.DrillRecord) string { return r.ID }))
	same(t, "observations left", []string{"r2"}, ids(log.Observations, func(o store.DrillObservation) string { return o.RecordID }))

	// A participant tenant deleted leaves the drill.
	ok(t, s.Tenants().Delete(ctx, p1.ID))
	again, err = ds.Get(ctx, org.ID, d.ID)
	ok(t, err)
	if again.Participants != nil {
		t.Fatalf("participants after the tenant went = %+v", again.Participants)
	}
	ok(t, ds.Delete(ctx, org.ID, d.ID))
}
