package agent

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/logs"
)

// TestShipSplitsRefusedBatches: a server that takes at most 5 events per
// request (413 beyond) and refuses one poisoned event (400) for good gets
// every other event once.
func TestShipSplitsRefusedBatches(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken || r.Header.Get("Content-Type") != "application/x-ndjson" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var lines []string
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if len(lines) > 5 {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		for _, l := range lines {
			if strings.Contains(l, "poison") {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		}
		mu.Lock()
		for _, l := range lines {
			got[l]++
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"accepted":1,"dead_lettered":0}`))
	}))
	defer srv.Close()

	dir := t.TempDir()
	sp, err := logs.OpenSpool(dir, logs.SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var evs []logs.Event
	for i := range 23 {
		msg := "event " + string(rune('a'+i))
		if i == 11 {
			msg = "poison"
		}
		evs = append(evs, logs.Event{ID: msg, Time: time.Unix(0, 0).UTC(), Fields: map[string]any{"message": msg}, Original: msg})
	}
	if err := sp.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	s := NewShipper(ShipperOptions{Client: &Client{Server: srv.URL, Token: testToken}, MaxBatchEvents: 100,
		FlushInterval: time.Millisecond, MinBackoff: time.Millisecond, Logger: testLogger(t)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx, sp) }()
	waitFor(t, "22 events", func() bool { return s.Counters().Sent.Load() >= 22 })
	waitFor(t, "the commit", func() bool {
		c, _ := sp.Committed()
		return c == sp.End()
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 22 || s.Counters().Refused.Load() != 1 {
		t.Fatalf("%d distinct events, refused %d", len(got), s.Counters().Refused.Load())
	}
	for l, n := range got {
		if n != 1 || strings.Contains(l, "poison") {
			t.Errorf("%s arrived %d times", l, n)
		}
	}
}

// TestBoundedSpoolDropsOldest: with the server down and a tiny spool
// limit, the spool stays near its limit by dropping its oldest events and
// counting them; when the server is back, what arrives is exactly the
// newest lines, each once, and the count of dropped lines is exactly the
// number of oldest lines that never arrived.
func TestBoundedSpoolDropsOldest(t *testing.T) {
	srv, sink, _ := testServer(t)
	sink.setDown(true)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "big.log")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const limit = 64 << 10
	a, err := Start(ctx, Config{
		Server: srv.URL, Token: testToken, DataDir: filepath.Join(dir, "agent"), Tail: []string{logPath},
		Interval: time.Hour, FS: fakeRoot(t), PollInterval: 5 * time.Millisecond, SpoolMaxBytes: limit,
		Shipper: ShipperOptions{FlushInterval: 10 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		Logger:  testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Lines in steps the tailer reads one by one, each a spool batch.
	const total = 3000
	for i := 0; i < total; i += 100 {
		appendLines(t, logPath, i, i+100)
		waitFor(t, "the tailer", func() bool { return a.Tailers[0].Counters().Received.Load() >= uint64(i+100) })
	}
	n, err := a.Spool.Pending()
	if err != nil {
		t.Fatal(err)
	}
	// A full segment (limit/4) and the batch that crossed the limit is
	// the most it can overshoot by.
	if n > limit+limit/4+32<<10 {
		t.Errorf("spool holds %d bytes with a limit of %d", n, limit)
	}
	dropped := a.Spool.Dropped.Load()
	if dropped == 0 || a.Spool.Drops.Load() == 0 {
		t.Fatalf("3000 lines (well over 64 KiB) went into a 64 KiB spool and nothing was dropped")
	}
	sink.setDown(false)
	waitFor(t, "the newest lines", func() bool { return uint64(sink.mem.Len())+dropped >= total })
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := a.Wait(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ev := range sink.mem.Events() {
		s, _ := ev.Fields["event.original"].(string)
		seen[s]++
	}
	for i := range total {
		want := 1
		if uint64(i) < dropped {
			want = 0
		}
		if seen[lineOf(i)] != want {
			t.Fatalf("line %d arrived %d times, want %d (%d oldest dropped)", i, seen[lineOf(i)], want, dropped)
		}
	}
	t.Logf("dropped %d events in %d segments; %d bytes pending at the end of writing (limit %d)", dropped, a.Spool.Drops.Load(), n, limit)
}

// TestShipGzip: with Gzip the body is gzip-compressed NDJSON and says so.
func TestShipGzip(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") != "gzip" {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		sc := bufio.NewScanner(zr)
		mu.Lock()
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	sp, err := logs.OpenSpool(t.TempDir(), logs.SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	evs := []logs.Event{{ID: "a", Fields: map[string]any{"message": "one"}, Original: "one"}, {ID: "b", Fields: map[string]any{}, Original: "two"}}
	if err := sp.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	s := NewShipper(ShipperOptions{Client: &Client{Server: srv.URL, Token: testToken}, Gzip: true, FlushInterval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx, sp) }()
	waitFor(t, "two events", func() bool { return s.Counters().Sent.Load() == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || !strings.Contains(lines[0], `"event.original":"one"`) || !strings.Contains(lines[1], `"event.id":"b"`) {
		t.Errorf("lines %q", lines)
	}
}

// TestShipStopMidSendRepeatsLittle: the shipper commits each spool batch
// as soon as the server acknowledged all of it, so a stop in the middle of
// a long send repeats at most the acknowledged part of one spool batch.
// The server takes at most 10 events per request (413 beyond), so the 50
// pending events of five spool batches of 10 go out in requests of 6
// after three refused ones; the shipper is stopped during the 8th request,
// when 24 events were acknowledged and the first two batches committed.
func TestShipStopMidSendRepeatsLittle(t *testing.T) {
	var (
		mu       sync.Mutex
		got      = map[string]int{}
		requests int
		stall    = true
	)
	stalled := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var lines []string
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		mu.Lock()
		requests++
		block := stall && requests == 8
		mu.Unlock()
		if block {
			stalled <- struct{}{}
			<-release
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if len(lines) > 10 {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		mu.Lock()
		for _, l := range lines {
			var m map[string]any
			_ = json.Unmarshal([]byte(l), &m)
			id, _ := m["event.id"].(string)
			got[id]++
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	sp, err := logs.OpenSpool(t.TempDir(), logs.SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	for b := range 5 {
		var evs []logs.Event
		for i := range 10 {
			id := fmt.Sprintf("%d", 10*b+i)
			evs = append(evs, logs.Event{ID: id, Fields: map[string]any{}, Original: id})
		}
		if err := sp.Write(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	opts := ShipperOptions{Client: &Client{Server: srv.URL, Token: testToken}, MaxBatchEvents: 100,
		FlushInterval: time.Millisecond, MinBackoff: time.Millisecond, Logger: testLogger(t)}
	s1 := NewShipper(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s1.Run(ctx, sp) }()
	<-stalled
	cancel()
	mu.Lock()
	stall = false
	mu.Unlock()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s1.Counters().Sent.Load() != 24 {
		t.Fatalf("first shipper sent %d events, the test expects 24", s1.Counters().Sent.Load())
	}
	s2 := NewShipper(opts)
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- s2.Run(ctx, sp) }()
	waitFor(t, "50 events", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 50 })
	waitFor(t, "the commit", func() bool { c, _ := sp.Committed(); return c == sp.End() })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		want := 1
		if i >= 20 && i < 24 { // acknowledged, but their batch was not finished
			want = 2
		}
		if n := got[fmt.Sprint(i)]; n != want {
			t.Errorf("event %d arrived %d times, want %d", i, n, want)
		}
	}
}
