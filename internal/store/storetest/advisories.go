package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testAdvisories checks the analyst advisory store: versions refuse a
// stale write (of two concurrent writers on one version, one wins), the
// state filter, and the newest-change-first order.
func testAdvisories(t *testing.T, s store.Store) {
	ctx := t.Context()
	as := s.Advisories()
	first := store.AnalystAdvisory{Title: "OpenSSH regreSSHion 预警", Severity: "critical", State: "draft", Doc: []byte(`{"id":"x"}`), Author: "u1"}
	ok(t, as.Create(ctx, &first))
	if first.ID == "" || first.Version != 1 || first.CreatedAt.IsZero() {
		t.Fatalf("created %+v", first)
	}
	second := store.AnalystAdvisory{Title: "Second", Severity: "high", State: "draft", Doc: []byte(`{}`)}
	ok(t, as.Create(ctx, &second))

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, title := range []string{"A", "B"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := first
			a.Title = title
			errs <- as.Update(ctx, &a)
		}()
	}
	wg.Wait()
	close(errs)
	won, lost := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrConflict):
			lost++
		default:
			t.Fatal(err)
		}
	}
	if won != 1 || lost != 1 {
		t.Fatalf("two writers on one version: %d won, %d conflicts", won, lost)
	}
	got, err := as.Get(ctx, first.ID)
	ok(t, err)
	if got.Version != 2 {
		t.Fatalf("version after one write %d", got.Version)
	}
	pub := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	got.State, got.PublishedAt, got.Doc = "published", pub, []byte(`{"id":"y"}`)
	ok(t, as.Update(ctx, &got))
	again, err := as.Get(ctx, first.ID)
	ok(t, err)
	if again.State != "published" || !again.PublishedAt.Equal(pub) || string(again.Doc) != `{"id":"y"}` || again.Version != 3 || again.Author != "u1" {
		t.Fatalf("after publishing %+v", again)
	}
	list, err := as.List(ctx, store.AdvisoryFilter{State: "published"})
	ok(t, err)
	if len(list) != 1 || list[0].ID != first.ID {
		t.Fatalf("published list %+v", list)
	}
	all, err := as.List(ctx, store.AdvisoryFilter{})
	ok(t, err)
	if len(all) != 2 || all[0].ID != first.ID {
		t.Fatalf("all, newest change first: %+v", all)
	}
	if _, err := as.Get(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing advisory: %v", err)
	}
	gone := store.AnalystAdvisory{ID: "missing", Version: 1, State: "draft", Doc: []byte(`{}`)}
	if err := as.Update(ctx, &gone); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing advisory: %v", err)
	}
}
