package agent

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/logs"
)

// BenchmarkParseDpkgStatus parses this machine's dpkg database when it
// has one (the test host's otherwise); bytes/s is the parse rate.
func BenchmarkParseDpkgStatus(b *testing.B) {
	data, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		data, err = os.ReadFile("testdata/root/var/lib/dpkg/status")
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	var n int
	for b.Loop() {
		p, err := ParseDpkgStatus(bytes.NewReader(data), MaxPackages)
		if err != nil {
			b.Fatal(err)
		}
		n = len(p)
	}
	b.ReportMetric(float64(n), "packages")
}

// BenchmarkCollectThisHost is a whole inventory of this machine, the work
// the agent does every interval.
func BenchmarkCollectThisHost(b *testing.B) {
	fsys := os.DirFS("/")
	for b.Loop() {
		if _, err := Collect(context.Background(), CollectOptions{FS: fsys, Interfaces: SystemInterfaces, AgentID: testAgentID}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShipperEncode is the per-event cost of turning a parsed
// auth.log event into the JSON object sent to the server.
func BenchmarkShipperEncode(b *testing.B) {
	auto, err := logs.NewRegistry().Lookup("auto")
	if err != nil {
		b.Fatal(err)
	}
	ev, err := auto.Parse([]byte(lineOf(4)), logs.Meta{Source: "/var/log/auth.log", Received: time.Unix(1e9, 0).UTC()})
	if err != nil {
		b.Fatal(err)
	}
	s := NewShipper(ShipperOptions{Client: &Client{}, Hostname: "web01", AgentID: testAgentID})
	var size int
	for b.Loop() {
		line, err := s.encode(&ev)
		if err != nil {
			b.Fatal(err)
		}
		size = len(line)
	}
	b.ReportMetric(float64(size), "bytes/event")
}

// BenchmarkReadBundle verifies the test bundle (inventory, two logs and a
// baseline result).
func BenchmarkReadBundle(b *testing.B) {
	data, _ := collectTestBundle(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadBundle(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShipToIngestHandler ships spooled auth.log events to the real
// ingest handler (auto parser, memory store) over loopback HTTP; ns/op is
// per event, end to end (encode, request, server parse and store, commit).
func BenchmarkShipToIngestHandler(b *testing.B) {
	sink := &logs.MemorySink{}
	auto, _ := logs.NewRegistry().Lookup("auto")
	srv := httptest.NewServer(logs.NewHTTPHandler(logs.HTTPOptions{Options: logs.Options{Parser: auto, Sink: sink}, Authenticate: bearer}))
	defer srv.Close()
	sp, err := logs.OpenSpool(b.TempDir(), logs.SpoolOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	batch := make([]logs.Event, 0, 1000)
	for i := range b.N {
		ev, err := auto.Parse([]byte(lineOf(4*i)), logs.Meta{Source: "/var/log/auth.log"})
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, ev)
		if len(batch) == cap(batch) || i == b.N-1 {
			if err := sp.Write(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	s := NewShipper(ShipperOptions{Client: &Client{Server: srv.URL, Token: testToken}, Hostname: "web01", AgentID: testAgentID, FlushInterval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ResetTimer()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, sp) }()
	for s.Counters().Sent.Load() < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if sink.Len() != b.N {
		b.Fatalf("%d events stored for %d", sink.Len(), b.N)
	}
}
