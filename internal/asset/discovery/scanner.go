package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// State is the state of a scanned port.
type State string

// Port states.
const (
	// Open: the connection was accepted.
	Open State = "open"
	// Closed: the host refused the connection.
	Closed State = "closed"
	// Filtered: no answer in time, or the network reported it unreachable.
	Filtered State = "filtered"
)

// Defaults for Options.
const (
	DefaultRate = 1000
	// DefaultConcurrency (0) lets the scanner choose how many connections
	// may be in flight; see Options.Concurrency.
	DefaultConcurrency = 0
	DefaultTimeout     = time.Second
	DefaultBannerWait  = 500 * time.Millisecond
)

// Method is how a scan probes ports.
type Method string

// Scan methods.
const (
	// MethodConnect completes a TCP handshake with each port through the
	// operating system. It needs no privilege.
	MethodConnect Method = "connect"
	// MethodSYN sends a bare SYN on a raw socket and reads the answer
	// (SYN/ACK: open, RST: closed, none: filtered) without completing the
	// handshake. It needs raw sockets (root or CAP_NET_RAW); without them
	// the scan falls back to MethodConnect and says so in its Summary.
	MethodSYN Method = "syn"
)

// ParseMethod parses a scan method name; the empty string is MethodConnect.
func ParseMethod(s string) (Method, error) {
	switch Method(s) {
	case "", MethodConnect:
		return MethodConnect, nil
	case MethodSYN:
		return MethodSYN, nil
	}
	return "", fmt.Errorf("discovery: unknown scan method %q (want %s or %s)", s, MethodConnect, MethodSYN)
}

// Options configures a Scanner.
type Options struct {
	// Scope every scanned address must lie in. Required: Scan refuses
	// targets outside it before dialling anything.
	Scope Scope
	// Rate is the number of connection attempts per second, fingerprint
	// connections included (DefaultRate when <= 0).
	Rate float64
	// Concurrency bounds the connections in flight. When <= 0 the scanner
	// allows Rate × Timeout of them, so that probes waiting for ports that
	// never answer do not hold the scan below Rate, at least
	// minConcurrency and at most what the open-file limit leaves room for
	// (autoConcurrency). A SYN scan holds no connection per probe: it lets up to
	// Rate × Timeout × 2 probes (at least Concurrency, at most 65,536)
	// await an answer, so that silent ports do not slow it below Rate.
	Concurrency int
	// Timeout bounds each connection attempt and each fingerprint step
	// (DefaultTimeout when <= 0). A SYN scan waits less for an answer
	// once it has measured the round trip.
	Timeout time.Duration
	// Fingerprint identifies services on open ports.
	Fingerprint bool
	// BannerWait is how long to wait for a server to speak first
	// (DefaultBannerWait when <= 0).
	BannerWait time.Duration
	// Method chooses connect or SYN scanning (MethodConnect when empty).
	Method Method
	// Ping runs host discovery first (ICMP echo and a TCP ping of
	// PingPorts) and port-scans only the hosts that answered.
	Ping bool
	// ARP adds ARP requests to host discovery for the IPv4 targets on a
	// directly attached Ethernet segment (see arp.go).
	ARP bool
	// PingPorts are the ports of the TCP ping (DefaultPingPorts when
	// empty).
	PingPorts []uint16
	// OnHost, when set with Ping, is told each target's host discovery
	// result, up or not, before the port scan starts.
	OnHost func(HostResult)
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
	// Now is the rate limiter's clock; nil means time.Now.
	Now func() time.Time
}

// Result is the outcome of probing one port.
type Result struct {
	Host    netip.Addr    `json:"host"`
	Port    uint16        `json:"port"`
	State   State         `json:"state"`
	Reason  string        `json:"reason,omitempty"`
	Latency time.Duration `json:"latency_ns"`
	// Wait is how long a connect probe waited for an answer that did not
	// come (filtered ports; the last try's wait when it was retried).
	Wait    time.Duration `json:"wait_ns,omitempty"`
	Service *Service      `json:"service,omitempty"`
}

