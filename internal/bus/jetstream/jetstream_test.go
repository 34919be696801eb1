package jetstream_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/bustest"
	"github.com/vigil-sec/vigil/internal/bus/jetstream"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// open connects a bus with a stream prefix of its own and removes the
// prefix's streams when the test ends.
func open(t testing.TB) (*jetstream.Bus, string, string) {
	t.Helper()
	url := testenv.RequireNATS(t)
	prefix := bustest.Unique("bustest_") + "_"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := jetstream.New(ctx, url, jetstream.Options{StreamPrefix: prefix})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil && !errors.Is(err, bus.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
		deleteStreams(t, url, prefix)
	})
	return b, url, prefix
}

func deleteStreams(t testing.TB, url, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	names := js.StreamNames(ctx)
	var doomed []string
	for name := range names.Name() {
		if strings.HasPrefix(name, prefix) {
			doomed = append(doomed, name)
		}
	}
	if err := names.Err(); err != nil {
		t.Errorf("cleanup: listing streams: %v", err)
	}
	for _, name := range doomed {
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, natsjs.ErrStreamNotFound) {
			t.Errorf("cleanup: deleting stream %s: %v", name, err)
		}
	}
}

func TestConformance(t *testing.T) {
	testenv.RequireNATS(t)
	bustest.Run(t, func(t *testing.T) bus.Bus {
		b, _, _ := open(t)
		return b
	})
}

// TestSettingsFromStream checks that a process which did not call
// EnsureQueue consumes with the queue's AckWait and MaxDeliver, read back
// from the stream.
func TestSettingsFromStream(t *testing.T) {
	ctx := t.Context()
	b1, url, prefix := open(t)
	const ackWait = 400 * time.Millisecond
	if err := b1.EnsureQueue(ctx, bus.QueueConfig{Name: "jobs", Subjects: []string{"jobs.>"}, AckWait: ackWait, MaxDeliver: 2}); err != nil {
		t.Fatal(err)
	}
	b2, err := jetstream.New(ctx, url, jetstream.Options{StreamPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b2.Close() }()
	if err := b2.Enqueue(ctx, "jobs", bus.Message{Subject: "jobs.scan", Data: []byte("m")}); err != nil {
		t.Fatalf("Enqueue from a process that did not ensure the queue: %v", err)
	}
	if err := b2.Enqueue(ctx, "jobs", bus.Message{Subject: "other", Data: []byte("m")}); err == nil {
		t.Fatal("Enqueue outside the queue's subjects succeeded")
	}
	var calls atomic.Int32
	var subject atomic.Value
	if _, err := b2.Consume(ctx, "jobs", bus.ConsumeOptions{}, func(_ context.Context, d bus.Delivery) error {
		calls.Add(1)
		subject.Store(d.Message().Subject)
		panic("never acks")
	}); err != nil {
		t.Fatal(err)
	}
	// Two deliveries AckWait apart, then the driver drops the message.
	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries, want 2 (AckWait %s must come from the stream)", calls.Load(), ackWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(4 * ackWait)
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d deliveries, want MaxDeliver=2", n)
	}
	if s := subject.Load(); s != "jobs.scan" {
		t.Fatalf("delivered subject %v, want jobs.scan", s)
	}
	// The dead letter was terminated, which removes it from the stream.
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := js.Stream(ctx, prefix+"jobs")
		if err != nil {
			t.Fatal(err)
		}
		if n := st.CachedInfo().State.Msgs; n == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%d messages left in the stream after the dead letter", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNewFailsWithoutServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := jetstream.New(ctx, "nats://127.0.0.1:1", jetstream.Options{}); err == nil {
		t.Fatal("New succeeded without a server")
	}
	if _, err := jetstream.New(ctx, testenv.NATSURL(), jetstream.Options{StreamPrefix: "bad.prefix"}); err == nil {
		t.Fatal("New accepted an invalid stream prefix")
	}
}

func BenchmarkEnqueueConsume(b *testing.B) {
	bs, _, _ := open(b)
	bustest.BenchmarkThroughput(b, bs)
}
