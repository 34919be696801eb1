//go:build !linux

package discovery

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// rttRecheck is how often a probe waiting the full timeout looks whether
// its host's estimate has become ready (the event loop of
// connect_linux.go instead looks each time the estimate changes).
const rttRecheck = 25 * time.Millisecond

// connectScan connect-scans every port of every target and passes each
// result to report (which may be called from several goroutines). It
// returns when every probe has finished or ctx is done. Where there is no
// event loop (see connect_linux.go), each probe in flight has a goroutine
// of its own, and at most Concurrency are in flight: a probe waiting for a
// silent port holds one slot, not a worker that other probes queue behind.
func (s *Scanner) connectScan(ctx context.Context, targets *Targets, ports []uint16, report func(Result)) error {
	rtt := newRTTTable(s.opts.Timeout)
	slots := make(chan struct{}, s.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for host := range targets.All() {
		for _, p := range ports {
			if err := s.limiter.Wait(ctx); err != nil {
				return nil
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Go(func() {
				defer func() { <-slots }()
				if r, ok := s.probe(ctx, rtt, host, p); ok {
					report(r)
				}
			})
		}
	}
	return nil
}

// probe connects to host:port, waiting as long as the host's round-trip
// estimate in rtt says (see rtt.go). ok is false when ctx was cancelled.
func (s *Scanner) probe(ctx context.Context, rtt *rttTable, host netip.Addr, port uint16) (Result, bool) {
	r := Result{Host: host, Port: port}
	wait := rtt.timeout(host)
	var conn net.Conn
	var err error
	for try := 0; ; try++ {
		dctx, cancel := context.WithTimeout(ctx, wait)
		t0 := time.Now()
		// A first probe started before the host's round trips were timed
		// waits the full timeout; once they are, it is cut short at the
		// wait the estimate gives, like a probe started after them.
		var cut atomic.Int64
		stop := make(chan struct{})
		if try == 0 && wait >= s.opts.Timeout {
			full := wait
			go func() {
				tk := time.NewTicker(rttRecheck)
				defer tk.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tk.C:
						if w := rtt.timeout(host); w < full && time.Since(t0) >= w {
							cut.Store(int64(w))
							cancel()
							return
						}
					}
				}
			}()
		}
		conn, err = s.dialer.DialContext(dctx, "tcp", netip.AddrPortFrom(host, port).String())
		r.Latency = time.Since(t0)
		close(stop)
		cancel()
		if w := time.Duration(cut.Load()); w > 0 && err != nil && ctx.Err() == nil {
			// Cut short: a shortened wait that ran out.
			wait, err = w, context.DeadlineExceeded
		}
		if ctx.Err() != nil {
			if conn != nil {
				_ = conn.Close()
			}
			return r, false
		}
		if err == nil || errors.Is(err, syscall.ECONNREFUSED) {
			if try == 0 {
				rtt.sample(host, r.Latency)
			}
			break
		}
		if !isTimeout(err) {
			break
		}
		r.Wait = wait
		if try > 0 || wait >= s.opts.Timeout {
			break
		}
		// A shortened wait ran out: try once more, waiting twice as long.
		if err := s.limiter.Wait(ctx); err != nil {
			return r, false
		}
		wait = min(2*wait, s.opts.Timeout)
	}
	if err != nil {
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
