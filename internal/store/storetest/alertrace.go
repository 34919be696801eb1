package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testAlertRaiseConcurrent raises the same detection from many writers at
// once, as several ingest or hunting nodes do: exactly one alert is
// created and it counts every raise.
func testAlertRaiseConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mkTenant(t, s, "alpha")
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	const writers, rounds = 8, 5
	for round := range rounds {
		key := fmt.Sprintf("intel:ipv4:203.0.113.%d|web-01", round)
		var wg sync.WaitGroup
		created := make(chan bool, writers)
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				al := store.Alert{TenantID: a.ID, GroupKey: key, RuleID: "intel:ipv4:203.0.113.1", RuleTitle: "IOC seen", Level: "high",
					Host: "web-01", EventIDs: []string{fmt.Sprintf("ev-%d", w)}, Count: 1, Status: "new", FirstSeen: at, LastSeen: at}
				c, err := s.Alerts().Raise(ctx, &al, time.Hour, []string{"new", "acknowledged"}, 100)
				errs <- err
				created <- c
			}()
		}
		wg.Wait()
		close(errs)
		close(created)
		for err := range errs {
			ok(t, err)
		}
		n := 0
		for c := range created {
			if c {
				n++
			}
		}
		list, err := s.Alerts().List(ctx, a.ID, store.AlertFilter{Query: "web-01", Page: store.Page{Limit: 100}})
		ok(t, err)
		var same []store.Alert
		for _, al := range list {
			if al.GroupKey == key {
				same = append(same, al)
			}
		}
		if n != 1 || len(same) != 1 || same[0].Count != writers || len(same[0].EventIDs) != writers {
			t.Fatalf("round %d: %d raises reported new, %d alerts stored for one group (want 1 with count %d): %+v", round, n, len(same), writers, same)
		}
		// The same events again (a redelivery, a second hunt of the
		// window) change nothing; a new one counts once.
		for w := range writers + 1 {
			al := store.Alert{TenantID: a.ID, GroupKey: key, RuleID: "intel:ipv4:203.0.113.1", RuleTitle: "IOC seen", Level: "high",
				Host: "web-01", EventIDs: []string{fmt.Sprintf("ev-%d", w)}, Count: 1, Status: "new", FirstSeen: at, LastSeen: at}
			c, err := s.Alerts().Raise(ctx, &al, time.Hour, []string{"new", "acknowledged"}, 100)
			ok(t, err)
			if c {
				t.Fatalf("round %d: replayed event %d created an alert", round, w)
			}
		}
		got, err := s.Alerts().Get(ctx, a.ID, same[0].ID)
		ok(t, err)
		if got.Count != writers+1 || len(got.EventIDs) != writers+1 {
			t.Fatalf("round %d: after replaying %d events and one new: count %d, %d event IDs; want %d", round, writers, got.Count, len(got.EventIDs), writers+1)
		}
	}
}
