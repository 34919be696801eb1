package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/pipeline"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/store/sqlite"
)

// tcpRun is one run of the sustained syslog TCP phase.
type tcpRun struct {
	sent, deadLettered, stored, alerts int
	dur                                time.Duration
	serverCPU, senderCPU               time.Duration
	loadBefore, loadAfter              string
}

func (r tcpRun) lost() int { return r.sent - r.deadLettered - r.stored }

// tcpPhase measures sustained syslog over TCP, end to end, the way `vigil
// serve` runs it with syslog_tcp and the SQLite store: the stream server
// parses each connection and writes its batches to the durable spool (an
// fsync covers a batch before more of that connection is read: that is
// the acknowledgement TCP syslog has), and a drain moves the spool into
// the pipeline (store in SQLite, Sigma rules, alerts), committing the
// spool position after the store took the events. The senders run in a
// child process, so the server's CPU time is measured apart from
// theirs. A run lasts from the first byte sent until the store holds
// every event; the events are then counted in SQLite, so loss is
// measured (sent − dead-lettered − stored), never assumed.
func tcpPhase(ctx context.Context, c config, eng *detect.Engine) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if !c.detect {
		eng = nil
	}
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
	for i := range c.tcpRuns {
		r, err := tcpOnce(ctx, c, self, eng)
		if err != nil {
			return err
		}
		runs = append(runs, r)
		fmt.Printf("sustained syslog TCP run %d: %d conns, %d sent, %d dead-lettered, %d stored, %d lost, %d alerts; %.2fs, %.0f EPS; server %.1f CPU-s (%.0f events per server CPU-second), senders %.2f CPU-s; load %s → %s\n",
			i+1, c.tcpConns, r.sent, r.deadLettered, r.stored, r.lost(), r.alerts, r.dur.Seconds(), float64(r.sent)/r.dur.Seconds(),
			r.serverCPU.Seconds(), float64(r.sent)/r.serverCPU.Seconds(), r.senderCPU.Seconds(), r.loadBefore, r.loadAfter)
	}
	eps := make([]float64, len(runs))
	perCPU := make([]float64, len(runs))
	lost := 0
	for i, r := range runs {
		eps[i] = float64(r.sent) / r.dur.Seconds()
		if r.serverCPU > 0 {
			perCPU[i] = float64(r.sent) / r.serverCPU.Seconds()
		}
		lost += r.lost()
	}
	slices.Sort(eps)
	slices.Sort(perCPU)
	fmt.Printf("sustained syslog TCP → spool → SQLite + Sigma (detection %v): min %.0f, median %.0f, max %.0f EPS over %d runs; lost events: %d\n",
		eng != nil, eps[0], eps[len(eps)/2], eps[len(eps)-1], len(runs), lost)
	fmt.Printf("  per server CPU-second: min %.0f, median %.0f, max %.0f\n", perCPU[0], perCPU[len(perCPU)/2], perCPU[len(perCPU)-1])
	if lost != 0 {
		return fmt.Errorf("%d events lost", lost)
	}
	return nil
}

