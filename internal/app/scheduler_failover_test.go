package app

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/bus"
	"github.com/vigil-sec/vigil/internal/bus/jetstream"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// clusterEnv is a PostgreSQL database and a JetStream stream prefix of a
// test's own, removed when it ends.
type clusterEnv struct {
	dbURL, natsURL, prefix string
	admin                  *sql.DB
}

func newClusterEnv(t *testing.T) clusterEnv {
	t.Helper()
	pgURL := testenv.RequirePostgres(t)
	natsURL := testenv.RequireNATS(t)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "vigil_sched_" + hex.EncodeToString(suffix)
	dbURL, err := postgres.CreateDatabase(t.Context(), pgURL, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), pgURL, name) })
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	prefix := "sched" + hex.EncodeToString(suffix)
	t.Cleanup(func() { deleteStreams(t, natsURL, prefix) })
	return clusterEnv{dbURL: dbURL, natsURL: natsURL, prefix: prefix, admin: admin}
}

// deleteStreams removes the streams whose names start with prefix.
func deleteStreams(t *testing.T, url, prefix string) {
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
	for n := range names.Name() {
		if strings.HasPrefix(n, prefix) {
			doomed = append(doomed, n)
		}
	}
	for _, n := range doomed {
		if err := js.DeleteStream(ctx, n); err != nil && !errors.Is(err, natsjs.ErrStreamNotFound) {
			t.Errorf("cleanup: delete stream %s: %v", n, err)
		}
	}
}

