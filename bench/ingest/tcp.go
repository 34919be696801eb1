package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
)

// countingSink counts the events its Sink accepted.
type countingSink struct {
	logs.Sink
	n atomic.Int64
}

func (c *countingSink) Write(ctx context.Context, evs []logs.Event) error {
	if err := c.Sink.Write(ctx, evs); err != nil {
		return err
	}
	c.n.Add(int64(len(evs)))
	return nil
}

// tcpRun is one run of the syslog TCP phase.
type tcpRun struct {
	sent, accepted, readBack int
	dur, cpu                 time.Duration
}

// tcpPhase sends generated syslog lines over loopback TCP to Vigil's
// syslog stream server writing into a durable spool (each batch fsynced
// before the connection is read further), as `vigil serve` does with
// syslog_tcp. A run ends when the spool holds every line; the spool is
// then read back and its events counted, so zero loss is checked, not
// assumed. Each run uses a fresh spool.
func tcpPhase(ctx context.Context, c config, eng *detect.Engine) error {
	lines := generate(c.tcpEvents, 3)
	if c.profile != "" {
		pf, err := os.Create(filepath.Join(c.profile, "tcp.pprof")) // #nosec G304 -- operator-chosen directory
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			_ = pf.Close()
			return err
		}
		defer func() { pprof.StopCPUProfile(); _ = pf.Close() }()
	}
	var runs []tcpRun
	var lastDir string
	for i := range c.tcpRuns {
		dir, err := os.MkdirTemp("", "vigil-ingest-tcp-")
		if err != nil {
			return err
		}
		r, err := tcpOnce(ctx, dir, lines, c.tcpConns)
		if err != nil {
			_ = os.RemoveAll(dir)
			return err
		}
		runs = append(runs, r)
		fmt.Printf("syslog TCP run %d: %d conns, %d sent, %d durable in the spool, %d read back, %.2fs, %.0f EPS (%.1f CPU-seconds, senders included)\n",
			i+1, c.tcpConns, r.sent, r.accepted, r.readBack, r.dur.Seconds(), float64(r.sent)/r.dur.Seconds(), r.cpu.Seconds())
		if lastDir != "" {
			_ = os.RemoveAll(lastDir)
		}
		lastDir = dir
	}
	defer func() { _ = os.RemoveAll(lastDir) }()
	eps := make([]float64, len(runs))
	perCPU := make([]float64, len(runs))
	lost := 0
	for i, r := range runs {
		eps[i] = float64(r.sent) / r.dur.Seconds()
		if r.cpu > 0 {
			perCPU[i] = float64(r.sent) / r.cpu.Seconds()
		}
		lost += r.sent - r.readBack
	}
	slices.Sort(eps)
	slices.Sort(perCPU)
	fmt.Printf("syslog TCP into the durable spool: min %.0f, median %.0f, max %.0f EPS over %d runs; lost events: %d\n",
		eps[0], eps[len(eps)/2], eps[len(eps)-1], len(runs), lost)
	fmt.Printf("  per CPU-second (server and senders together): min %.0f, median %.0f, max %.0f\n",
		perCPU[0], perCPU[len(perCPU)/2], perCPU[len(perCPU)-1])
	if lost != 0 {
		return fmt.Errorf("%d events lost", lost)
	}
	if c.tcpDrain {
		return drainPhase(ctx, lastDir, eng, len(lines))
	}
	return nil
}

func tcpOnce(ctx context.Context, dir string, lines [][]byte, conns int) (tcpRun, error) {
	spool, err := logs.OpenSpool(filepath.Join(dir, "spool"), logs.SpoolOptions{})
	if err != nil {
		return tcpRun{}, err
	}
	defer func() { _ = spool.Close() }()
	sink := &countingSink{Sink: spool}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return tcpRun{}, err
	}
	sctx, stop := context.WithCancel(ctx)
	srv := logs.NewStreamServer(logs.Options{Sink: sink, Tenant: "bench"})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()

	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	per := (len(lines) + conns - 1) / conns
	for k := range conns {
		part := lines[min(k*per, len(lines)):min((k+1)*per, len(lines))]
		wg.Go(func() {
			if err := send(ln.Addr().String(), part); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		stop()
		<-served
		return tcpRun{}, err
	}
	// The senders are done; wait until the server has written every
	// line (or dead-lettered it) to the spool.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cs := srv.Counters().Snapshot()
		if cs.Parsed+cs.DeadLettered >= uint64(len(lines)) && uint64(sink.n.Load()) >= cs.Parsed { // #nosec G115 -- counts, never negative
			break
		}
		if time.Now().After(deadline) {
			stop()
			<-served
			return tcpRun{}, fmt.Errorf("timed out: %d of %d lines in the spool", sink.n.Load(), len(lines))
		}
		time.Sleep(time.Millisecond)
	}
	dur, cpu := time.Since(start), cpuTime()-cpu0
	stop()
	if err := <-served; err != nil {
		return tcpRun{}, err
	}
	n, err := countSpool(spool)
	if err != nil {
		return tcpRun{}, err
	}
	return tcpRun{sent: len(lines), accepted: int(sink.n.Load()), readBack: n, dur: dur, cpu: cpu}, nil
}

// send writes the lines on one connection with octet-counting framing
// (RFC 6587 "LEN SP MSG"; some generated lines start with a digit, which
// newline framing cannot carry).
func send(addr string, lines [][]byte) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 256<<10)
	for _, l := range lines {
		if len(buf)+len(l)+12 > cap(buf) {
			if _, err := c.Write(buf); err != nil {
				_ = c.Close()
				return err
			}
			buf = buf[:0]
		}
		buf = strconv.AppendInt(buf, int64(len(l)), 10)
		buf = append(append(buf, ' '), l...)
	}
	if _, err := c.Write(buf); err != nil {
		_ = c.Close()
		return err
	}
	return c.Close()
}

// countSpool reads every batch of the spool and counts the events.
func countSpool(s *logs.Spool) (int, error) {
	r := s.ReaderAt(logs.Position{Segment: 1})
	defer func() { _ = r.Close() }()
	n := 0
	for {
		evs, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += len(evs)
	}
}

// drainPhase moves the spool of the last run into a fresh SQLite store
// through the pipeline (store, Sigma, alerts), as `vigil serve` drains
// its spool, and counts the stored events.
func drainPhase(ctx context.Context, dir string, eng *detect.Engine, want int) error {
	st, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"), sqlite.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	ten := store.Tenant{Slug: "bench", Name: "Bench"}
	if err := st.Tenants().Create(ctx, &ten); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	spool, err := logs.OpenSpool(filepath.Join(dir, "spool"), logs.SpoolOptions{})
	if err != nil {
		return err
	}
	defer func() { _ = spool.Close() }()
	p := pipeline.New(st, pipeline.Options{Rules: eng})
	r := spool.ReaderAt(logs.Position{Segment: 1})
	defer func() { _ = r.Close() }()
	t0, c0 := time.Now(), cpuTime()
	for {
		evs, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		for i := range evs {
			evs[i].Tenant = ten.ID
		}
		if err := p.Write(ctx, evs); err != nil {
			return err
		}
	}
	d, cpu := time.Since(t0), cpuTime()-c0
	s := p.Stats()
	fmt.Printf("spool drained into SQLite (store, Sigma, alerts): %d of %d events stored in %.2fs, %.0f events/s, %.0f per CPU-second\n",
		s.Stored, want, d.Seconds(), float64(s.Stored)/d.Seconds(), float64(s.Stored)/cpu.Seconds())
	return nil
}
