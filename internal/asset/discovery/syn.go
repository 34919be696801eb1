package discovery

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// SYN scanning: a SYN is written on a raw IP socket (the kernel adds the IP
// header), and the answers are read from the same socket, which sees every
// TCP segment the host receives. A SYN/ACK means open, a RST closed, and an
// ICMP destination-unreachable error (read on a raw ICMP socket) or no
// answer after one retransmission filtered. The scanner never completes the
// handshake: no socket owns the source port, so the kernel itself answers a
// SYN/ACK with a RST, which is what an explicit RST would do.
//
// The wait for an answer adapts to the round trip, as TCP's does (RFC
// 6298): once enough answers are timed it is the smoothed round-trip time
// plus four times its variation, at least synMinRTO, doubled for the
// retransmission, and never more than the scanner's Timeout. A silent port
// then costs a fraction of the Timeout on a fast network.
//
// Every probe's sequence number is a keyed hash of its target address and
// port, so an answer is accepted only if it acknowledges that number: stray
// segments and answers meant for other programs are ignored.

const (
	// synRetries is how many times an unanswered SYN is sent again.
	synRetries = 1
	// synMinRTO and synRTTSamples bound the adaptive timeout: it is never
	// shorter than synMinRTO, and the configured timeout applies until
	// synRTTSamples answers have been timed.
	synMinRTO     = 200 * time.Millisecond
	synRTTSamples = 16
	// synSweep is how often expired probes are looked for.
	synSweep = 10 * time.Millisecond
	// synMaxInflight caps the probes awaiting an answer.
	synMaxInflight = 1 << 16
	// Source ports are drawn above Linux's default ephemeral range
	// (32768-60999), so they never belong to one of the host's own
	// connections.
	synPortBase  = 61000
	synPortRange = 4000
	// rawReadBuffer is the receive buffer asked for the raw socket: a
	// burst of answers must not overflow it.
	rawReadBuffer = 8 << 20
)

// rawTCP holds the raw TCP sockets of one scan, one per address family the
// targets use, and raw ICMP sockets for the destination-unreachable errors
// that firewalls and routers send back (best effort: nil if they could not
// be opened).
type rawTCP struct {
	v4, v6       *net.IPConn
	icmp4, icmp6 *net.IPConn
}

// openRawTCP opens raw TCP sockets for the families of targets. It fails
// without the privilege to open raw sockets.
func openRawTCP(targets *Targets) (*rawTCP, error) {
	var need4, need6 bool
	for _, r := range targets.ranges {
		if r.First.Is4() {
			need4 = true
		} else {
			need6 = true
		}
	}
	r := &rawTCP{}
	open := func(network, laddr string) (*net.IPConn, error) {
		pc, err := net.ListenPacket(network, laddr)
		if err != nil {
			return nil, fmt.Errorf("open raw socket %s: %w", network, err)
		}
		c, ok := pc.(*net.IPConn)
		if !ok {
			_ = pc.Close()
			return nil, fmt.Errorf("open raw socket %s: unexpected %T", network, pc)
		}
		_ = c.SetReadBuffer(rawReadBuffer) // best effort: the kernel caps it
		forceReadBuffer(c, rawReadBuffer)
		return c, nil
	}
	var err error
	if need4 {
		if r.v4, err = open("ip4:tcp", "0.0.0.0"); err != nil {
			return nil, err
		}
		r.icmp4, _ = open("ip4:icmp", "0.0.0.0")
	}
	if need6 {
		if r.v6, err = open("ip6:tcp", "::"); err != nil {
			r.Close()
			return nil, err
		}
		r.icmp6, _ = open("ip6:ipv6-icmp", "::")
	}
	return r, nil
}

func (r *rawTCP) conn(a netip.Addr) *net.IPConn {
	if a.Is4() {
		return r.v4
	}
	return r.v6
}

