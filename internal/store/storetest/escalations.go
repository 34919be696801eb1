package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testEscalations checks escalation rules per tenant and the revision
// check on escalation state: a write over a stale revision is refused,
// and only open, due escalations are due.
func testEscalations(t *testing.T, s store.Store) {
	ctx := t.Context()
	es := s.Escalations()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")

	r := store.EscalationRule{TenantID: a.ID, Name: "夜间值班", Spec: []byte(`{"name":"夜间值班"}`), Enabled: true, UpdatedBy: "u1"}
	ok(t, es.PutRule(ctx, &r))
	stamped(t, "rule", r.UpdatedAt)
	r.Spec, r.Enabled = []byte(`{"name":"夜间值班","steps":[]}`), false
	ok(t, es.PutRule(ctx, &r)) // replace
	off := store.EscalationRule{TenantID: b.ID, Name: "soc", Spec: []byte(`{}`), Enabled: true}
	ok(t, es.PutRule(ctx, &off))
	rs, err := es.Rules(ctx, a.ID)
	ok(t, err)
	if len(rs) != 1 || string(rs[0].Spec) != `{"name":"夜间值班","steps":[]}` || rs[0].Enabled {
		t.Fatalf("rules of alpha %+v", rs)
	}
	all, err := es.EnabledRules(ctx)
	ok(t, err)
	if len(all) != 1 || all[0].TenantID != b.ID {
		t.Fatalf("enabled rules %+v", all)
	}
	if err := es.DeleteRule(ctx, b.ID, "夜间值班"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete another tenant's rule: %v", err)
	}
	ok(t, es.DeleteRule(ctx, a.ID, "夜间值班"))

	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	e := store.EscalationState{ID: "alert-1/soc", TenantID: a.ID, Rule: "soc", State: []byte(`{"step":0}`), NextAt: now, RaisedAt: now}
	ok(t, es.Put(ctx, e))
	if err := es.Put(ctx, e); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second insert: %v", err)
	}
	got, err := es.Get(ctx, e.ID)
	ok(t, err)
	if got.Rev != 1 || got.Done || !got.NextAt.Equal(now) || string(got.State) != `{"step":0}` {
		t.Fatalf("stored %+v", got)
	}
	// Two writers read revision 1; the second write loses.
	first, second := got, got
	first.State, first.NextAt = []byte(`{"step":1}`), now.Add(10*time.Minute)
	ok(t, es.Put(ctx, first))
	second.Done = true
	if err := es.Put(ctx, second); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale write: %v", err)
	}
	got, err = es.Get(ctx, e.ID)
	ok(t, err)
	if got.Rev != 2 || got.Done || string(got.State) != `{"step":1}` {
		t.Fatalf("after the race %+v", got)
	}
	other := store.EscalationState{ID: "alert-2/soc", TenantID: b.ID, Rule: "soc", State: []byte(`{}`), NextAt: now.Add(-time.Minute), RaisedAt: now}
	ok(t, es.Put(ctx, other))
	due, err := es.Due(ctx, now, 10)
	ok(t, err)
	if len(due) != 1 || due[0].ID != other.ID {
		t.Fatalf("due at now %+v", due)
	}
	due, err = es.Due(ctx, now.Add(time.Hour), 10)
	ok(t, err)
	if len(due) != 2 || due[0].ID != other.ID {
		t.Fatalf("due later %+v", due)
	}
	got.Done = true
	ok(t, es.Put(ctx, got))
	due, err = es.Due(ctx, now.Add(time.Hour), 10)
	ok(t, err)
	if len(due) != 1 {
		t.Fatalf("done escalation still due: %+v", due)
	}
	list, err := es.List(ctx, a.ID, store.Page{Limit: 10})
	ok(t, err)
	if len(list) != 1 || list[0].ID != e.ID {
		t.Fatalf("alpha's escalations %+v", list)
	}
	if _, err := es.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown escalation: %v", err)
	}
}
