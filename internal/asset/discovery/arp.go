//go:build linux

package discovery

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// ARP discovery (Options.ARP) asks the hosts of a directly attached
// Ethernet segment for their hardware address, as nmap -PR does: one ARP
// request per IPv4 target on the segment, sent on a packet socket (root
// or CAP_NET_RAW), sent once more when unanswered. A host that answers is
// up, with the reason "arp-reply/" and its MAC address, even when it
// drops every ICMP and TCP probe. Targets off the segment, IPv6 targets
// and interfaces that are not Ethernet (loopback, tunnels) are left to the
// other methods; without the privilege ARP is skipped and the summary
// says why.

const (
	etherTypeARP = 0x0806
	arpFrameLen  = 42 // Ethernet header 14 + ARP for IPv4 28
)

// arpLink is a local Ethernet interface and the IPv4 network on it.
type arpLink struct {
	ifi    net.Interface
	src    netip.Addr
	prefix netip.Prefix
}

// arpLinks returns the up, non-loopback Ethernet interfaces with an IPv4
// address.
func arpLinks() []arpLink {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []arpLink
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 || len(ifi.HardwareAddr) != 6 {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			p, err := netip.ParsePrefix(ipn.String())
			if err != nil || !p.Addr().Is4() || p.Bits() >= 31 {
				continue
			}
			out = append(out, arpLink{ifi: ifi, src: p.Addr(), prefix: p.Masked()})
		}
	}
	return out
}

// arpRequest builds a broadcast "who has dst, tell src" frame.
func arpRequest(mac net.HardwareAddr, src, dst netip.Addr) []byte {
	b := make([]byte, arpFrameLen)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:14], etherTypeARP)
	binary.BigEndian.PutUint16(b[14:16], 1)      // hardware: Ethernet
	binary.BigEndian.PutUint16(b[16:18], 0x0800) // protocol: IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:22], 1) // request
	copy(b[22:28], mac)
	s4, d4 := src.As4(), dst.As4()
	copy(b[28:32], s4[:])
	copy(b[38:42], d4[:])
	return b
}

// parseARPReply returns the sender of an ARP reply frame.
func parseARPReply(b []byte) (netip.Addr, net.HardwareAddr, bool) {
	if len(b) < arpFrameLen || binary.BigEndian.Uint16(b[12:14]) != etherTypeARP ||
		binary.BigEndian.Uint16(b[14:16]) != 1 || binary.BigEndian.Uint16(b[16:18]) != 0x0800 ||
		b[18] != 6 || b[19] != 4 || binary.BigEndian.Uint16(b[20:22]) != 2 {
		return netip.Addr{}, nil, false
	}
	return netip.AddrFrom4([4]byte(b[28:32])), net.HardwareAddr(append([]byte(nil), b[22:28]...)), true
}
