package discovery

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Host discovery asks every target whether it is there, three ways at
// once: an ICMP echo request (on a raw ICMP socket, or on the kernel's
// unprivileged "ping" socket when raw sockets are not allowed), and a TCP
// ping of a few ports, a SYN on a raw socket or else a connect. A host is
// up when any of them is answered: an echo reply, a SYN/ACK or a RST, an
// accepted or refused connection. An unanswered probe is sent once more.

// DefaultPingPorts returns the ports of the TCP ping: 80 and 443.
func DefaultPingPorts() []uint16 { return []uint16{80, 443} }

// maxEchoPacket bounds the ICMP packets host discovery reads.
const maxEchoPacket = 1500

// HostResult is the outcome of host discovery for one address.
type HostResult struct {
	Host netip.Addr `json:"host"`
	Up   bool       `json:"up"`
	// Reason is the first answer heard: "echo-reply", or "syn-ack",
	// "reset", "connect" or "refused" followed by "/" and the port, or
	// "arp-reply/" and the host's MAC address.
	Reason  string        `json:"reason,omitempty"`
	Latency time.Duration `json:"latency_ns,omitempty"`
}

// HostSummary counts the results of host discovery.
type HostSummary struct {
	Hosts uint64 `json:"hosts"`
	Up    uint64 `json:"up"`
	// Methods says how hosts were asked, and why a method was not used.
	Methods []string      `json:"methods"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Discover runs host discovery on every target and calls emit once per
// target, up or not, in address order when discovery ends. Like Scan, it
// refuses targets outside the scanner's scope before sending anything.
func (s *Scanner) Discover(ctx context.Context, targets *Targets, emit func(HostResult)) (HostSummary, error) {
	if targets == nil {
		return HostSummary{}, errors.New("discovery: nothing to scan")
	}
	if err := s.checkScope(targets); err != nil {
		return HostSummary{}, err
	}
	raw, rawErr := openRawTCP(targets)
	if rawErr != nil {
		raw = nil
	} else {
		defer raw.Close()
	}
	_, sum, err := s.discover(ctx, targets, raw, emit)
	if rawErr != nil {
		sum.Methods = append(sum.Methods, fmt.Sprintf("no raw TCP socket (%v)", rawErr))
	}
	return sum, err
}

// checkScope refuses targets outside the scanner's scope.
func (s *Scanner) checkScope(targets *Targets) error {
	for _, r := range targets.ranges {
		if !s.opts.Scope.Contains(r) {
			return fmt.Errorf("discovery: %s is not inside scope %s: %w", r, s.opts.Scope, ErrOutOfScope)
		}
	}
	return nil
}

// discover asks every target whether it is up and returns the addresses
// that are, sorted. raw, when not nil, is used for a SYN ping; emit, when
// not nil, receives every target's result.
func (s *Scanner) discover(ctx context.Context, targets *Targets, raw *rawTCP, emit func(HostResult)) ([]netip.Addr, HostSummary, error) {
	start := time.Now()
	sum := HostSummary{Hosts: targets.Len()}
	var mu sync.Mutex
	seen := map[netip.Addr]HostResult{}
	mark := func(h netip.Addr, reason string, lat time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := seen[h]; !ok && targets.contains(h) {
			seen[h] = HostResult{Host: h, Up: true, Reason: reason, Latency: lat}
		}
	}

	var wg sync.WaitGroup
	var echoNote string
	wg.Go(func() { echoNote = s.echoSweep(ctx, targets, mark) })
	var arpNote string
	if s.opts.ARP {
		wg.Go(func() { arpNote = s.arpSweep(ctx, targets, mark) })
	}

	ping := *s
	ping.opts.Fingerprint = false
	ch := make(chan Result, s.opts.Concurrency)
	go func() {
		defer close(ch)
		if raw != nil {
			ping.synRun(ctx, raw, targets, s.opts.PingPorts, ch)
			return
		}
		ping.connectRun(ctx, targets, s.opts.PingPorts, ch)
	}()
	for r := range ch {
		if r.State == Filtered {
			continue
		}
		reason := r.Reason
		if r.State == Open && raw == nil {
			reason = "connect"
		}
		mark(r.Host, fmt.Sprintf("%s/%d", reason, r.Port), r.Latency)
	}
	wg.Wait()

	tcp := "TCP SYN ping"
	if raw == nil {
		tcp = "TCP connect ping"
	}
	sum.Methods = append(sum.Methods, echoNote, fmt.Sprintf("%s of ports %v", tcp, s.opts.PingPorts))
	if arpNote != "" {
		sum.Methods = append(sum.Methods, arpNote)
	}
	if err := ctx.Err(); err != nil {
		sum.Elapsed = time.Since(start)
		return nil, sum, err
	}
	up := make([]netip.Addr, 0, len(seen))
	for h := range seen {
		up = append(up, h)
	}
	slices.SortFunc(up, netip.Addr.Compare)
	sum.Up = uint64(len(up))
	if emit != nil {
		for h := range targets.All() {
			r, ok := seen[h]
			if !ok {
				r = HostResult{Host: h, Reason: "no-response"}
			}
			emit(r)
		}
	}
	sum.Elapsed = time.Since(start)
	return up, sum, nil
}

// contains reports whether a is one of the targets.
func (t *Targets) contains(a netip.Addr) bool {
	for _, r := range t.ranges {
		if r.First.Is4() == a.Is4() && !a.Less(r.First) && !r.Last.Less(a) {
			return true
		}
	}
	return false
}

// targetsOf returns the targets made of addrs.
func targetsOf(addrs []netip.Addr) *Targets {
	rs := make([]Range, len(addrs))
	for i, a := range addrs {
		rs[i] = Range{a, a}
	}
	t := &Targets{ranges: merge(rs)}
	for _, r := range t.ranges {
		n, _ := r.size()
		t.n += n
	}
	return t
}

// echoConn is an ICMP socket of one family.
type echoConn struct {
	c     *icmp.PacketConn
	proto int // 1 (ICMP) or 58 (ICMPv6)
	raw   bool
}

// listenEcho opens an ICMP socket: raw if allowed, else the unprivileged
// ping socket.
func listenEcho(v6 bool) (*echoConn, error) {
	rawNet, dgramNet, laddr, proto := "ip4:icmp", "udp4", "0.0.0.0", 1
	if v6 {
		rawNet, dgramNet, laddr, proto = "ip6:ipv6-icmp", "udp6", "::", 58
	}
	c, err := icmp.ListenPacket(rawNet, laddr)
	if err == nil {
		return &echoConn{c: c, proto: proto, raw: true}, nil
	}
	c, err2 := icmp.ListenPacket(dgramNet, laddr)
	if err2 == nil {
		return &echoConn{c: c, proto: proto}, nil
	}
	return nil, fmt.Errorf("raw ICMP socket: %w; ping socket: %w", err, err2)
}

func (ec *echoConn) addr(h netip.Addr) net.Addr {
	if ec.raw {
		return &net.IPAddr{IP: h.AsSlice()}
	}
	return &net.UDPAddr{IP: h.AsSlice()}
}

// echoReply is a parsed ICMP or ICMPv6 echo reply.
type echoReply struct {
	ID, Seq int
	Data    []byte
}

// parseEchoReply parses an ICMP (proto 1) or ICMPv6 (proto 58) message and
// returns it if it is an echo reply.
func parseEchoReply(proto int, b []byte) (echoReply, error) {
	if len(b) > maxEchoPacket {
		return echoReply{}, fmt.Errorf("icmp message of %d bytes: larger than %d", len(b), maxEchoPacket)
	}
	m, err := icmp.ParseMessage(proto, b)
	if err != nil {
		return echoReply{}, fmt.Errorf("icmp message: %w", err)
	}
	if m.Type != ipv4.ICMPTypeEchoReply && m.Type != ipv6.ICMPTypeEchoReply {
		return echoReply{}, fmt.Errorf("icmp message: type %v is not an echo reply", m.Type)
	}
	e, ok := m.Body.(*icmp.Echo)
	if !ok {
		return echoReply{}, errors.New("icmp message: echo reply without an echo body")
	}
	return echoReply{ID: e.ID, Seq: e.Seq, Data: e.Data}, nil
}

// echoSweep sends ICMP echo requests to every target, twice to those that
// did not answer the first, and marks those that answer. It returns a note
// on how it asked.
func (s *Scanner) echoSweep(ctx context.Context, targets *Targets, mark func(netip.Addr, string, time.Duration)) string {
	var token [8]byte
	_, _ = rand.Read(token[:])
	id := int(token[0])<<8 | int(token[1])
	conns := map[bool]*echoConn{} // by "is IPv6"
	var notes []string
	for _, r := range targets.ranges {
		v6 := !r.First.Is4()
		if _, done := conns[v6]; done {
			continue
		}
		ec, err := listenEcho(v6)
		conns[v6] = ec
		if err != nil {
			notes = append(notes, "no ICMP echo: "+err.Error())
		}
	}

	var mu sync.Mutex
	sent := map[netip.Addr]time.Time{}
	answered := map[netip.Addr]bool{}
	var readers sync.WaitGroup
	for _, ec := range conns {
		if ec == nil {
			continue
		}
		kind := "raw"
		if !ec.raw {
			kind = "ping socket"
		}
		notes = append(notes, fmt.Sprintf("ICMP echo (%s)", kind))
		readers.Go(func() {
			buf := make([]byte, maxEchoPacket)
			for {
				n, peer, err := ec.c.ReadFrom(buf)
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					continue
				}
				rep, err := parseEchoReply(ec.proto, buf[:n])
				if err != nil || !bytes.Equal(rep.Data, token[:]) || (ec.raw && rep.ID != id) {
					continue
				}
				var ip net.IP
				switch a := peer.(type) {
				case *net.IPAddr:
					ip = a.IP
				case *net.UDPAddr:
					ip = a.IP
				}
				h, ok := netip.AddrFromSlice(ip)
				if !ok {
					continue
				}
				h = h.Unmap()
				mu.Lock()
				t0, ok := sent[h]
				answered[h] = true
				mu.Unlock()
				if ok {
					mark(h, "echo-reply", time.Since(t0))
				}
			}
		})
	}
	defer func() {
		for _, ec := range conns {
			if ec != nil {
				_ = ec.c.Close()
			}
		}
		readers.Wait()
	}()

	seq := 0
	for round := range 2 {
		for h := range targets.All() {
			ec := conns[!h.Is4()]
			if ec == nil {
				continue
			}
			mu.Lock()
			done := answered[h]
			mu.Unlock()
			if done {
				continue
			}
			if err := s.limiter.Wait(ctx); err != nil {
				return joinNotes(notes)
			}
			var typ icmp.Type = ipv4.ICMPTypeEcho
			if !h.Is4() {
				typ = ipv6.ICMPTypeEchoRequest
			}
			seq++
			msg, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq & 0xffff, Data: token[:]}}).Marshal(nil)
			if err != nil {
				continue
			}
			mu.Lock()
			if round == 0 {
				sent[h] = time.Now()
			}
			mu.Unlock()
			if _, err := ec.c.WriteTo(msg, ec.addr(h)); err != nil {
				s.log.Debug("discovery: echo request not sent", "host", h, "err", err)
			}
		}
		if !s.waitEchoes(ctx, targets, &mu, answered) {
			break
		}
	}
	return joinNotes(notes)
}

// waitEchoes waits up to the scanner's timeout for every target to have
// answered. It returns false when all did, or when ctx is done.
func (s *Scanner) waitEchoes(ctx context.Context, targets *Targets, mu *sync.Mutex, answered map[netip.Addr]bool) bool {
	deadline := time.NewTimer(s.opts.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		mu.Lock()
		all := uint64(len(answered)) >= targets.Len()
		mu.Unlock()
		if all {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-tick.C:
		}
	}
}

func joinNotes(notes []string) string {
	slices.Sort(notes)
	var b bytes.Buffer
	for i, n := range notes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(n)
	}
	return b.String()
}
