package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
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
	DefaultRate        = 1000
	DefaultConcurrency = 256
	DefaultTimeout     = time.Second
	DefaultBannerWait  = 500 * time.Millisecond
)

// Options configures a Scanner.
type Options struct {
	// Scope every scanned address must lie in. Required: Scan refuses
	// targets outside it before dialling anything.
	Scope Scope
	// Rate is the number of connection attempts per second, fingerprint
	// connections included (DefaultRate when <= 0).
	Rate float64
	// Concurrency bounds the connections in flight (DefaultConcurrency
	// when <= 0).
	Concurrency int
	// Timeout bounds each connection attempt and each fingerprint step
	// (DefaultTimeout when <= 0).
	Timeout time.Duration
	// Fingerprint identifies services on open ports.
	Fingerprint bool
	// BannerWait is how long to wait for a server to speak first
	// (DefaultBannerWait when <= 0).
	BannerWait time.Duration
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
	Service *Service      `json:"service,omitempty"`
}

// Summary counts the results of a scan.
type Summary struct {
	Hosts    uint64        `json:"hosts"`
	Probed   uint64        `json:"probed"`
	Open     uint64        `json:"open"`
	Closed   uint64        `json:"closed"`
	Filtered uint64        `json:"filtered"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// Scanner runs TCP connect scans.
type Scanner struct {
	opts    Options
	limiter *Limiter
	dialer  net.Dialer
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
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.BannerWait <= 0 {
		opts.BannerWait = DefaultBannerWait
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	burst := int(opts.Rate / 100)
	return &Scanner{
		opts:    opts,
		limiter: NewLimiter(opts.Rate, burst, opts.Now),
		dialer:  net.Dialer{Timeout: opts.Timeout},
		log:     log,
	}, nil
}

type job struct {
	host netip.Addr
	port uint16
}

// Scan probes every port of every target and calls emit with each result,
// from one goroutine at a time, as results arrive. It refuses, before
// dialling anything, targets outside the scanner's scope. It returns
// ctx.Err() when cancelled; the summary counts what finished.
func (s *Scanner) Scan(ctx context.Context, targets *Targets, ports []uint16, emit func(Result)) (Summary, error) {
	var sum Summary
	if targets == nil || len(ports) == 0 {
		return sum, errors.New("discovery: nothing to scan")
	}
	for _, r := range targets.ranges {
		if !s.opts.Scope.Contains(r) {
			return sum, fmt.Errorf("discovery: %s is not inside scope %s: %w", r, s.opts.Scope, ErrOutOfScope)
		}
	}
	for _, p := range ports {
		if p == 0 {
			return sum, errors.New("discovery: port 0 is not scannable")
		}
	}
	sum.Hosts = targets.Len()
	start := time.Now()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job)
	results := make(chan Result, s.opts.Concurrency)
	var wg sync.WaitGroup
	for range s.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r, ok := s.probe(ctx, j.host, j.port)
				if !ok {
					continue
				}
				results <- r
			}
		}()
	}
	go func() {
		defer close(jobs)
		for host := range targets.All() {
			for _, p := range ports {
				if err := s.limiter.Wait(ctx); err != nil {
					return
				}
				select {
				case jobs <- job{host, p}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	for r := range results {
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
	sum.Elapsed = time.Since(start)
	return sum, ctx.Err()
}

// probe connects to host:port. ok is false when ctx was cancelled.
func (s *Scanner) probe(ctx context.Context, host netip.Addr, port uint16) (Result, bool) {
	addr := net.JoinHostPort(host.String(), strconv.Itoa(int(port)))
	r := Result{Host: host, Port: port}
	t0 := time.Now()
	conn, err := s.dialer.DialContext(ctx, "tcp", addr)
	r.Latency = time.Since(t0)
	if err != nil {
		if ctx.Err() != nil {
			return r, false
		}
		r.State, r.Reason = classifyDialError(err)
		return r, true
	}
	if conn.LocalAddr().String() == conn.RemoteAddr().String() {
		// TCP simultaneous open with itself: the kernel picked the target
		// port as the source port of a loopback connection. Nothing listens.
		_ = conn.Close()
		r.State, r.Reason = Closed, "self-connect"
		return r, true
	}
	r.State = Open
	if s.opts.Fingerprint {
		r.Service = s.fingerprint(ctx, conn, host, port)
	} else {
		_ = conn.Close()
	}
	if ctx.Err() != nil {
		return r, false
	}
	return r, true
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
