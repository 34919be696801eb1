package inproc_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/bustest"
	"github.com/vigil-sec/vigil/internal/bus/inproc"
)

func open(t testing.TB, opts inproc.Options) *inproc.Bus {
	t.Helper()
	b, err := inproc.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil && !errors.Is(err, bus.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func TestConformanceMemory(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bus.Bus { return open(t, inproc.Options{}) })
}

func TestConformanceSQLite(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bus.Bus {
		return open(t, inproc.Options{Path: filepath.Join(t.TempDir(), "bus.db")})
	})
}

// TestRestart checks that a file-backed queue keeps its configuration, its
// pending messages and their delivery counts across a restart.
func TestRestart(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "bus.db")
	const ackWait = 300 * time.Millisecond

	b1 := open(t, inproc.Options{Path: path})
	if err := b1.EnsureQueue(ctx, bus.QueueConfig{Name: "jobs", Subjects: []string{"jobs.>"}, AckWait: ackWait, MaxDeliver: 5}); err != nil {
		t.Fatal(err)
	}
	if err := b1.Enqueue(ctx, "jobs", bus.Message{Subject: "jobs.scan", Data: []byte("first"), Header: map[string]string{"Tenant": "t1"}}); err != nil {
		t.Fatal(err)
	}
	// Take the message and die holding it.
	held := make(chan string, 1)
	c, err := b1.Consume(ctx, "jobs", bus.ConsumeOptions{}, func(_ context.Context, d bus.Delivery) error {
		held <- string(d.Message().Data)
		panic("process dies while holding the message")
	})
	if err != nil {
		t.Fatal(err)
	}
	var first string
	select {
	case first = <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery before the restart")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// A message that was never delivered.
	if err := b1.Enqueue(ctx, "jobs", bus.Message{Subject: "jobs.scan", Data: []byte("second")}); err != nil {
		t.Fatal(err)
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := open(t, inproc.Options{Path: path})
	type got struct {
		data    string
		attempt int
		header  map[string]string
	}
	var mu sync.Mutex
	var deliveries []got
	if _, err := b2.Consume(ctx, "jobs", bus.ConsumeOptions{}, func(ctx context.Context, d bus.Delivery) error {
		mu.Lock()
		deliveries = append(deliveries, got{string(d.Message().Data), d.Attempt(), d.Message().Header})
		mu.Unlock()
		return d.Ack(ctx)
	}); err != nil {
		t.Fatalf("Consume after restart (queue config must persist): %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(deliveries)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d of 2 messages after the restart", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range deliveries {
		wantAttempt := 1
		if d.data == first {
			wantAttempt = 2 // leased once before the restart
		}
		if d.attempt != wantAttempt {
			t.Errorf("%q delivered with attempt %d, want %d", d.data, d.attempt, wantAttempt)
		}
		if d.data == "first" && d.header["Tenant"] != "t1" {
			t.Errorf("header lost across the restart: %v", d.header)
		}
	}
}

// TestDeadLetters checks that messages beyond MaxDeliver are kept.
func TestDeadLetters(t *testing.T) {
	for name, opts := range map[string]func(t *testing.T) inproc.Options{
		"memory": func(*testing.T) inproc.Options { return inproc.Options{} },
		"sqlite": func(t *testing.T) inproc.Options { return inproc.Options{Path: filepath.Join(t.TempDir(), "bus.db")} },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := open(t, opts(t))
			if err := b.EnsureQueue(ctx, bus.QueueConfig{Name: "q", MaxDeliver: 2}); err != nil {
				t.Fatal(err)
			}
			if err := b.Enqueue(ctx, "q", bus.Message{Data: []byte("poison"), Header: map[string]string{"K": "v"}}); err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			if _, err := b.Consume(ctx, "q", bus.ConsumeOptions{}, func(ctx context.Context, d bus.Delivery) error {
				calls.Add(1)
				return d.Nak(ctx, 0)
			}); err != nil {
				t.Fatal(err)
			}
			var dead []inproc.DeadLetter
			deadline := time.Now().Add(10 * time.Second)
			for len(dead) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no dead letter")
				}
				time.Sleep(10 * time.Millisecond)
				var err error
				if dead, err = b.DeadLetters(ctx, "q"); err != nil {
					t.Fatal(err)
				}
			}
			d := dead[0]
			if len(dead) != 1 || string(d.Message.Data) != "poison" || d.Message.Header["K"] != "v" || d.Attempts != 2 || d.Reason == "" {
				t.Fatalf("dead letters %+v", dead)
			}
			if n := calls.Load(); n != 2 {
				t.Fatalf("handler ran %d times, want 2", n)
			}
		})
	}
}

// TestSlowSubscriberDrops checks that a stuck subscriber cannot block
// Publish: its events beyond the buffer are dropped and counted.
func TestSlowSubscriberDrops(t *testing.T) {
	ctx := t.Context()
	b := open(t, inproc.Options{EventBuffer: 4})
	release := make(chan struct{})
	var stuck, fast atomic.Int32
	if _, err := b.Subscribe(ctx, "ev", func(context.Context, bus.Message) {
		stuck.Add(1)
		<-release
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "ev", func(context.Context, bus.Message) { fast.Add(1) }); err != nil {
		t.Fatal(err)
	}
	defer close(release)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			if err := b.Publish(ctx, bus.Message{Subject: "ev"}); err != nil {
				t.Error(err)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a stuck subscriber")
	}
	if b.DroppedEvents() == 0 {
		t.Fatal("no event was dropped for the stuck subscriber")
	}
	if got := b.DroppedEvents() + uint64(stuck.Load()) + uint64(4); got < 100 {
		t.Fatalf("dropped %d, delivered %d: events are unaccounted for", b.DroppedEvents(), stuck.Load())
	}
}

func BenchmarkEnqueueConsume(b *testing.B) {
	for name, opts := range map[string]func(b *testing.B) inproc.Options{
		"memory": func(*testing.B) inproc.Options { return inproc.Options{} },
		"sqlite": func(b *testing.B) inproc.Options { return inproc.Options{Path: filepath.Join(b.TempDir(), "bus.db")} },
	} {
		b.Run(name, func(b *testing.B) {
			bustest.BenchmarkThroughput(b, open(b, opts(b)))
		})
	}
}