func tcpOnce(ctx context.Context, c config, self string, eng *detect.Engine) (tcpRun, error) {
	dir, err := os.MkdirTemp("", "vigil-ingest-tcp-")
	if err != nil {
		return tcpRun{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"), sqlite.Options{})
	if err != nil {
		return tcpRun{}, err
	}
	defer func() { _ = st.Close() }()
	ten := store.Tenant{Slug: "bench", Name: "Bench"}
	if err := st.Tenants().Create(ctx, &ten); err != nil {
		return tcpRun{}, fmt.Errorf("create tenant: %w", err)
	}
	spool, err := logs.OpenSpool(filepath.Join(dir, "spool"), logs.SpoolOptions{})
	if err != nil {
		return tcpRun{}, err
	}
	defer func() { _ = spool.Close() }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return tcpRun{}, err
	}

	// The senders: a child process that generates its lines, says
	// "ready", sends on "go" and reports its CPU time.
	child := exec.CommandContext(ctx, self, "-send", ln.Addr().String(), // #nosec G204 -- this benchmark's own binary
		"-tcp-events", strconv.Itoa(c.tcpEvents), "-tcp-conns", strconv.Itoa(c.tcpConns))
	child.Stderr = os.Stderr
	in, err := child.StdinPipe()
	if err != nil {
		return tcpRun{}, err
	}
	outPipe, err := child.StdoutPipe()
	if err != nil {
		return tcpRun{}, err
	}
	if err := child.Start(); err != nil {
		return tcpRun{}, err
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	out := bufio.NewScanner(outPipe)
	if !out.Scan() || out.Text() != "ready" {
		return tcpRun{}, fmt.Errorf("sender did not start: %q", out.Text())
	}

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	srv := logs.NewStreamServer(logs.Options{Sink: spool, Tenant: ten.ID})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	p := pipeline.New(st, pipeline.Options{Rules: eng})
	drained := make(chan error, 1)
	go func() { drained <- drain(sctx, spool, p) }()

	r := tcpRun{sent: c.tcpEvents, loadBefore: loadAverage()}
	start, cpu0 := time.Now(), cpuTime()
	if _, err := io.WriteString(in, "go\n"); err != nil {
		return tcpRun{}, err
	}
	// Done when every line is parsed or dead-lettered and the pipeline
	// stored every parsed event.
	deadline := time.Now().Add(30 * time.Minute)
	for {
		cs := srv.Counters().Snapshot()
		if cs.Parsed+cs.DeadLettered >= uint64(c.tcpEvents) && uint64(p.Stats().Stored) >= cs.Parsed { // #nosec G115 -- counts, never negative
			break
		}
		if time.Now().After(deadline) {
			stop()
			<-served
			return tcpRun{}, fmt.Errorf("timed out with %d of %d lines stored (drain: %v)", p.Stats().Stored, c.tcpEvents, <-drained)
		}
		select {
		case err := <-drained:
			stop()
			<-served
			return tcpRun{}, fmt.Errorf("drain stopped with %d of %d lines stored: %w", p.Stats().Stored, c.tcpEvents, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
	r.dur, r.serverCPU = time.Since(start), cpuTime()-cpu0
	r.loadAfter = loadAverage()
	if out.Scan() {
		f := strings.Fields(out.Text()) // "sent N cpu SECONDS"
		if len(f) == 4 {
			if n, err := strconv.Atoi(f[1]); err == nil && n != c.tcpEvents {
				return tcpRun{}, fmt.Errorf("sender sent %d of %d lines", n, c.tcpEvents)
			}
			if s, err := strconv.ParseFloat(f[3], 64); err == nil {
				r.senderCPU = time.Duration(s * float64(time.Second))
			}
		}
	}
	stop()
	if err := <-served; err != nil {
		return tcpRun{}, err
	}
	if err := <-drained; err != nil && !errors.Is(err, context.Canceled) {
		return tcpRun{}, err
	}
	r.deadLettered = int(srv.Counters().Snapshot().DeadLettered) // #nosec G115 -- bounded by the lines sent
	n, err := st.Events().Count(ctx, ten.ID, store.EventQuery{})
	if err != nil {
		return tcpRun{}, err
	}
	r.stored, r.alerts = n, int(p.Stats().Alerts)
	return r, nil
}

// drain moves the spool into the pipeline until ctx ends: the loop of
// `vigil serve`'s spool drain, with batches of up to logs.DrainBatch events.
func drain(ctx context.Context, spool *logs.Spool, p *pipeline.Pipeline) error {
	r, err := spool.Reader()
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	for ctx.Err() == nil {
		evs, err := r.NextUpTo(logs.DrainBatch)
		if errors.Is(err, io.EOF) {
			select {
			case <-ctx.Done():
			case <-time.After(time.Millisecond):
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := p.Write(ctx, evs); err != nil {
			return err
		}
		if err := r.Commit(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// sendMain is the sender child: it generates the lines, prints "ready",
// waits for a line on stdin, sends the lines over conns connections and
// prints "sent N cpu SECONDS".
func sendMain(addr string, n, conns int) error {
	lines := generate(n, 3)
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	per := (len(lines) + conns - 1) / conns
	for k := range conns {
		part := lines[min(k*per, len(lines)):min((k+1)*per, len(lines))]
		wg.Go(func() {
			if err := send(addr, part); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("sent %d cpu %.3f\n", len(lines), (cpuTime() - cpu0).Seconds())
	return nil
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

// loadAverage is the one-minute load average, or "?" where /proc is
// absent.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
