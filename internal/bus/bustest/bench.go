package bustest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/bus"
)

// BenchmarkThroughput measures enqueue plus consume throughput on b: four
// producers enqueue b.N messages of 256 bytes while a consumer with eight
// handlers acks them. It reports msgs/s and asserts nothing about speed.
func BenchmarkThroughput(b *testing.B, bs bus.Bus) {
	const producers, handlers = 4, 8
	ctx := context.Background()
	q := Unique("bench")
	if err := bs.EnsureQueue(ctx, bus.QueueConfig{Name: q, AckWait: time.Minute}); err != nil {
		b.Fatal(err)
	}
	var acked atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	sub, err := bs.Consume(ctx, q, bus.ConsumeOptions{Concurrency: handlers}, func(ctx context.Context, d bus.Delivery) error {
		if err := d.Ack(ctx); err != nil {
			return err
		}
		if acked.Add(1) == target {
			close(done)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Stop() }()
	body := make([]byte, 256)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for p := range producers {
		n := b.N / producers
		if p == 0 {
			n += b.N % producers
		}
		wg.Go(func() {
			for range n {
				if err := bs.Enqueue(ctx, q, bus.Message{Data: body}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(time.Minute + 10*time.Second):
		b.Fatalf("only %d of %d messages acked", acked.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
