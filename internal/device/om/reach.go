package om

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Reachability probe modes (Options.Reach).
const (
	ReachAuto = "auto" // ICMP echo where the process may send it, else or then TCP
	ReachTCP  = "tcp"  // TCP connect to the management port only
	ReachOff  = "off"  // no probe: SNMP alone says whether a device answers
)

// errNoICMP means this process may not send ICMP echo (no unprivileged
// ping socket and no raw socket).
var errNoICMP = errors.New("ICMP echo not permitted")

// probe checks that a device answers: ICMP echo when permitted (an
// unprivileged ping socket, or a raw socket as root), then a TCP connect
// to its management port (SSH) when ICMP is not permitted or unanswered.
// It returns the method that got an answer and the round trip.
func (s *Service) probe(ctx context.Context, host string, tcpPort int) (string, time.Duration, error) {
	timeout := s.opts.ReachTimeout
	var icmpErr error
	if s.opts.Reach == ReachAuto {
		ip, err := resolve(ctx, host)
		if err != nil {
			return "", 0, err
		}
		rtt, err := ping(ctx, ip, timeout)
		if err == nil {
			return "icmp", rtt, nil
		}
		icmpErr = err
	}
	start := time.Now()
	var d net.Dialer
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := d.DialContext(cctx, "tcp", net.JoinHostPort(host, strconv.Itoa(tcpPort)))
	if err != nil {
		if icmpErr != nil && !errors.Is(icmpErr, errNoICMP) {
			return "", 0, fmt.Errorf("no answer to ICMP echo (%v) nor on TCP port %d: %w", icmpErr, tcpPort, err)
		}
		return "", 0, fmt.Errorf("no answer on TCP port %d: %w", tcpPort, err)
	}
	rtt := time.Since(start)
	_ = c.Close()
	return "tcp", rtt, nil
}

func resolve(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	return ips[0].Unmap(), nil
}

// ping sends one ICMP echo request to ip and waits for its reply. The
// reply is recognised by a random payload, which works for both socket
// kinds (the kernel rewrites the identifier of a ping socket).
func ping(ctx context.Context, ip netip.Addr, timeout time.Duration) (time.Duration, error) {
	networks, laddr, proto := []string{"udp4", "ip4:icmp"}, "0.0.0.0", 1
	var echo, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if ip.Is6() {
		networks, laddr, proto = []string{"udp6", "ip6:ipv6-icmp"}, "::", 58
		echo, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	var c *icmp.PacketConn
	var raw bool
	for i, n := range networks {
		var err error
		if c, err = icmp.ListenPacket(n, laddr); err == nil {
			raw = i == 1
			break
		}
	}
	if c == nil {
		return 0, errNoICMP
	}
	defer func() { _ = c.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return 0, err
	}
	id := int(nonce[0])<<8 | int(nonce[1])
	msg := icmp.Message{Type: echo, Body: &icmp.Echo{ID: id, Seq: 1, Data: nonce}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return 0, err
	}
	var dst net.Addr = &net.UDPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
	if raw {
		dst = &net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
	}
	start := time.Now()
	if err := c.SetDeadline(start.Add(timeout)); err != nil {
		return 0, err
	}
	if _, err := c.WriteTo(b, dst); err != nil {
		return 0, fmt.Errorf("icmp echo: %w", err)
	}
	buf := make([]byte, 1500)
	for {
		n, peer, err := c.ReadFrom(buf)
		if err != nil {
			return 0, fmt.Errorf("icmp echo: %w", err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		if !ok || string(e.Data) != string(nonce) || !samePeer(peer, ip) {
			continue
		}
		return time.Since(start), nil
	}
}

func samePeer(a net.Addr, ip netip.Addr) bool {
	var b net.IP
	switch x := a.(type) {
	case *net.UDPAddr:
		b = x.IP
	case *net.IPAddr:
		b = x.IP
	default:
		return false
	}
	p, ok := netip.AddrFromSlice(b)
	return ok && p.Unmap() == ip.WithZone("")
}
