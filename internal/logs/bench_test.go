package logs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// benchLines returns records for a format: its samples, or corpus lines
// for suricata and windows.
func benchLines(b *testing.B, name string) [][]byte {
	b.Helper()
	switch name {
	case "suricata":
		path := filepath.Join(corpusDir, "traffic/slips/test6-malicious.suricata.json")
		if _, err := os.Stat(path); err != nil {
			b.Skip("corpus absent")
		}
		return readLines(b, path)[:2000]
	case "windows":
		path := filepath.Join(corpusDir, "sigma/regression_data/rules/windows/process_creation/proc_creation_win_bitsadmin_download/d059842b-6b9d-4ed1-b5c3-5b89143c6ede.json")
		doc, err := os.ReadFile(path)
		if err != nil {
			b.Skip("corpus absent")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, doc); err != nil {
			b.Fatal(err)
		}
		return [][]byte{buf.Bytes()}
	}
	return readLines(b, filepath.Join("testdata", "samples", name+".log"))
}

// BenchmarkParse measures each parser's throughput on its samples.
func BenchmarkParse(b *testing.B) {
	reg := NewRegistry()
	for _, name := range reg.Names() {
		sample := name
		if name == "auto" {
			sample = "rfc3164" // auto: syslog lines with auth and netfilter payloads
		}
		lines := benchLines(b, sample)
		p, _ := reg.Lookup(name)
		b.Run(name, func(b *testing.B) {
			var bytesTotal int64
			for _, l := range lines {
				bytesTotal += int64(len(l))
			}
			b.SetBytes(bytesTotal / int64(len(lines)))
			meta := Meta{Received: testReceived}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := p.Parse(lines[i%len(lines)], meta); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// countingSink discards events and counts them.
type countingSink struct{ n, batches atomic.Int64 }

func (c *countingSink) Write(_ context.Context, evs []Event) error {
	c.n.Add(int64(len(evs)))
	c.batches.Add(1)
	return nil
}

// BenchmarkSyslogTCP sends b.N RFC 3164 auth lines over loopback TCP on
// four connections and waits until the sink has them all: into a
// discarding sink, and into the durable spool (fsync per batch).
func BenchmarkSyslogTCP(b *testing.B) {
	line := []byte("<86>Mar  2 10:15:01 web01 sshd[2211]: Failed password for invalid user admin from 203.0.113.9 port 52113 ssh2\n")
	for _, target := range []string{"discard", "spool"} {
		b.Run(target, func(b *testing.B) {
			counter := &countingSink{}
			var sink Sink = counter
			if target == "spool" {
				sp, err := OpenSpool(b.TempDir(), SpoolOptions{Logger: quietLogger()})
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = sp.Close() }()
				sink = SinkFunc(func(ctx context.Context, evs []Event) error {
					if err := sp.Write(ctx, evs); err != nil {
						return err
					}
					return counter.Write(ctx, evs)
				})
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := NewStreamServer(Options{Sink: sink, Logger: quietLogger()})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, ln) }()
			defer func() { cancel(); <-done }()
			const conns = 4
			b.ResetTimer()
			start := time.Now()
			errs := make(chan error, conns)
			for c := range conns {
				n := b.N / conns
				if c == 0 {
					n += b.N % conns
				}
				go func() {
					conn, err := net.Dial("tcp", ln.Addr().String())
					if err != nil {
						errs <- err
						return
					}
					w := bufio.NewWriterSize(conn, 64<<10)
					for range n {
						if _, err := w.Write(line); err != nil {
							errs <- err
							return
						}
					}
					if err := w.Flush(); err != nil {
						errs <- err
						return
					}
					errs <- conn.Close()
				}()
			}
			for range conns {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			for counter.n.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			el := time.Since(start)
			b.StopTimer()
			eps := float64(b.N) / el.Seconds()
			b.ReportMetric(eps, "events/s")
			if b.N > 10000 {
				fmt.Printf("syslog TCP loopback → %s: %d events in %v = %.0f events/s (mean batch %d events)\n",
					target, b.N, el.Round(time.Millisecond), eps, int64(b.N)/max(counter.batches.Load(), 1))
			}
		})
	}
}
