package discovery

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root (for raw sockets)")
	}
}

func newSYNScanner(t testing.TB, scope Scope, fingerprint bool) *Scanner {
	t.Helper()
	s, err := New(Options{
		Scope:       scope,
		Method:      MethodSYN,
		Rate:        20_000,
		Concurrency: 16,
		Timeout:     2 * time.Second,
		BannerWait:  300 * time.Millisecond,
		Fingerprint: fingerprint,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSYNScanLoopback SYN-scans the loopback test servers: the open set is
// the set of listening servers, the closed port answers with a reset, and
// fingerprinting still works over a separate connection.
func TestSYNScanLoopback(t *testing.T) {
	requireRoot(t)
	srv := startServers(t)
	got := map[uint16]Result{}
	sum, err := newSYNScanner(t, loopback(), true).Scan(context.Background(), loopbackTargets(t, "127.0.0.1"), srv.all(), func(r Result) {
		if _, dup := got[r.Port]; dup {
			t.Errorf("port %d reported twice", r.Port)
		}
		got[r.Port] = r
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Method != MethodSYN || sum.Fallback != "" {
		t.Fatalf("method %s, fallback %q", sum.Method, sum.Fallback)
	}
	var open []uint16
	for p, r := range got {
		if r.State == Open {
			open = append(open, p)
			if r.Reason != "syn-ack" {
				t.Errorf("port %d: reason %q", p, r.Reason)
			}
		}
	}
	slices.Sort(open)
	if !slices.Equal(open, srv.open()) {
		t.Errorf("open %v, want %v", open, srv.open())
	}
	if r := got[srv.closed]; r.State != Closed || r.Reason != "reset" {
		t.Errorf("closed port: %+v", r)
	}
	if s := got[srv.ssh].Service; s == nil || s.Name != "ssh" {
		t.Errorf("ssh fingerprint: %+v", s)
	}
	if s := got[srv.https].Service; s == nil || s.Name != "https" || s.TLS == nil {
		t.Errorf("https fingerprint: %+v", s)
	}
}

// TestSYNScanLoopbackIPv6 SYN-scans a listener and a closed port on ::1.
func TestSYNScanLoopbackIPv6(t *testing.T) {
	requireRoot(t)
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	shut, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	open, closed := portOf(t, ln.Addr()), portOf(t, shut.Addr())
	_ = shut.Close()
	got := map[uint16]Result{}
	sum, err := newSYNScanner(t, loopback(), false).Scan(context.Background(), loopbackTargets(t, "::1"), []uint16{open, closed}, func(r Result) { got[r.Port] = r })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Method != MethodSYN {
		t.Fatalf("method %s (%s)", sum.Method, sum.Fallback)
	}
	if r := got[open]; r.State != Open || r.Reason != "syn-ack" || r.Host != netip.IPv6Loopback() {
		t.Errorf("open port: %+v", r)
	}
	if r := got[closed]; r.State != Closed || r.Reason != "reset" {
		t.Errorf("closed port: %+v", r)
	}
}

func TestParseMethod(t *testing.T) {
	for in, want := range map[string]Method{"": MethodConnect, "connect": MethodConnect, "syn": MethodSYN} {
		if m, err := ParseMethod(in); err != nil || m != want {
			t.Errorf("ParseMethod(%q) = %q, %v", in, m, err)
		}
	}
	for _, in := range []string{"SYN", "udp", "connect "} {
		if _, err := ParseMethod(in); err == nil {
			t.Errorf("ParseMethod(%q): no error", in)
		}
	}
	if _, err := New(Options{Scope: loopback(), Method: "fin"}); err == nil {
		t.Error("New accepted method fin")
	}
	if _, err := New(Options{Scope: loopback(), PingPorts: []uint16{80, 0}}); err == nil {
		t.Error("New accepted ping port 0")
	}
}

// BenchmarkSYNScanClosedPorts SYN-scans the 1,000 loopback ports
// BenchmarkScanClosedPorts connect-scans, for a ratio in one run.
func BenchmarkSYNScanClosedPorts(b *testing.B) {
	requireRoot(b)
	ports, err := ParsePorts("61000-61999")
	if err != nil {
		b.Fatal(err)
	}
	tg := loopbackTargets(b, "127.0.0.1")
	s, err := New(Options{Scope: loopback(), Method: MethodSYN, Rate: 10_000_000, Concurrency: 256, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var probed uint64
	for b.Loop() {
		sum, err := s.Scan(context.Background(), tg, ports, func(Result) {})
		if err != nil || sum.Method != MethodSYN || sum.Closed != 1000 {
			b.Fatalf("%+v %v", sum, err)
		}
		probed += sum.Probed
	}
	b.ReportMetric(float64(probed)/b.Elapsed().Seconds(), "ports/s")
}

// TestSYNScanCancel cancels a slow SYN scan after its first result: Scan
// must return promptly with context.Canceled.
func TestSYNScanCancel(t *testing.T) {
	requireRoot(t)
	s, err := New(Options{Scope: loopback(), Method: MethodSYN, Rate: 200, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	all, err := ParsePorts("-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum, err := s.Scan(ctx, loopbackTargets(t, "127.0.0.1"), all, func(Result) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if sum.Method != MethodSYN || sum.Probed == 0 || sum.Probed >= uint64(len(all)) {
		t.Errorf("%s scan probed %d of %d ports", sum.Method, sum.Probed, len(all))
	}
}
