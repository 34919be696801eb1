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
	testPartitionHandover(t, s, now.Add(time.Minute))
}

// testPartitionHandover: a node over its share keeps the surplus until it
// gives each partition up itself, and only then may another take it.
func testPartitionHandover(t *testing.T, s store.Store, now time.Time) {
	ph, ok := s.(store.PartitionHandover)
	if !ok {
		return
	}
	ctx := context.Background()
	const total, ttl = 5, 10 * time.Second
	keep := func(node string, at time.Time) (held, surplus []int) {
		t.Helper()
		held, surplus, err := ph.KeepPartitions(ctx, node, total, ttl, at)
		if err != nil {
			t.Fatalf("keep %s: %v", node, err)
		}
		return held, surplus
	}
	if a, sur := keep("a", now); len(a) != total || len(sur) != 0 {
		t.Fatalf("a single node holds %v surplus %v, want all and none", a, sur)
	}
	if b, _ := keep("b", now.Add(time.Second)); len(b) != 0 {
		t.Fatalf("b took %v that a holds", b)
	}
	a, sur := keep("a", now.Add(2*time.Second))
	if len(a) != total || len(sur) != 2 || !slices.Equal(sur, a[len(a)-2:]) {
		t.Fatalf("a holds %v surplus %v, want all and its highest 2", a, sur)
	}
	if b, _ := keep("b", now.Add(3*time.Second)); len(b) != 0 {
		t.Fatalf("b took %v before a gave its surplus up", b)
	}
	if err := ph.ReleasePartition(ctx, "b", sur[0]); err != nil { // not b's: nothing happens
		t.Fatal(err)
	}
	if b, _ := keep("b", now.Add(4*time.Second)); len(b) != 0 {
		t.Fatalf("b took %v after releasing a partition it did not hold", b)
	}
	for _, n := range sur {
		if err := ph.ReleasePartition(ctx, "a", n); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := keep("b", now.Add(5*time.Second))
	if !slices.Equal(b, sur) {
		t.Fatalf("b holds %v after a gave up %v", b, sur)
	}
	if a, sur := keep("a", now.Add(6*time.Second)); len(a) != total-len(b) || len(sur) != 0 {
		t.Fatalf("a holds %v surplus %v after the handover", a, sur)
	}
	for _, n := range []string{"a", "b"} {
		if err := ph.ReleasePartitions(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
}
