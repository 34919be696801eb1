package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testWorkOrders checks per-tenant references (unique even when orders
// are created at once), filters, the version check and tenant isolation.
func testWorkOrders(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := s.WorkOrders()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := store.WorkOrder{TenantID: a.ID, Type: "access", State: "draft", Title: fmt.Sprintf("临时访问 %d", i), Doc: []byte(`{}`)}
			errs <- ws.Create(ctx, &o)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(t, err)
	}
	all, err := ws.List(ctx, a.ID, store.WorkOrderFilter{Page: store.Page{Limit: 50}})
	ok(t, err)
	refs := map[string]bool{}
	for _, o := range all {
		refs[o.Ref] = true
	}
	year := time.Now().UTC().Year()
	for i := 1; i <= 6; i++ {
		if want := fmt.Sprintf("WO-%d-%04d", year, i); !refs[want] {
			t.Errorf("references %v lack %s", refs, want)
		}
	}
	ob := store.WorkOrder{TenantID: b.ID, Type: "change", State: "submitted", Title: "变更", Doc: []byte(`{"x":1}`), Due: time.Now().Add(time.Hour)}
	ok(t, ws.Create(ctx, &ob))
	if ob.Ref != fmt.Sprintf("WO-%d-0001", year) || ob.Version != 1 {
		t.Fatalf("beta's first order %+v", ob)
	}
	if _, err := ws.Get(ctx, a.ID, ob.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alpha reads beta's order: %v", err)
	}
	got, err := ws.Get(ctx, b.ID, ob.ID)
	ok(t, err)
	if string(got.Doc) != `{"x":1}` || got.Due.IsZero() {
		t.Fatalf("stored %+v", got)
	}
	stale := got
	got.State, got.Doc = "approved", []byte(`{"x":2}`)
	ok(t, ws.Update(ctx, &got))
	if got.Version != 2 {
		t.Fatalf("version %d", got.Version)
	}
	stale.State = "rejected"
	if err := ws.Update(ctx, &stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	n, err := ws.Count(ctx, b.ID, store.WorkOrderFilter{State: "approved"})
	ok(t, err)
	if n != 1 {
		t.Fatalf("approved count %d", n)
	}
	n, err = ws.Count(ctx, a.ID, store.WorkOrderFilter{State: "approved", Type: "access"})
	ok(t, err)
	if n != 0 {
		t.Fatalf("alpha approved %d", n)
	}
	other := store.WorkOrder{ID: ob.ID, TenantID: a.ID, Version: 2, Doc: []byte(`{}`)}
	if err := ws.Update(ctx, &other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alpha updates beta's order: %v", err)
	}
}
