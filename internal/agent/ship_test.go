package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/logs"
)

const testToken = "vgl_test_token"

// flakySink stands in for the server's store: while down it refuses every
// batch, and the real ingest handler then answers 503.
type flakySink struct {
	mu       sync.Mutex
	down     bool
	refusals int
	mem      logs.MemorySink
}

func (s *flakySink) Write(ctx context.Context, evs []logs.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		s.refusals++
		return errors.New("store unavailable")
	}
	return s.mem.Write(ctx, evs)
}

func (s *flakySink) setDown(d bool) { s.mu.Lock(); s.down = d; s.mu.Unlock() }
func (s *flakySink) refused() int   { s.mu.Lock(); defer s.mu.Unlock(); return s.refusals }

type docSink struct {
	mu   sync.Mutex
	invs []Inventory
	bls  []BaselineResult
}

func (d *docSink) Inventory(_ context.Context, tenant string, inv Inventory) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if tenant != "t1" {
		return fmt.Errorf("tenant %q", tenant)
	}
	d.invs = append(d.invs, inv)
	return nil
}

func (d *docSink) Baseline(_ context.Context, tenant string, res BaselineResult) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.bls = append(d.bls, res)
	return nil
}

func (d *docSink) counts() (int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.invs), len(d.bls)
}

func bearer(r *http.Request) (string, error) {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		return "", errors.New("bad token")
	}
	return "t1", nil
}

// testServer serves the real ingest handler of the log pipeline (the one
// the server mounts at /ingest/events, with the "auto" parser) and the
// agent document handlers.
func testServer(t *testing.T) (*httptest.Server, *flakySink, *docSink) {
	t.Helper()
	sink, docs := &flakySink{}, &docSink{}
	auto, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		t.Fatal(err)
	}
	quiet := testLogger(t)
	mux := http.NewServeMux()
	mux.Handle(IngestPath, logs.NewHTTPHandler(logs.HTTPOptions{
		Options:      logs.Options{Parser: auto, Sink: sink, Logger: quiet},
		Authenticate: bearer,
	}))
	opts := HandlerOptions{Authenticate: bearer, Logger: quiet}
	mux.Handle(InventoryPath, NewInventoryHandler(docs, opts))
	mux.Handle(BaselinePath, NewBaselineHandler(docs, opts))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, sink, docs
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// lineOf makes line n of the test log in one of the shapes agents meet:
// an sshd auth.log line, plain text, a JSON line and a bracketed line.
func lineOf(n int) string {
	switch n % 4 {
	case 0:
		return fmt.Sprintf("Mar  2 10:15:04 web01 sshd[%d]: Failed password for invalid user u%d from 203.0.113.9 port 52115 ssh2", 1000+n, n)
	case 1:
		return fmt.Sprintf("plain line %d", n)
	case 2:
		return fmt.Sprintf(`{"level":"info","msg":"json line %d"}`, n)
	default:
		return fmt.Sprintf("[2026-11-29 10:00:00] bracketed line %d", n)
	}
}

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for n := from; n < to; n++ {
		b.WriteString(lineOf(n))
		b.WriteByte('\n')
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startAgent(t *testing.T, ctx context.Context, srvURL, dataDir, logPath string) *Agent {
	t.Helper()
	a, err := Start(ctx, Config{
		Server: srvURL, Token: testToken, DataDir: dataDir, Tail: []string{logPath},
		Interval: time.Hour, Baseline: testPolicy, FS: fakeRoot(t), PollInterval: 10 * time.Millisecond,
		Shipper: ShipperOptions{MaxBatchEvents: 37, FlushInterval: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		Logger:  testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestShipThroughOutage runs the agent against the real ingest handler
// whose store fails for a while, restarts the agent while the server is
// down, writes while the agent is stopped and rotates the log file:
// every line arrives, once.
func TestShipThroughOutage(t *testing.T) {
	srv, sink, docs := testServer(t)
	dir := t.TempDir()
	data, logPath := filepath.Join(dir, "agent"), filepath.Join(dir, "app.log")
	total := 0

	ctx, cancel := context.WithCancel(context.Background())
	a := startAgent(t, ctx, srv.URL, data, logPath)
	appendLines(t, logPath, 0, 100)
	total = 100
	waitFor(t, "the first 100 lines", func() bool { return sink.mem.Len() >= 100 })
	waitFor(t, "inventory and baseline", func() bool { i, b := docs.counts(); return i >= 1 && b >= 1 })

	// The store goes down; the agent keeps reading into its spool.
	sink.setDown(true)
	appendLines(t, logPath, 100, 300)
	total = 300
	waitFor(t, "refused batches", func() bool { return sink.refused() >= 3 })
	cancel()
	if err := a.Wait(); err != nil {
		t.Fatalf("agent stopped with %v", err)
	}
	// Lines written while no agent runs wait in the file.
	appendLines(t, logPath, 300, 400)
	total = 400

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	a = startAgent(t, ctx, srv.URL, data, logPath)
	before := sink.refused()
	waitFor(t, "refusals after the restart", func() bool { return sink.refused() > before })
	sink.setDown(false)
	waitFor(t, "all 400 lines", func() bool { return sink.mem.Len() >= 400 })

	// Rotation by rename: the rest of the old file, then the new one.
	appendLines(t, logPath, 400, 420)
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, logPath, 420, 450)
	total = 450
	waitFor(t, "all 450 lines", func() bool { return sink.mem.Len() >= total })
	time.Sleep(100 * time.Millisecond) // let a duplicate, if any, arrive
	cancel()
	if err := a.Wait(); err != nil {
		t.Fatalf("agent stopped with %v", err)
	}

	seenLine := map[string]int{}
	seenID := map[string]int{}
	for _, ev := range sink.mem.Events() {
		orig, _ := ev.Fields["event.original"].(string)
		seenLine[orig]++
		id, _ := ev.Fields["event.id"].(string)
		seenID[id]++
		if ev.Fields["agent.id"] != a.ID.AgentID || ev.Fields["host.name"] == nil || ev.Tenant != "t1" {
			t.Fatalf("event without agent, host or tenant: %+v", ev.Fields)
		}
	}
	for n := range total {
		if c := seenLine[lineOf(n)]; c != 1 {
			t.Errorf("line %d arrived %d times", n, c)
		}
	}
	if len(seenID) != total || sink.mem.Len() != total {
		t.Errorf("%d events with %d distinct event.id, want %d", sink.mem.Len(), len(seenID), total)
	}
	// Parsing on the agent reaches the server: the auth line's source
	// address and user.
	for _, ev := range sink.mem.Events() {
		if ev.Fields["event.original"] == lineOf(4) {
			if ev.Fields["source.ip"] != "203.0.113.9" || ev.Fields["user.name"] != "u4" {
				t.Errorf("auth line fields %v", ev.Fields)
			}
		}
	}
	t.Logf("%d lines, %d refused batches, shipper: sent %d in %d requests, %d retries",
		total, sink.refused(), a.Shipper.Counters().Sent.Load(), a.Shipper.Counters().Requests.Load(), a.Shipper.Counters().Retries.Load())
}