// Close closes the sockets, which also ends the readers blocked on them.
func (r *rawTCP) Close() {
	for _, c := range []*net.IPConn{r.v4, r.v6, r.icmp4, r.icmp6} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// routeSource returns the local address the kernel would send from to
// reach dst. Connecting a UDP socket sends nothing.
func routeSource(dst netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to %s: %w", dst, err)
	}
	defer func() { _ = c.Close() }()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to %s: %w", dst, err)
	}
	return ap.Addr().Unmap(), nil
}

type probeKey struct {
	host netip.Addr
	port uint16
}

type synProbe struct {
	pkt     []byte
	sent    time.Time
	first   time.Time
	retried bool
}

type synDeadline struct {
	key   probeKey
	at    time.Time
	tries int
}

// synEngine is the state of one SYN run.
type synEngine struct {
	s       *Scanner
	raw     *rawTCP
	seed    maphash.Seed
	sport   uint16
	timeout time.Duration
	// out carries results to the forwarder. Its capacity is the number of
	// slots, and a result holds its probe's slot until the forwarder takes
	// it, so sending on out never blocks.
	out   chan Result
	slots chan struct{}

	mu      sync.Mutex
	pending map[probeKey]*synProbe
	// queue holds deadlines in the order they were set. As the timeout
	// adapts, a deadline may come before one queued ahead of it: it then
	// expires a little late, never early.
	queue      []synDeadline
	senderDone bool
	closed     bool
	stopping   atomic.Bool
	// Round-trip estimate of RFC 6298 from answers to first SYNs (Karn:
	// retransmitted probes are not timed).
	srtt, rttvar time.Duration
	samples      int
}

// rto returns how long to wait for the answer to a SYN sent for the
// tries-th time, with e.mu held: the round-trip estimate's timeout,
// doubled for a retransmission, within [synMinRTO, the scanner's
// timeout]. Until enough answers are timed it is the scanner's timeout.
func (e *synEngine) rto(tries int) time.Duration {
	if e.samples < synRTTSamples {
		return e.timeout
	}
	d := max(e.srtt+4*e.rttvar, synMinRTO) << tries
	return min(d, e.timeout)
}

// sample feeds the round-trip estimate, with e.mu held.
func (e *synEngine) sample(rtt time.Duration) {
	if e.samples == 0 {
		e.srtt, e.rttvar = rtt, rtt/2
	} else {
		diff := e.srtt - rtt
		if diff < 0 {
			diff = -diff
		}
		e.rttvar = (3*e.rttvar + diff) / 4
		e.srtt = (7*e.srtt + rtt) / 8
	}
	e.samples++
}

func (e *synEngine) cookie(k probeKey) uint32 {
	return uint32(maphash.Comparable(e.seed, k)) // #nosec G115 -- truncating the hash is the point
}

