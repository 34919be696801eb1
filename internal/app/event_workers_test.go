package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
)

// The correlation of the partition test: corrThreshold failed logons on
// one host within an hour.
const (
	corrThreshold = 12
	partFailed    = `title: Failed logon
id: 7b2d1e4f-3a5c-4d9b-8f0e-000000000001
name: part_failed_logon
level: low
logsource: {product: linux, service: sshd}
detection:
  keywords: ['Failed password']
  condition: keywords
`
	partCorrID = "7b2d1e4f-3a5c-4d9b-8f0e-000000000002"
)

var partCorr = `title: Repeated failed logons across workers
id: ` + partCorrID + `
level: high
correlation:
  type: event_count
  rules: [part_failed_logon]
  group-by: [host.name]
  timespan: 1h
  condition: {gte: ` + strconv.Itoa(corrThreshold) + `}
`

// startClusterNode opens and serves a node of role on the cluster's
// database and bus, each node on a bus connection of its own.
func (e clusterEnv) startClusterNode(t *testing.T, name string, role string, rulesDir string, key string) (*App, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.Role, cfg.DB, cfg.Bus, cfg.BusPrefix = role, e.dbURL, e.natsURL, e.prefix
	cfg.DataDir, cfg.NodeID, cfg.RulesDir, cfg.SecretKey = t.TempDir(), name, rulesDir, key
	cfg.Addr = "127.0.0.1:0"
	a, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	a.partitionLease = 2 * time.Second
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- a.Serve(ctx, func(string) { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("node %s: %v", name, err)
	case <-time.After(time.Minute):
		t.Fatalf("node %s not ready within a minute", name)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return a, stop
}

// waitUntil polls cond for at most a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within a minute: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCorrelationAcrossWorkers runs two worker nodes and two ingest
// nodes on PostgreSQL and JetStream, each on a bus connection of its own.
// An event_count correlation's events, sent in small batches alternately
// through the ingest nodes' HTTP path and syslog path, raise exactly one
// alert although two workers consume the queue: the tenant's partition
// keeps them on one worker. Then the worker holding the partition stops
// mid-stream without giving its lease up, as when its process dies; the
// other takes the partition over once the lease ran out, rebuilds the
// correlation from the stored events, and the next correlation also
// fires exactly once.
func TestCorrelationAcrossWorkers(t *testing.T) {
	env := newClusterEnv(t)
	rules := t.TempDir()
	for name, body := range map[string]string{"failed.yml": partFailed, "corr.yml": partCorr} {
		if err := os.WriteFile(filepath.Join(rules, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	key := base64.StdEncoding.EncodeToString(k)
	w1, _ := env.startClusterNode(t, "worker-1", config.RoleWorker, rules, key)
	w2, _ := env.startClusterNode(t, "worker-2", config.RoleWorker, rules, key)
	in1, _ := env.startClusterNode(t, "ingest-1", config.RoleIngest, rules, key)
	in2, _ := env.startClusterNode(t, "ingest-2", config.RoleIngest, rules, key)
	workers := []*App{w1, w2}
	ctx := t.Context()
	ten := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := w1.Store.Tenants().Create(ctx, &ten); err != nil {
		t.Fatal(err)
	}

	// Both workers hold a share: the partitions are split between them.
	held := func(a *App) []int {
		if w := a.eventWorker.Load(); w != nil {
			return w.held()
		}
		return nil
	}
	waitUntil(t, "the partitions shared by both workers", func() bool {
		h1, h2 := held(w1), held(w2)
		return len(h1) > 0 && len(h2) > 0 && len(h1)+len(h2) == pipeline.DefaultPartitions
	})
	p := pipeline.Partition(ten.ID, pipeline.DefaultPartitions)

	auto, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	// send ships n failed logons on host in batches of two, alternately
	// through the HTTP ingest path of one ingest node and the syslog path
	// of the other.
	send := func(host string, n int) {
		t.Helper()
		for i := 0; i < n; i += 2 {
			var batch []logs.Event
			for j := i; j < min(i+2, n); j++ {
				sent++
				line := fmt.Sprintf("<38>%s %s sshd[%d]: Failed password for invalid user u%d from 203.0.113.%d port %d ssh2",
					time.Now().UTC().Format(time.RFC3339), host, 1000+sent, sent, sent%250+1, 40000+sent)
				ev, err := logs.ParseRecord(auto, []byte(line), logs.Meta{Source: "test", Tenant: ten.ID}, false)
				if err != nil {
					t.Fatal(err)
				}
				batch = append(batch, ev)
			}
			var err error
			if (i/2)%2 == 0 {
				err = in1.ingestSink(false).Write(ctx, batch)
			} else {
				err = in2.ingestSink(true).Write(ctx, batch)
			}
			if err != nil {
				t.Fatalf("ingest: %v", err)
			}
		}
	}
	stored := func() int {
		n, err := w1.Store.Events().Count(ctx, ten.ID, store.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	corrAlerts := func(host string) int {
		as, err := w1.Store.Alerts().List(ctx, ten.ID, store.AlertFilter{RuleID: partCorrID})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range as {
			if a.Host == "host.name="+host {
				n++
			}
		}
		return n
	}

	// Both workers up: one alert.
	send("web-01", corrThreshold)
	waitUntil(t, "the first burst stored", func() bool { return stored() == corrThreshold })
	waitUntil(t, "the correlation alert of web-01", func() bool { return corrAlerts("web-01") > 0 })
	if n := corrAlerts("web-01"); n != 1 {
		t.Fatalf("%d correlation alerts for web-01, want 1", n)
	}

	// The holder of the tenant's partition dies mid-stream.
	var holder, other *App
	for i, w := range workers {
		for _, q := range held(w) {
			if q == p {
				holder, other = w, workers[1-i]
			}
		}
	}
	if holder == nil {
		t.Fatalf("no worker holds partition %d", p)
	}
	half := corrThreshold / 2
	send("web-02", half)
	waitUntil(t, "part of the second burst stored", func() bool { return stored() >= corrThreshold+half/2 })
	if err := holder.eventWorker.Load().stop(false); err != nil {
		t.Fatal(err)
	}
	send("web-02", corrThreshold-half)
	waitUntil(t, "the partition taken over", func() bool { return len(held(other)) == pipeline.DefaultPartitions })
	waitUntil(t, "the second burst stored", func() bool { return stored() == 2*corrThreshold })
	waitUntil(t, "the correlation alert of web-02", func() bool { return corrAlerts("web-02") > 0 })
	// Whatever was in flight has settled: the queue is empty.
	waitUntil(t, "the events queue drained", func() bool {
		return streamMessages(t, env.natsURL, env.prefix+EventsQueue) == 0
	})
	if n1, n2 := corrAlerts("web-01"), corrAlerts("web-02"); n1 != 1 || n2 != 1 {
		t.Fatalf("correlation alerts web-01 %d, web-02 %d; want 1 each", n1, n2)
	}
}

// streamMessages is how many messages a JetStream stream holds.
func streamMessages(t *testing.T, url, stream string) uint64 {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().State.Msgs
}

// TestHandoverWaitsForBatches: a worker that gives a partition up, in a
// rebalance or a clean shutdown, keeps its lease until the partition's
// batches in flight are stored, so that the next holder's replay reads
// them. A batch of the tenant's partition is held in flight by a hook;
// meanwhile the lease stays with the worker (the other takes the rest of
// its share) for twice the lease time, and passes on once it is let go.
func TestHandoverWaitsForBatches(t *testing.T) {
	env := newClusterEnv(t)
	rules := t.TempDir()
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	key := base64.StdEncoding.EncodeToString(k)
	w1, _ := env.startClusterNode(t, "worker-1", config.RoleWorker, rules, key)
	in, _ := env.startClusterNode(t, "ingest-1", config.RoleIngest, rules, key)
	ctx := t.Context()
	held := func(a *App) []int {
		if w := a.eventWorker.Load(); w != nil {
			return w.held()
		}
		return nil
	}
	waitUntil(t, "worker-1 holding every partition", func() bool { return len(held(w1)) == pipeline.DefaultPartitions })
	// A tenant on a partition a rebalance moves: the highest numbers go.
	var ten store.Tenant
	for i := 0; ; i++ {
		ten = store.Tenant{Slug: fmt.Sprintf("t%d", i), Name: "T"}
		if err := w1.Store.Tenants().Create(ctx, &ten); err != nil {
			t.Fatal(err)
		}
		if pipeline.Partition(ten.ID, pipeline.DefaultPartitions) >= pipeline.DefaultPartitions/2 {
			break
		}
	}
	p := pipeline.Partition(ten.ID, pipeline.DefaultPartitions)
	owner := func() string {
		var o string
		if err := env.admin.QueryRowContext(ctx, `SELECT owner FROM event_worker_leases WHERE n = $1`, p).Scan(&o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	auto, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	send := func() {
		t.Helper()
		sent++
		line := fmt.Sprintf("<38>%s web-01 sshd[%d]: Accepted password for u%d", time.Now().UTC().Format(time.RFC3339), 1000+sent, sent)
		ev, err := logs.ParseRecord(auto, []byte(line), logs.Meta{Source: "test", Tenant: ten.ID}, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.ingestSink(false).Write(ctx, []logs.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	stored := func() int {
		n, err := w1.Store.Events().Count(ctx, ten.ID, store.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// block holds the first batch of partition p that w handles until
	// the returned release is called; entered is closed when it arrives.
	block := func(w *eventWorker) (entered chan struct{}, release func()) {
		entered, let := make(chan struct{}), make(chan struct{})
		var once sync.Once
		f := func(q int) {
			if q != p {
				return
			}
			first := false
			once.Do(func() { first = true; close(entered) })
			if first {
				<-let
			}
		}
		w.beforeStore.Store(&f)
		var letOnce sync.Once
		release = func() { letOnce.Do(func() { close(let) }) }
		t.Cleanup(release) // a failed test must not leave the node stuck
		return entered, release
	}
	// holdsOn checks for twice the lease time that keeper keeps the lease
	// of p and other does not consume it.
	holdsOn := func(keeper string, other *App) {
		t.Helper()
		end := time.Now().Add(2 * w1.partitionLease)
		for time.Now().Before(end) {
			if o := owner(); o != keeper {
				t.Fatalf("partition %d leased to %q while %s had a batch of it in flight", p, o, keeper)
			}
			if other != nil && slices.Contains(held(other), p) {
				t.Fatalf("partition %d consumed by another worker while %s had a batch of it in flight", p, keeper)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Rebalance: worker-2 joins while worker-1 has a batch of p in flight.
	entered, release := block(w1.eventWorker.Load())
	send()
	<-entered
	w2, _ := env.startClusterNode(t, "worker-2", config.RoleWorker, rules, key)
	waitUntil(t, "worker-2 taking the rest of its share", func() bool {
		return len(held(w2)) >= pipeline.DefaultPartitions/2-1
	})
	holdsOn("worker-1", w2)
	release()
	waitUntil(t, "worker-2 taking the partition over", func() bool { return slices.Contains(held(w2), p) })
	if n := stored(); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
	if o := owner(); o != "worker-2" {
		t.Fatalf("partition %d leased to %q after the handover, want worker-2", p, o)
	}

	// Clean shutdown: worker-2 stops while it has a batch of p in flight.
	w1.eventWorker.Load().beforeStore.Store(nil)
	ww2 := w2.eventWorker.Load()
	entered, release = block(ww2)
	send()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- ww2.stop(true) }()
	holdsOn("worker-2", w1)
	release()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if n := stored(); n != 2 {
		t.Fatalf("%d events stored when worker-2 stopped, want 2", n)
	}
	if o := owner(); o != "" {
		t.Fatalf("partition %d leased to %q after worker-2 stopped", p, o)
	}
	waitUntil(t, "worker-1 holding every partition again", func() bool { return len(held(w1)) == pipeline.DefaultPartitions })
}