// Summary counts the results of a scan.
type Summary struct {
	// Method is the method the scan used.
	Method Method `json:"method"`
	// Fallback says why the scan used another method than the one asked
	// for; empty when it did not.
	Fallback string `json:"fallback,omitempty"`
	// Hosts counts the target addresses; HostsUp those that answered host
	// discovery (all of them when discovery was off).
	Hosts   uint64 `json:"hosts"`
	HostsUp uint64 `json:"hosts_up"`
	// Discovery is the host discovery summary, when Ping was on.
	Discovery *HostSummary  `json:"discovery,omitempty"`
	Probed    uint64        `json:"probed"`
	Open      uint64        `json:"open"`
	Closed    uint64        `json:"closed"`
	Filtered  uint64        `json:"filtered"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// Scanner runs TCP connect or SYN scans, and host discovery.
type Scanner struct {
	opts    Options
	limiter *Limiter
	dialer  net.Dialer
	fps     *fingerprints
	log     *slog.Logger
}

// New returns a Scanner. It fails when opts.Scope is empty.
func New(opts Options) (*Scanner, error) {
	if len(opts.Scope.prefixes) == 0 {
		return nil, fmt.Errorf("discovery: an explicit scope is required: %w", ErrOutOfScope)
	}
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	fps, err := parseFingerprints(fingerprintsYAML)
	if err != nil {
		return nil, err
	}
	if opts.Concurrency <= 0 {
		conns := 1
		if opts.Fingerprint {
			// A fingerprint may send every probe at once, each on a
			// connection of its own, while holding the first.
			conns += len(fps.Probes)
		}
		opts.Concurrency = autoConcurrency(opts.Rate, opts.Timeout, conns, openFileLimit())
	}
	if opts.BannerWait <= 0 {
		opts.BannerWait = DefaultBannerWait
	}
	if opts.Method == "" {
		opts.Method = MethodConnect
	}
	if _, err := ParseMethod(string(opts.Method)); err != nil {
		return nil, err
	}
	if len(opts.PingPorts) == 0 {
		opts.PingPorts = DefaultPingPorts()
	}
	for _, p := range opts.PingPorts {
		if p == 0 {
			return nil, errors.New("discovery: port 0 is not a ping port")
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	burst := int(opts.Rate / 100)
	return &Scanner{
		fps:     fps,
		opts:    opts,
		limiter: NewLimiter(opts.Rate, burst, opts.Now),
		dialer:  net.Dialer{Timeout: opts.Timeout},
		log:     log,
	}, nil
}

// Scan probes every port of every target, with the scanner's method, and
// calls emit with each result, from one goroutine at a time, as results
// arrive. With Ping it first runs host discovery and probes only the hosts
// that answered. It refuses, before sending anything, targets outside the
// scanner's scope. It returns ctx.Err() when cancelled; the summary counts
// what finished and says which method was used.
func (s *Scanner) Scan(ctx context.Context, targets *Targets, ports []uint16, emit func(Result)) (Summary, error) {
	var sum Summary
	if targets == nil || len(ports) == 0 {
		return sum, errors.New("discovery: nothing to scan")
	}
	if err := s.checkScope(targets); err != nil {
		return sum, err
	}
	for _, p := range ports {
		if p == 0 {
			return sum, errors.New("discovery: port 0 is not scannable")
		}
	}
	sum.Hosts = targets.Len()
	sum.HostsUp = sum.Hosts
	sum.Method = s.opts.Method
	start := time.Now()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var raw *rawTCP
	if s.opts.Method == MethodSYN || s.opts.Ping {
		var err error
		raw, err = openRawTCP(targets)
		if err != nil {
			raw = nil
			if s.opts.Method == MethodSYN {
				sum.Method = MethodConnect
				sum.Fallback = fmt.Sprintf("SYN scan needs raw sockets (root or CAP_NET_RAW): %v; used a connect scan", err)
				s.log.Warn("discovery: falling back to connect scan", "err", err)
			}
		} else {
			defer raw.Close()
		}
	}
	if s.opts.Ping {
		up, hs, err := s.discover(ctx, targets, raw, s.opts.OnHost)
		sum.Discovery = &hs
		if err != nil {
			sum.Elapsed = time.Since(start)
			return sum, err
		}
		sum.HostsUp = uint64(len(up))
		if len(up) == 0 {
			sum.Elapsed = time.Since(start)
			return sum, ctx.Err()
		}
		targets = targetsOf(up)
	}

	// report counts and emits a result; the connect scan calls it from its
	// event loop and from fingerprinting goroutines, one at a time.
	var mu sync.Mutex
	report := func(r Result) {
		mu.Lock()
		defer mu.Unlock()
		sum.Probed++
		switch r.State {
		case Open:
			sum.Open++
		case Closed:
			sum.Closed++
		default:
			sum.Filtered++
		}
		emit(r)
	}
	if sum.Method == MethodSYN {
		results := make(chan Result, min(s.opts.Concurrency, 1024))
		go func() {
			defer close(results)
			s.synRun(ctx, raw, targets, ports, results)
		}()
		for r := range results {
			report(r)
		}
	} else if err := s.connectScan(ctx, targets, ports, report); err != nil {
		// connectScan has returned: nothing reports any more.
		sum.Elapsed = time.Since(start)
		return sum, err
	}
	sum.Elapsed = time.Since(start)
	return sum, ctx.Err()
}

// connectRun connect-scans every port of every target and sends the
// results to out (host discovery's TCP ping reads them there). It returns
// when every probe has finished or ctx is done.
func (s *Scanner) connectRun(ctx context.Context, targets *Targets, ports []uint16, out chan<- Result) {
	err := s.connectScan(ctx, targets, ports, func(r Result) {
		select {
		case out <- r:
		case <-ctx.Done():
		}
	})
	if err != nil {
		s.log.Warn("discovery: connect scan failed", "err", err)
	}
}

func classifyDialError(err error) (State, string) {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Closed, "refused"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Filtered, "timeout"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Filtered, "unreachable"
	default:
		return Filtered, err.Error()
	}
}

// Bounds of the automatic concurrency.
const (
	minConcurrency = 256
	maxConcurrency = 16384
	// fdReserve is how many open files the automatic concurrency leaves
	// to the rest of the process.
	fdReserve = 256
)

// autoConcurrency is how many connections a scan lets be in flight when
// not told: enough that probes waiting a whole timeout for silent ports
// (Rate × Timeout) do not hold the scan below its rate, within the
// open-file limit nofile when each probe holds up to conns connections.
func autoConcurrency(rate float64, timeout time.Duration, conns, nofile int) int {
	budget := (nofile - fdReserve) / max(conns, 1)
	n := int(min(rate*timeout.Seconds(), maxConcurrency))
	n = max(n, minConcurrency)
	return max(min(n, budget), 1)
}
