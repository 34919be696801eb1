package inproc_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/inproc"
)

// TestDuplicateWindowExpires: once the window has passed, a message with
// an ID seen before is stored again.
func TestDuplicateWindowExpires(t *testing.T) {
	ctx := t.Context()
	b := open(t, inproc.Options{})
	const window = 50 * time.Millisecond
	if err := b.EnsureQueue(ctx, bus.QueueConfig{Name: "q", DuplicateWindow: window}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := b.Enqueue(ctx, "q", bus.Message{ID: "same", Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * window)
	if err := b.Enqueue(ctx, "q", bus.Message{ID: "same", Data: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	sub, err := b.Consume(ctx, "q", bus.ConsumeOptions{}, func(_ context.Context, d bus.Delivery) error {
		got <- string(d.Message().Data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for len(seen) < 2 {
		select {
		case s := <-got:
			seen = append(seen, s)
		case <-time.After(10 * time.Second):
			t.Fatalf("deliveries %v, want x and y", seen)
		}
	}
	if err := sub.Stop(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 || seen[0] != "x" || seen[1] != "y" {
		t.Fatalf("deliveries %v and %d more, want x then y", seen, len(got))
	}
}