// synRun SYN-scans every port of every target over raw and sends the
// results to out, fingerprinting open ports over a connection when the
// scanner is asked to. It returns when every probe is answered or has
// timed out, or when ctx is done.
func (s *Scanner) synRun(ctx context.Context, raw *rawTCP, targets *Targets, ports []uint16, out chan<- Result) {
	inflight := int(min(s.opts.Rate*s.opts.Timeout.Seconds()*(1+synRetries), synMaxInflight))
	inflight = max(inflight, s.opts.Concurrency, 1)
	e := &synEngine{
		s:       s,
		raw:     raw,
		seed:    maphash.MakeSeed(),
		sport:   synPortBase + rand.N[uint16](synPortRange), // #nosec G404 -- not a secret: any free high port will do
		timeout: s.opts.Timeout,
		out:     make(chan Result, inflight),
		slots:   make(chan struct{}, inflight),
		pending: map[probeKey]*synProbe{},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var bg, readers sync.WaitGroup
	for _, c := range []*net.IPConn{raw.v4, raw.v6} {
		if c != nil {
			readers.Go(func() { e.receive(c) })
		}
	}
	for v6, c := range []*net.IPConn{raw.icmp4, raw.icmp6} {
		if c != nil {
			readers.Go(func() { e.receiveICMP(c, v6 == 1) })
		}
	}
	conns := slices.DeleteFunc([]*net.IPConn{raw.v4, raw.v6, raw.icmp4, raw.icmp6}, func(c *net.IPConn) bool { return c == nil })
	// The sockets outlive this run (host discovery and the port scan share
	// them): stop this run's readers before returning, so that they do not
	// take the next run's answers.
	defer func() {
		e.stopping.Store(true)
		for _, c := range conns {
			_ = c.SetReadDeadline(time.Now())
		}
		readers.Wait()
		for _, c := range conns {
			_ = c.SetReadDeadline(time.Time{})
		}
	}()
	bg.Go(func() { e.sweep(ctx) })
	bg.Go(func() { e.send(ctx, targets, ports) })

	var fp chan Result
	var fpWG sync.WaitGroup
	if s.opts.Fingerprint {
		fp = make(chan Result)
		for range min(s.opts.Concurrency, minConcurrency) {
			fpWG.Go(func() {
				for r := range fp {
					r.Service = s.fingerprintFresh(ctx, r.Host, r.Port)
					if ctx.Err() != nil {
						continue
					}
					select {
					case out <- r:
					case <-ctx.Done():
					}
				}
			})
		}
	}
	func() {
		for {
			select {
			case r, ok := <-e.out:
				if !ok {
					return
				}
				<-e.slots
				dst := out
				if fp != nil && r.State == Open {
					dst = fp
				}
				select {
				case dst <- r:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if fp != nil {
		close(fp)
		fpWG.Wait()
	}
	cancel()
	bg.Wait()
}

// send writes one SYN per target port, under the rate limit and the bound
// on probes in flight.
func (e *synEngine) send(ctx context.Context, targets *Targets, ports []uint16) {
	defer func() {
		e.mu.Lock()
		e.senderDone = true
		e.mu.Unlock()
	}()
	for host := range targets.All() {
		src, err := routeSource(host)
		for _, p := range ports {
			select {
			case e.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			k := probeKey{host, p}
			if err != nil {
				e.finish(k, nil, Result{Host: host, Port: p, State: Filtered, Reason: err.Error()})
				continue
			}
			if err := e.s.limiter.Wait(ctx); err != nil {
				<-e.slots
				return
			}
			now := time.Now()
			pr := &synProbe{pkt: buildSYN(src, host, e.sport, p, e.cookie(k)), sent: now, first: now}
			e.mu.Lock()
			e.pending[k] = pr
			e.queue = append(e.queue, synDeadline{k, now.Add(e.rto(0)), 0})
			e.mu.Unlock()
			if err := e.write(host, pr.pkt); err != nil {
				e.finish(k, pr, Result{Host: host, Port: p, State: Filtered, Reason: "send: " + err.Error()})
			}
		}
	}
}

func (e *synEngine) write(host netip.Addr, pkt []byte) error {
	_, err := e.raw.conn(host).WriteTo(pkt, &net.IPAddr{IP: host.AsSlice()})
	return err
}

// finish ends probe k with result r. With pr non-nil it applies only while
// pr is still pending. The result is queued under the lock, so the sweeper
// never closes out between the two.
func (e *synEngine) finish(k probeKey, pr *synProbe, r Result) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if pr != nil {
		if e.pending[k] != pr {
			return false
		}
		delete(e.pending, k)
	}
	if e.closed {
		return false
	}
	e.out <- r
	return true
}

// receive reads segments from c until it is closed and ends the probes
// they answer.
func (e *synEngine) receive(c *net.IPConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || e.stopping.Load() {
				return
			}
			continue
		}
		seg, err := parseTCP(buf[:n])
		if err != nil || seg.DstPort != e.sport || seg.Flags&tcpACK == 0 {
			continue
		}
		ipa, ok := from.(*net.IPAddr)
		if !ok {
			continue
		}
		host, ok := netip.AddrFromSlice(ipa.IP)
		if !ok {
			continue
		}
		k := probeKey{host.Unmap(), seg.SrcPort}
		if seg.Ack != e.cookie(k)+1 {
			continue
		}
		var r Result
		switch {
		case seg.Flags&tcpRST != 0:
			r = Result{State: Closed, Reason: "reset"}
		case seg.Flags&tcpSYN != 0:
			r = Result{State: Open, Reason: "syn-ack"}
		default:
			continue
		}
		e.mu.Lock()
		pr := e.pending[k]
		if pr != nil {
			r.Latency = time.Since(pr.sent)
			if !pr.retried {
				e.sample(r.Latency)
			}
		}
		e.mu.Unlock()
		if pr == nil {
			continue
		}
		r.Host, r.Port = k.host, k.port
		e.finish(k, pr, r)
	}
}

// receiveICMP reads ICMP (or ICMPv6) messages from c until it is closed
// and ends, as filtered, the probes whose destination-unreachable errors
// they are.
func (e *synEngine) receiveICMP(c *net.IPConn, v6 bool) {
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || e.stopping.Load() {
				return
			}
			continue
		}
		u, err := parseUnreach(v6, buf[:n])
		if err != nil || u.SrcPort != e.sport {
			continue
		}
		k := probeKey{u.Dst.Unmap(), u.DstPort}
		if u.Seq != e.cookie(k) {
			continue
		}
		r := Result{Host: k.host, Port: k.port, State: Filtered, Reason: u.Reason}
		e.mu.Lock()
		pr := e.pending[k]
		if pr != nil {
			r.Latency = time.Since(pr.sent)
		}
		e.mu.Unlock()
		if pr != nil {
			e.finish(k, pr, r)
		}
	}
}

// sweep retransmits or ends probes whose time is up, and closes out once
// the sender is done and nothing is pending.
func (e *synEngine) sweep(ctx context.Context) {
	t := time.NewTicker(synSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		var due []synDeadline
		e.mu.Lock()
		i := 0
		for ; i < len(e.queue) && !now.Before(e.queue[i].at); i++ {
			if e.pending[e.queue[i].key] != nil {
				due = append(due, e.queue[i])
			}
		}
		e.queue = e.queue[i:]
		if len(e.queue) == 0 && e.queue != nil {
			e.queue = nil // let the backing array go
		}
		if e.senderDone && len(e.pending) == 0 && len(due) == 0 {
			e.closed = true
			close(e.out)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		for _, d := range due {
			e.mu.Lock()
			pr := e.pending[d.key]
			e.mu.Unlock()
			if pr == nil {
				continue
			}
			if d.tries >= synRetries {
				e.finish(d.key, pr, Result{Host: d.key.host, Port: d.key.port, State: Filtered, Reason: "no-response", Latency: time.Since(pr.first)})
				continue
			}
			if err := e.s.limiter.Wait(ctx); err != nil {
				return
			}
			sent := time.Now()
			e.mu.Lock()
			if e.pending[d.key] == pr {
				pr.sent = sent
				pr.retried = true
				e.queue = append(e.queue, synDeadline{d.key, sent.Add(e.rto(d.tries + 1)), d.tries + 1})
			}
			e.mu.Unlock()
			if err := e.write(d.key.host, pr.pkt); err != nil {
				e.finish(d.key, pr, Result{Host: d.key.host, Port: d.key.port, State: Filtered, Reason: "send: " + err.Error()})
			}
		}
	}
}

// fingerprintFresh connects to an open port found by a SYN probe and
// identifies its service; nil when the connection fails.
func (s *Scanner) fingerprintFresh(ctx context.Context, host netip.Addr, port uint16) *Service {
	if err := s.limiter.Wait(ctx); err != nil {
		return nil
	}
	conn, err := s.dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(host, port).String())
	if err != nil {
		s.log.Debug("discovery: fingerprint connection failed", "host", host, "port", port, "err", err)
		return nil
	}
	if conn.LocalAddr().String() == conn.RemoteAddr().String() {
		_ = conn.Close()
		return nil
	}
	return s.fingerprint(ctx, conn, host, port)
}
