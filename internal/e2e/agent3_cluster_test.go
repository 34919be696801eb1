package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestWorkerKilledMidBatchStoresOnce: two worker nodes on one PostgreSQL
// database consume the same JetStream queue of event batches (as agents'
// events carry ids that stay the same on every resend) and store them
// through the node's pipeline. One node dies in the middle of a batch: it
// has stored half of it and never acknowledges it. JetStream hands the
// batch to the other node after the ack wait, which stores it again; every
// event ends up stored exactly once, none lost.
//
// The node's HTTP ingest stores events directly today; this is the
// failure the queue-and-idempotent-store design must survive once ingest
// and workers are split over JetStream.
func TestWorkerKilledMidBatchStoresOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped in -short mode")
	}
	pgURL := testenv.RequirePostgres(t)
	natsURL := testenv.RequireNATS(t)
	ctx := context.Background()
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "vigil_agent3_" + hex.EncodeToString(suffix)
	dbURL, err := postgres.CreateDatabase(ctx, pgURL, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), pgURL, name) })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := config.Default()
	cfg.DB, cfg.Bus = dbURL, natsURL
	cfg.BusPrefix = "A3" + hex.EncodeToString(suffix)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	open := func() *app.App {
		c := cfg
		c.DataDir = t.TempDir()
		c.Role = config.RoleWorker
		a, err := app.Open(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	nodeA, nodeB := open(), open()
	defer func() { _ = nodeB.Close() }()

	tn := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := nodeA.Store.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	const queue, batches, perBatch = "agent3-events", 30, 20
	if err := nodeA.Bus.EnsureQueue(ctx, bus.QueueConfig{Name: queue, AckWait: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for b := range batches {
		evs := make([]logs.Event, perBatch)
		for i := range evs {
			id, _ := uuid.NewV7()
			msg := fmt.Sprintf("batch %d line %d", b, i)
			evs[i] = logs.Event{ID: id.String(), Tenant: tn.ID, Time: now, Received: now, Source: "agent", Format: "raw",
				Fields: map[string]any{"message": msg, "host.name": "web-01"}, Original: msg}
		}
		body, err := json.Marshal(evs)
		if err != nil {
			t.Fatal(err)
		}
		if err := nodeA.Bus.Enqueue(ctx, queue, bus.Message{Subject: queue, Data: body}); err != nil {
			t.Fatal(err)
		}
	}
	decode := func(d bus.Delivery) ([]logs.Event, error) {
		var evs []logs.Event
		err := json.Unmarshal(d.Message().Data, &evs)
		return evs, err
	}

	// Node A dies on its third batch, half of it stored.
	killed, release := make(chan []logs.Event, 1), make(chan struct{})
	var seenA atomic.Int64
	actx, stopA := context.WithCancel(ctx)
	subA, err := nodeA.Bus.Consume(actx, queue, bus.ConsumeOptions{Group: "workers"}, func(hctx context.Context, d bus.Delivery) error {
		evs, err := decode(d)
		if err != nil {
			return err
		}
		if seenA.Add(1) != 3 {
			return nodeA.Pipeline.Write(hctx, evs)
		}
		if err := nodeA.Pipeline.Write(hctx, evs[:perBatch/2]); err != nil {
			return err
		}
		killed <- evs
		stopA() // the node takes nothing more
		<-release
		return errors.New("killed")
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu          sync.Mutex
		redelivered bool
	)
	var victim []logs.Event
	subB, err := nodeB.Bus.Consume(ctx, queue, bus.ConsumeOptions{Group: "workers", Concurrency: 2}, func(hctx context.Context, d bus.Delivery) error {
		evs, err := decode(d)
		if err != nil {
			return err
		}
		if err := nodeB.Pipeline.Write(hctx, evs); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if d.Attempt() > 1 && len(evs) > 0 && victim != nil && evs[0].ID == victim[0].ID {
			redelivered = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = subB.Stop() }()

	select {
	case evs := <-killed:
		mu.Lock()
		victim = evs
		mu.Unlock()
	case <-time.After(60 * time.Second):
		t.Fatal("node A never reached its third batch")
	}
	want := batches * perBatch
	deadline := time.Now().Add(90 * time.Second)
	for {
		n, err := nodeB.Store.Events().Count(ctx, tn.ID, store.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		done := redelivered
		mu.Unlock()
		if n >= want && done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events stored; the killed batch redelivered: %v", n, want, done)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Nothing more arrives: the count is exact, and every event of the
	// killed batch is there once.
	time.Sleep(3 * time.Second)
	n, err := nodeB.Store.Events().Count(ctx, tn.ID, store.EventQuery{})
	if err != nil || n != want {
		t.Fatalf("%d events stored, want %d (%v)", n, want, err)
	}
	for _, e := range victim {
		hits, err := nodeB.Store.Events().Count(ctx, tn.ID, store.EventQuery{Terms: []store.FieldTerm{{Field: "message", Value: e.Fields["message"].(string)}}})
		if err != nil || hits != 1 {
			t.Fatalf("event %q of the killed batch stored %d times (%v)", e.Fields["message"], hits, err)
		}
	}
	if sa, sb := nodeA.Pipeline.Stats().Stored, nodeB.Pipeline.Stats().Stored; sa+sb != int64(want) || sa < perBatch/2 {
		t.Fatalf("stored by A %d + by B %d, want %d with A's half batch", sa, sb, want)
	}
	close(release)
	_ = subA.Stop()
	_ = nodeA.Close()
}
