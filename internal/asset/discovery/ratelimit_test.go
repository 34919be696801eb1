package discovery

import (
	"context"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimiterTokenBucket(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := NewLimiter(10, 5, clk.now)
	for i := range 5 {
		if d := l.reserve(); d != 0 {
			t.Fatalf("burst token %d: wait %v, want 0", i, d)
		}
	}
	// The bucket is empty: callers queue at 1/rate intervals.
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		if d := l.reserve(); d != want {
			t.Fatalf("queued %d: wait %v, want %v", i, d, want)
		}
	}
	// After the queue drains and a long idle, the bucket refills to the
	// burst and no further.
	clk.advance(10 * time.Second)
	for i := range 5 {
		if d := l.reserve(); d != 0 {
			t.Fatalf("refilled token %d: wait %v, want 0", i, d)
		}
	}
	if d := l.reserve(); d != 100*time.Millisecond {
		t.Fatalf("after refill: wait %v, want 100ms", d)
	}
	// Half an interval later the next caller waits the remaining share.
	clk.advance(50 * time.Millisecond)
	if d := l.reserve(); d != 150*time.Millisecond {
		t.Fatalf("partial refill: wait %v, want 150ms", d)
	}
}

func TestLimiterWaitCancelled(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	l := NewLimiter(0.001, 1, clk.now) // one token, then ~17 minutes per token
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx); err == nil {
		t.Fatal("Wait on a cancelled context returned nil")
	}
	ctx, cancel = context.WithCancel(context.Background())
	go cancel()
	if err := l.Wait(ctx); err == nil {
		t.Fatal("Wait returned nil though the bucket is empty and ctx was cancelled")
	}
}

func TestAutoConcurrency(t *testing.T) {
	for _, c := range []struct {
		rate          float64
		timeout       time.Duration
		conns, nofile int
		want          int
	}{
		{1000, time.Second, 1, 20000, 1000},       // rate × timeout
		{20000, time.Second, 1, 20000, 16384},     // capped
		{20000, time.Second, 1, 4096, 4096 - 256}, // the open-file limit, less the reserve
		{20000, time.Second, 9, 20000, 2193},      // (20000-256)/9 with fingerprints
		{100, time.Second, 1, 20000, 256},         // at least the minimum
		{100, time.Second, 9, 1024, 85},           // the limit wins over the minimum
		{5000, 100 * time.Millisecond, 1, 1 << 20, 500},
		{1000, time.Second, 1, 100, 1}, // never zero
	} {
		if got := autoConcurrency(c.rate, c.timeout, c.conns, c.nofile); got != c.want {
			t.Errorf("autoConcurrency(%v, %v, %d, %d) = %d, want %d", c.rate, c.timeout, c.conns, c.nofile, got, c.want)
		}
	}
}
