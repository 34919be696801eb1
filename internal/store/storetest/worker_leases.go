package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testPartitionLeases: nodes share the partitions fairly, never hold one
// together, take over a silent node's share once its lease ran out, and a
// released share is taken at once.
func testPartitionLeases(t *testing.T, s store.Store) {
	pl, ok := s.(store.PartitionLeaser)
	if !ok {
		t.Skip("store shares no partitions")
	}
	ctx := context.Background()
	const total, ttl = 5, 10 * time.Second
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	balance := func(node string, at time.Time) []int {
		t.Helper()
		got, err := pl.BalancePartitions(ctx, node, total, ttl, at)
		if err != nil {
			t.Fatalf("balance %s: %v", node, err)
		}
		return got
	}
	disjoint := func(a, b []int) {
		t.Helper()
		for _, n := range a {
			if slices.Contains(b, n) {
				t.Fatalf("partition %d held by two nodes: %v and %v", n, a, b)
			}
		}
	}
	if a := balance("a", now); len(a) != total {
		t.Fatalf("a single node holds %v, want all %d", a, total)
	}
	// b joins: a gives up what is over its share, b takes it.
	b := balance("b", now.Add(time.Second))
	disjoint(balance("a", now.Add(time.Second)), b)
	b = balance("b", now.Add(2*time.Second))
	a := balance("a", now.Add(2*time.Second))
	disjoint(a, b)
	if len(a)+len(b) != total || len(a) > 3 || len(b) > 3 {
		t.Fatalf("shares a %v b %v, want 3 and 2 of %d", a, b, total)
	}
	// a goes silent: before its lease ends b keeps its share, after it b takes all.
	if got := balance("b", now.Add(5*time.Second)); !slices.Equal(got, b) {
		t.Fatalf("b took %v while a's lease runs, had %v", got, b)
	}
	if got := balance("b", now.Add(13*time.Second)); len(got) != total {
		t.Fatalf("b holds %v after a's lease ended, want all", got)
	}
	// a comes back: it gets no partition until b handed its excess over.
	a = balance("a", now.Add(14*time.Second))
	if len(a) != 0 {
		t.Fatalf("a took %v that b still leases", a)
	}
	b = balance("b", now.Add(15*time.Second))
	a = balance("a", now.Add(15*time.Second))
	disjoint(a, b)
	if len(a)+len(b) != total {
		t.Fatalf("after rebalance a %v b %v", a, b)
	}
	// b leaves cleanly: a takes everything at once.
	if err := pl.ReleasePartitions(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if got := balance("a", now.Add(16*time.Second)); len(got) != total {
		t.Fatalf("a holds %v after b released, want all", got)
	}
	if _, err := pl.BalancePartitions(ctx, "", total, ttl, now); err == nil {
		t.Fatal("empty node name accepted")
	}
	if _, err := pl.BalancePartitions(ctx, "a", store.MaxPartitions+1, ttl, now); err == nil {
		t.Fatal("too many partitions accepted")
	}
	if err := pl.ReleasePartitions(ctx, "a"); err != nil {
		t.Fatal(err)
	}
}
