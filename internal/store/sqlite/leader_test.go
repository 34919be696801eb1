package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// TestSingleNodeLeads: a SQLite database serves one node, which always
// leads; retention deletes old rows and preparing days does nothing.
func TestSingleNodeLeads(t *testing.T) {
	ctx := t.Context()
	st := open(t, filepath.Join(t.TempDir(), "vigil.db"))
	l, err := st.(store.LeaderElector).TryLead(ctx, "scheduler")
	if err != nil || l == nil {
		t.Fatalf("TryLead = %v, %v; want a lease", l, err)
	}
	select {
	case <-l.Lost():
		t.Fatal("a fresh lease is lost")
	default:
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	<-l.Lost()

	tn := store.Tenant{Slug: "one", Name: "One"}
	if err := st.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	evs := []store.Event{{ID: "old", TenantID: tn.ID, Time: now.AddDate(0, 0, -40), Received: now},
		{ID: "new", TenantID: tn.ID, Time: now.AddDate(0, 0, -1), Received: now}}
	if _, err := st.Events().Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	r := st.(store.EventRetention)
	if n, err := r.PrepareEventDays(ctx, now, now.AddDate(0, 0, 3)); err != nil || n != 0 {
		t.Fatalf("PrepareEventDays = %d, %v; want 0, nil", n, err)
	}
	d, err := r.DropEventsBefore(ctx, now.AddDate(0, 0, -30))
	if err != nil || d.Rows != 1 || len(d.Days) != 0 {
		t.Fatalf("DropEventsBefore = %+v, %v; want one row", d, err)
	}
	if _, err := st.Events().Get(ctx, tn.ID, "new"); err != nil {
		t.Fatalf("the newer event is gone: %v", err)
	}
}