// killLeader ends the database session that holds the scheduler's
// leadership, as the server does when the leader's process dies, and
// returns when.
func (e clusterEnv) killLeader(t *testing.T) time.Time {
	t.Helper()
	var pid int
	err := e.admin.QueryRowContext(t.Context(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1::text, 0)`, "vigil.leader|"+SchedulerLeader).Scan(&pid)
	if err != nil {
		t.Fatalf("find the leader's session: %v", err)
	}
	killed := time.Now()
	if _, err := e.admin.ExecContext(t.Context(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	return killed
}

// slotLedger counts job executions per job and slot.
type slotLedger struct {
	mu    sync.Mutex
	count map[string]int // job@slot
	order []string
}

func (l *slotLedger) handle(_ context.Context, d bus.Delivery) error {
	m := d.Message()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := m.Subject + "@" + m.Header[SlotHeader]
	if l.count[k] == 0 {
		l.order = append(l.order, k)
	}
	l.count[k]++
	return nil
}

func (l *slotLedger) snapshot() (map[string]int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.count))
	total := 0
	for k, n := range l.count {
		out[k] = n
		total += n
	}
	return out, total
}

// consumeJobs runs the test's worker: it counts every job of the queue.
func (e clusterEnv) consumeJobs(t *testing.T) *slotLedger {
	t.Helper()
	b, err := jetstream.New(t.Context(), e.natsURL, jetstream.Options{StreamPrefix: e.prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := b.EnsureQueue(t.Context(), jobsQueueConfig()); err != nil {
		t.Fatal(err)
	}
	l := &slotLedger{count: map[string]int{}}
	sub, err := b.Consume(t.Context(), JobsQueue, bus.ConsumeOptions{Group: "workers", Concurrency: 4}, l.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Stop() })
	return l
}

// schedulerNode is one in-process node of role scheduler.
type schedulerNode struct {
	name   string
	app    *App
	cancel context.CancelFunc
	done   chan error
}

func (e clusterEnv) startSchedulerNode(t *testing.T, name string) *schedulerNode {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := config.Default()
	cfg.Role, cfg.DB, cfg.Bus, cfg.BusPrefix = config.RoleScheduler, e.dbURL, e.natsURL, e.prefix
	cfg.DataDir, cfg.NodeID = t.TempDir(), name
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	a, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	n := &schedulerNode{name: name, app: a, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() { n.done <- a.Serve(ctx, func(string) { close(ready) }) }()
	select {
	case <-ready:
	case err := <-n.done:
		t.Fatalf("node %s: %v", name, err)
	case <-time.After(time.Minute):
		t.Fatalf("node %s not ready within a minute", name)
	}
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *schedulerNode) leads() bool { return n.app.Scheduler.Status().Leader }

func (n *schedulerNode) stop(t *testing.T) {
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("node %s: %v", n.name, err)
		}
		n.done <- nil // a second stop returns at once
	case <-time.After(time.Minute):
		t.Errorf("node %s did not stop within a minute", n.name)
	}
}

// waitLeader waits until exactly one of nodes leads and returns it.
func waitLeader(t *testing.T, nodes ...*schedulerNode) *schedulerNode {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // generous: takeover is expected within seconds
	for time.Now().Before(deadline) {
		var leading []*schedulerNode
		for _, n := range nodes {
			if n.leads() {
				leading = append(leading, n)
			}
		}
		if len(leading) == 1 {
			return leading[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no single leader within a minute")
	return nil
}

// TestSchedulerFailover runs two scheduler nodes on PostgreSQL and
// JetStream. One leads and queues the slot's housekeeping jobs; its
// database session is killed and the node stopped, as when its process
// dies. The other takes over, queues the same slot again, and the queue
// drops every copy: each job runs once in the slot.
func TestSchedulerFailover(t *testing.T) {
	e := newClusterEnv(t)
	jobs := e.consumeJobs(t)
	a := e.startSchedulerNode(t, "node-a")
	b := e.startSchedulerNode(t, "node-b")
	first := waitLeader(t, a, b)
	other := a
	if first == a {
		other = b
	}
	waitJobs(t, jobs, len(housekeepingJobs))
	before, _ := jobs.snapshot()

	killed := e.killLeader(t)
	first.cancel() // the process is gone
	for !other.leads() {
		if time.Since(killed) > time.Minute {
			t.Fatal("no takeover within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	takeover := time.Since(killed)
	t.Logf("%s took over %s after %s's database session was killed", other.name, takeover, first.name)
	first.stop(t)

	// The new leader queued its slot at once; give a wrongly accepted copy
	// time to arrive.
	time.Sleep(3 * time.Second)
	after, total := jobs.snapshot()
	for k, n := range after {
		if n != 1 {
			t.Errorf("job %s ran %d times, want once", k, n)
		}
	}
	for k := range before {
		if after[k] != 1 {
			t.Errorf("job %s of the first leader's slot: %d runs after the takeover", k, after[k])
		}
	}
	if len(after) < len(housekeepingJobs) {
		t.Errorf("%d job slots ran, want at least the %d jobs of one slot", len(after), len(housekeepingJobs))
	}
	t.Logf("%d executions over %d job slots", total, len(after))
}

func waitJobs(t *testing.T, l *slotLedger, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got, _ := l.snapshot()
		if len(got) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d job slots ran within a minute, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSchedulerChurn runs two schedulers with one-second slots on
// PostgreSQL and JetStream and kills the leader's session over and over:
// leadership changes hands each time, and no job runs twice in a slot.
func TestSchedulerChurn(t *testing.T) {
	e := newClusterEnv(t)
	jobs := e.consumeJobs(t)
	nodes := make([]*Scheduler, 2)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	b, err := jetstream.New(ctx, e.natsURL, jetstream.Options{StreamPrefix: e.prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	for i := range nodes {
		st, err := postgres.Open(ctx, e.dbURL, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		nodes[i] = NewScheduler(SchedulerOptions{Elector: st.(store.LeaderElector), Bus: b, Queue: JobsQueue,
			Jobs: []string{"jobs.test.a", "jobs.test.b"}, Every: time.Second, Retry: 200 * time.Millisecond, Node: fmt.Sprint("n", i)})
		wg.Go(func() { nodes[i].Run(ctx) })
	}
	leader := func() int {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			switch a, b := nodes[0].Status().Leader, nodes[1].Status().Leader; {
			case a && !b:
				return 0
			case b && !a:
				return 1
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatal("no single leader within a minute")
		return -1
	}
	var takeovers []time.Duration
	cur := leader()
	for range 4 {
		time.Sleep(1500 * time.Millisecond)
		killed := e.killLeader(t)
		// The old leader steps down once its lease sees the loss; the
		// other takes over on its next try.
		for !nodes[1-cur].Status().Leader {
			if time.Since(killed) > time.Minute {
				t.Fatal("no takeover within a minute")
			}
			time.Sleep(5 * time.Millisecond)
		}
		takeovers = append(takeovers, time.Since(killed))
		cur = leader()
	}
	time.Sleep(1500 * time.Millisecond)
	cancel()
	wg.Wait()
	time.Sleep(time.Second) // the last jobs reach the consumer
	counts, total := jobs.snapshot()
	for k, n := range counts {
		if n != 1 {
			t.Errorf("job %s ran %d times, want once", k, n)
		}
	}
	if len(counts) < 10 {
		t.Errorf("only %d job slots ran in about ten seconds of one-second slots", len(counts))
	}
	t.Logf("takeovers after the leader's session was killed: %v; %d executions over %d job slots", takeovers, total, len(counts))
}
