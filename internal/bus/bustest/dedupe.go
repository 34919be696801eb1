package bustest

import (
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
)

// testMessageID checks that Enqueue drops a message whose ID the queue
// stored within its duplicate window, also once the first copy was
// consumed and acknowledged, and even when the copies race each other.
func testMessageID(t *testing.T, b bus.Bus) {
	q := mustQueue(t, b, bus.QueueConfig{AckWait: 5 * time.Second, DuplicateWindow: time.Minute})
	if err := b.Enqueue(t.Context(), q, bus.Message{ID: "has space", Data: []byte("x")}); err == nil {
		t.Error("Enqueue with a message ID holding a space succeeded")
	}
	// Eight enqueuers race with the same ID; two other IDs and two
	// messages without an ID follow, one of them with the same payload.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := b.Enqueue(t.Context(), q, bus.Message{ID: "job-a.slot-1", Data: []byte("a1")}); err != nil {
				t.Errorf("Enqueue of a duplicate: %v", err)
			}
		})
	}
	wg.Wait()
	mustEnqueue(t, b, q, bus.Message{ID: "job-a.slot-2", Data: []byte("a2")})
	mustEnqueue(t, b, q, bus.Message{ID: "job-b.slot-1", Data: []byte("b1")})
	mustEnqueue(t, b, q, bus.Message{Data: []byte("plain")})
	mustEnqueue(t, b, q, bus.Message{Data: []byte("plain")})

	l := newLedger()
	mustConsume(t, b, q, bus.ConsumeOptions{}, l.acker(t, "c"))
	waitFor(t, "four distinct payloads", func() bool { _, d := l.deliveries(); return d == 4 })
	// The acked first copy is gone from the queue; its ID is still known.
	mustEnqueue(t, b, q, bus.Message{ID: "job-a.slot-1", Data: []byte("a1")})
	mustEnqueue(t, b, q, bus.Message{ID: "job-b.slot-2", Data: []byte("b2")})
	waitFor(t, "the new ID", func() bool { _, d := l.deliveries(); return d == 5 })
	time.Sleep(500 * time.Millisecond) // room for a wrongly accepted copy to arrive
	counts := map[string]int{}
	for _, r := range l.records() {
		counts[string(r.msg.Data)]++
	}
	want := map[string]int{"a1": 1, "a2": 1, "b1": 1, "b2": 1, "plain": 2}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("payload %s delivered %d times, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	if total, _ := l.deliveries(); total != 6 {
		t.Errorf("%d deliveries, want 6: %v", total, counts)
	}
	for _, r := range l.records() {
		if r.msg.ID != "" {
			t.Errorf("delivery of %s carries ID %q; deliveries do not carry IDs", r.msg.Data, r.msg.ID)
		}
	}
}
