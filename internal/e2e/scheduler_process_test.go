package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/bus"
	jsbus "github.com/vigil-sec/vigil/internal/bus/jetstream"
	"github.com/vigil-sec/vigil/internal/store/postgres"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestSchedulerProcessFailover runs two real `vigil serve --role
// scheduler` processes on one PostgreSQL database and the JetStream
// server, and the test's own worker on the jobs queue, which records
// every job it runs in a table of that database. One scheduler leads and
// queues the slot's housekeeping jobs; the test kills it with SIGKILL.
// The other must take over (PostgreSQL ends the dead process's session
// and with it the leader lock) and queue the slot's jobs again, which the
// queue drops as duplicates: counted in the database, no job runs twice
// in a slot. The killed process, started again, waits without leading.
//
// Generous bounds only: a takeover must come within two minutes (the
// retry is every 2 s; the bound is for a machine under heavy load), and
// the time measured is logged, never asserted.
func TestSchedulerProcessFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds vigil and runs processes")
	}
	pgURL := testenv.RequirePostgres(t)
	natsURL := testenv.RequireNATS(t)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "vigil_schedproc_" + hex.EncodeToString(suffix)
	dbURL, err := postgres.CreateDatabase(t.Context(), pgURL, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), pgURL, name) })
	prefix := "schedproc" + hex.EncodeToString(suffix)
	t.Cleanup(func() { removeStreams(natsURL, prefix) })
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	bin := buildVigil(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	logDir := t.TempDir()
	env := []string{"VIGIL_DB=" + dbURL, "VIGIL_BUS=" + natsURL, "VIGIL_BUS_PREFIX=" + prefix,
		"VIGIL_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key), "VIGIL_LOG_LEVEL=info", "VIGIL_SHUTDOWN_TIMEOUT=5s",
		"VIGIL_ROLE=scheduler"}
	procs := make([]*vigilProc, 2)
	for i := range procs {
		p := &vigilProc{name: "sched-" + string(rune('a'+i)), bin: bin, logDir: logDir}
		p.env = append(cloneEnv(env), "VIGIL_DATA_DIR="+t.TempDir(), "VIGIL_NODE_ID="+p.name)
		procs[i] = p
	}
	// The first process creates the schema; the second starts once it
	// has, so the two do not race on migrations.
	procs[0].start(t)
	t.Cleanup(procs[0].kill)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	if waitLeading(ctx, t, procs[:1]) == nil {
		t.Fatalf("no scheduler leads; log:\n%s", tail(procLog(procs[0]), 4000))
	}
	procs[1].start(t)
	t.Cleanup(procs[1].kill)

	// The test's worker: it runs every job by recording it.
	if _, err := db.ExecContext(ctx, `CREATE TABLE test_job_runs (job TEXT NOT NULL, slot TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	b, err := jsbus.New(ctx, natsURL, jsbus.Options{StreamPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := b.EnsureQueue(ctx, app.JobsQueueConfig()); err != nil {
		t.Fatal(err)
	}
	sub, err := b.Consume(ctx, app.JobsQueue, bus.ConsumeOptions{Group: "test-workers", Concurrency: 2},
		func(ctx context.Context, d bus.Delivery) error {
			m := d.Message()
			_, err := db.ExecContext(ctx, `INSERT INTO test_job_runs (job, slot) VALUES ($1, $2)`, m.Subject, m.Header[app.SlotHeader])
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Stop() })

	jobs := app.HousekeepingJobs()
	waitRuns(ctx, t, db, len(jobs))
	// The second process is up and waiting: it logs that it started, and
	// does not lead.
	if strings.Contains(procLog(procs[1]), "this node leads") {
		t.Fatal("both scheduler processes lead")
	}

	killed := time.Now()
	procs[0].kill()
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer tcancel()
	if waitLeading(tctx, t, procs[1:]) == nil {
		t.Fatalf("no scheduler took over after the leader was killed; log:\n%s", tail(procLog(procs[1]), 4000))
	}
	t.Logf("the second scheduler process took over %v after the leader was killed (load average %s)", time.Since(killed).Round(10*time.Millisecond), loadAvg())

	// The new leader queues the slot's jobs again as soon as it leads;
	// give the queue time to hand over anything it did not drop.
	before := procLog(procs[0])
	procs[0].start(t)
	time.Sleep(10 * time.Second)
	if strings.Contains(strings.TrimPrefix(procLog(procs[0]), before), "this node leads") {
		t.Error("the restarted process leads while the other holds the lock")
	}
	rows, err := db.QueryContext(ctx, `SELECT job, slot, count(*) FROM test_job_runs GROUP BY job, slot ORDER BY slot, job`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	slots := map[string]int{}
	for rows.Next() {
		var job, slot string
		var n int
		if err := rows.Scan(&job, &slot, &n); err != nil {
			t.Fatal(err)
		}
		slots[slot]++
		if n != 1 {
			t.Errorf("job %s of slot %s ran %d times", job, slot, n)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for slot, n := range slots {
		if n != len(jobs) {
			t.Logf("slot %s: %d of %d jobs (a slot the test only saw part of)", slot, n, len(jobs))
		}
	}
	if len(slots) == 0 {
		t.Fatal("no job ran")
	}
}

// procLog is what a process has logged so far.
func procLog(p *vigilProc) string {
	b, _ := os.ReadFile(filepath.Join(p.logDir, p.name+".log"))
	return string(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitLeading waits until one of procs logs that it leads and returns
// it; nil when ctx ends first.
func waitLeading(ctx context.Context, t *testing.T, procs []*vigilProc) *vigilProc {
	t.Helper()
	for ctx.Err() == nil {
		for _, p := range procs {
			if strings.Contains(procLog(p), "this node leads") {
				return p
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// waitRuns waits until the worker has run n jobs.
func waitRuns(ctx context.Context, t *testing.T, db *sql.DB, n int) {
	t.Helper()
	for {
		var got int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM test_job_runs`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d jobs ran", got, n)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// removeStreams deletes the JetStream streams whose names start with
// prefix.
func removeStreams(url, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	names := js.StreamNames(ctx)
	var drop []string
	for n := range names.Name() {
		if strings.HasPrefix(n, prefix) {
			drop = append(drop, n)
		}
	}
	for _, n := range drop {
		_ = js.DeleteStream(ctx, n)
	}
}

// loadAvg is the 1-minute load average, for the log.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return "unknown"
	}
	return string(f[0])
}
