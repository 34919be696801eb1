package jetstream_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
)

// TestFilteredGroups: two groups with disjoint filters share one
// work-queue stream, each receiving only its subjects, in order and one
// at a time under MaxAckPending 1; the unfiltered group they replace is
// deleted first.
func TestFilteredGroups(t *testing.T) {
	b, _, _ := open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.EnsureQueue(ctx, bus.QueueConfig{Name: "parts", Subjects: []string{"ev.>"}, AckWait: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	// An unfiltered group blocks filtered ones on a work queue until it is gone.
	old, err := b.Consume(ctx, "parts", bus.ConsumeOptions{Group: "all"}, func(context.Context, bus.Delivery) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	_ = old.Stop()
	if err := b.DeleteGroup(ctx, "parts", "all"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteGroup(ctx, "parts", "all"); err != nil {
		t.Fatalf("deleting a missing group: %v", err)
	}
	const n = 20
	for i := range n {
		for _, p := range []string{"p0", "p1"} {
			if err := b.Enqueue(ctx, "parts", bus.Message{Subject: "ev." + p + ".t", Data: []byte{byte(i)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	got := map[string][]byte{}
	inflight := map[string]int{}
	overlap := false
	done := make(chan struct{}, 2*n)
	for _, p := range []string{"p0", "p1"} {
		sub, err := b.Consume(ctx, "parts", bus.ConsumeOptions{Group: "g-" + p, Filter: "ev." + p + ".>", Concurrency: 4, MaxAckPending: 1},
			func(_ context.Context, d bus.Delivery) error {
				m := d.Message()
				mu.Lock()
				inflight[p]++
				if inflight[p] > 1 {
					overlap = true
				}
				if m.Subject != "ev."+p+".t" {
					t.Errorf("group %s got %s", p, m.Subject)
				}
				got[p] = append(got[p], m.Data[0])
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				inflight[p]--
				mu.Unlock()
				done <- struct{}{}
				return nil
			})
		if err != nil {
			t.Fatalf("consume %s: %v", p, err)
		}
		defer sub.Stop()
	}
	for range 2 * n {
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatalf("only part of the messages arrived: %v", got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if overlap {
		t.Error("a group ran two handlers at once under MaxAckPending 1")
	}
	for _, p := range []string{"p0", "p1"} {
		if len(got[p]) != n {
			t.Fatalf("group %s got %d messages, want %d", p, len(got[p]), n)
		}
		for i, v := range got[p] {
			if int(v) != i {
				t.Fatalf("group %s out of order: %v", p, got[p])
			}
		}
	}
}
