package discovery

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A loopback port that answers no SYN: a listener whose accept queue
// (backlog 0) is held full by one connection nobody accepts. Linux drops
// every further SYN to it, so a connect scan waits for it and calls it
// filtered, as it would a port behind a dropping firewall, without root or
// nftables.
func silentPort(t testing.TB, host netip.Addr) uint16 {
	t.Helper()
	var family int
	var sa syscall.Sockaddr
	if host.Is4() {
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Addr: host.As4()}
	} else {
		family, sa = syscall.AF_INET6, &syscall.SockaddrInet6{Addr: host.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	var port uint16
	switch a := got.(type) {
	case *syscall.SockaddrInet4:
		port = uint16(a.Port) // #nosec G115 -- a port
	case *syscall.SockaddrInet6:
		port = uint16(a.Port) // #nosec G115 -- a port
	}
	filler, err := net.DialTimeout("tcp", netip.AddrPortFrom(host, port).String(), 5*time.Second)
	if err != nil {
		t.Fatalf("filling the accept queue of port %d: %v", port, err)
	}
	t.Cleanup(func() { _ = filler.Close() })
	return port
}

// listenerPort listens on host and accepts (and closes) every connection.
func listenerPort(t testing.TB, host netip.Addr) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return portOf(t, ln.Addr())
}

// referenceScan is the plain reference the event loop is compared with:
// one net.Dialer per port, in parallel, with a fixed timeout.
func referenceScan(t *testing.T, hosts []netip.Addr, ports []uint16, timeout time.Duration) map[netip.AddrPort]State {
	t.Helper()
	var mu sync.Mutex
	got := map[netip.AddrPort]State{}
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	for _, h := range hosts {
		for _, p := range ports {
			ap := netip.AddrPortFrom(h, p)
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				d := net.Dialer{Timeout: timeout}
				st := Filtered
				c, err := d.Dial("tcp", ap.String())
				switch {
				case err == nil:
					st = Open
					if c.LocalAddr().String() == c.RemoteAddr().String() {
						st = Closed
					}
					_ = c.Close()
				case errors.Is(err, syscall.ECONNREFUSED):
					st = Closed
				}
				mu.Lock()
				got[ap] = st
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return got
}

// loopbackHosts is 127.0.0.1, and ::1 when this machine has IPv6.
func loopbackHosts(t testing.TB) []netip.Addr {
	hosts := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		_ = ln.Close()
		hosts = append(hosts, netip.IPv6Loopback())
	} else {
		t.Logf("no IPv6 loopback: %v", err)
	}
	return hosts
}

// lab is a loopback port plan: per host, listeners and silent ports, and
// the port list to scan (those plus a block of ports above the ephemeral
// range where nothing is expected to listen).
type loopLab struct {
	hosts          []netip.Addr
	open, filtered map[netip.Addr][]uint16
	ports          []uint16
}

func newLoopLab(t testing.TB, nOpen, nFiltered int, closed string) *loopLab {
	t.Helper()
	lab := &loopLab{hosts: loopbackHosts(t), open: map[netip.Addr][]uint16{}, filtered: map[netip.Addr][]uint16{}}
	ports, err := ParsePorts(closed)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range lab.hosts {
		for range nOpen {
			p := listenerPort(t, h)
			lab.open[h] = append(lab.open[h], p)
			ports = append(ports, p)
		}
		for range nFiltered {
			p := silentPort(t, h)
			lab.filtered[h] = append(lab.filtered[h], p)
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	lab.ports = slices.Compact(ports)
	return lab
}

func (lab *loopLab) targets(t testing.TB) *Targets {
	t.Helper()
	var specs []string
	for _, h := range lab.hosts {
		specs = append(specs, h.String())
	}
	tg, err := ParseTargets(context.Background(), specs, TargetOptions{Scope: loopback()})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestConnectScanMatchesDialer scans loopback listeners, ports nothing
// listens on and ports that never answer, on 127.0.0.1 and ::1 in one
// scan, and compares every port's state with a plain net.Dialer scan of
// the same ports.
func TestConnectScanMatchesDialer(t *testing.T) {
	lab := newLoopLab(t, 6, 4, "61000-61499")
	s, err := New(Options{Scope: loopback(), Rate: 1_000_000, Concurrency: 1024, Timeout: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got := map[netip.AddrPort]State{}
	sum, err := s.Scan(context.Background(), lab.targets(t), lab.ports, func(r Result) {
		ap := netip.AddrPortFrom(r.Host, r.Port)
		if _, dup := got[ap]; dup {
			t.Errorf("%s reported twice", ap)
		}
		got[ap] = r.State
	})
	if err != nil {
		t.Fatal(err)
	}
	want := referenceScan(t, lab.hosts, lab.ports, 600*time.Millisecond)
	if len(got) != len(want) || sum.Probed != uint64(len(want)) {
		t.Errorf("event loop reported %d ports (summary %d), reference %d", len(got), sum.Probed, len(want))
	}
	for ap, st := range want {
		if got[ap] != st {
			t.Errorf("%s: event loop %q, net.Dialer %q", ap, got[ap], st)
		}
	}
	// The reference itself saw the plan: it is not broken the same way.
	for _, h := range lab.hosts {
		for _, p := range lab.open[h] {
			if st := want[netip.AddrPortFrom(h, p)]; st != Open {
				t.Errorf("listener %s:%d: reference %q", h, p, st)
			}
		}
		for _, p := range lab.filtered[h] {
			if st := want[netip.AddrPortFrom(h, p)]; st != Filtered {
				t.Errorf("silent port %s:%d: reference %q", h, p, st)
			}
		}
	}
}

// TestConnectScanGoroutines scans thousands of ports with up to 4,096
// probes in flight, many of them waiting for ports that never answer, and
// watches runtime.NumGoroutine during the scan: the event loop runs on
// the caller's goroutine, so no probe may add a goroutine.
func TestConnectScanGoroutines(t *testing.T) {
	lab := newLoopLab(t, 4, 200, "61000-63999")
	s, err := New(Options{Scope: loopback(), Rate: 1_000_000, Concurrency: 4096, Timeout: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tg := lab.targets(t)
	runtime.GC()
	time.Sleep(50 * time.Millisecond) // let the listeners' goroutines settle in Accept
	stop := make(chan struct{})
	var peak atomic.Int64
	sampled := make(chan struct{})
	base := runtime.NumGoroutine() + 1 // and the sampler
	go func() {
		defer close(sampled)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if n := int64(runtime.NumGoroutine()); n > peak.Load() {
					peak.Store(n)
				}
			}
		}
	}()
	var filtered int
	sum, err := s.Scan(context.Background(), tg, lab.ports, func(r Result) {
		if n := int64(runtime.NumGoroutine()); n > peak.Load() {
			peak.Store(n)
		}
		if r.State == Filtered {
			filtered++
		}
	})
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(len(lab.hosts) * len(lab.ports)); sum.Probed != want {
		t.Fatalf("probed %d ports, want %d", sum.Probed, want)
	}
	if want := len(lab.hosts) * 200; filtered < want {
		t.Fatalf("%d filtered ports, want at least %d: the silent ports answered", filtered, want)
	}
	// A few goroutines of the runtime or the listeners may come and go.
	const slack = 4
	if extra := int(peak.Load()) - base; extra > slack {
		t.Errorf("%d goroutines alive during the scan, %d before it: probes pile up goroutines", peak.Load(), base)
	}
}
