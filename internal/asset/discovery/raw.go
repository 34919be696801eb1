package discovery

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// TCP flags used by the SYN scanner.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// Sizes of the TCP segments the SYN scanner builds and reads.
const (
	tcpHeaderLen = 20
	synLen       = tcpHeaderLen + 4 // one MSS option
	synWindow    = 1024
	synMSS       = 1460
	// maxSegment bounds how much of a received IP payload is looked at:
	// the scanner only needs the fixed TCP header.
	maxSegment = 1 << 16
)

// tcpSegment is the part of a received TCP header the SYN scanner needs.
type tcpSegment struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
}

var (
	errShortSegment = errors.New("tcp segment shorter than its header")
	errDataOffset   = errors.New("tcp data offset outside the segment")
)

// parseTCP reads the fixed header of a TCP segment (an IP payload, without
// the IP header). It checks the header's own length field against the
// segment and never reads past it.
func parseTCP(b []byte) (tcpSegment, error) {
	if len(b) > maxSegment {
		return tcpSegment{}, fmt.Errorf("tcp segment of %d bytes: larger than %d", len(b), maxSegment)
	}
	if len(b) < tcpHeaderLen {
		return tcpSegment{}, fmt.Errorf("%w: %d bytes", errShortSegment, len(b))
	}
	off := int(b[12]>>4) * 4
	if off < tcpHeaderLen || off > len(b) {
		return tcpSegment{}, fmt.Errorf("%w: offset %d, length %d", errDataOffset, off, len(b))
	}
	return tcpSegment{
		SrcPort: binary.BigEndian.Uint16(b[0:2]),
		DstPort: binary.BigEndian.Uint16(b[2:4]),
		Seq:     binary.BigEndian.Uint32(b[4:8]),
		Ack:     binary.BigEndian.Uint32(b[8:12]),
		Flags:   b[13],
	}, nil
}

// buildSYN returns a TCP SYN segment from src:sport to dst:dport with
// sequence number seq, an MSS option and its checksum over the IPv4 or
// IPv6 pseudo-header. src and dst must be of the same family.
func buildSYN(src, dst netip.Addr, sport, dport uint16, seq uint32) []byte {
	b := make([]byte, synLen)
	binary.BigEndian.PutUint16(b[0:2], sport)
	binary.BigEndian.PutUint16(b[2:4], dport)
	binary.BigEndian.PutUint32(b[4:8], seq)
	// b[8:12] ack = 0
	b[12] = byte(synLen/4) << 4
	b[13] = tcpSYN
	binary.BigEndian.PutUint16(b[14:16], synWindow)
	// b[16:18] checksum, b[18:20] urgent pointer = 0
	b[20], b[21] = 2, 4 // MSS, length 4
	binary.BigEndian.PutUint16(b[22:24], synMSS)
	binary.BigEndian.PutUint16(b[16:18], tcpChecksum(src, dst, b))
	return b
}

// tcpChecksum is the Internet checksum (RFC 1071) of a TCP segment whose
// checksum field is zero, over the pseudo-header of RFC 793 (IPv4) or
// RFC 8200 section 8.1 (IPv6).
func tcpChecksum(src, dst netip.Addr, seg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		add(s[:])
		add(d[:])
	} else {
		s, d := src.As16(), dst.As16()
		add(s[:])
		add(d[:])
	}
	n := uint32(len(seg)) // #nosec G115 -- segments here are a few dozen bytes
	sum += n>>16 + n&0xffff
	sum += 6 // protocol TCP
	add(seg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// unreach is what an ICMP or ICMPv6 destination-unreachable message says
// about the TCP segment that provoked it.
type unreach struct {
	Dst              netip.Addr
	SrcPort, DstPort uint16
	Seq              uint32
	// Reason names the code the way nmap does: "host-unreach",
	// "port-unreach", "admin-prohibited", ...
	Reason string
}

var errNotUnreach = errors.New("not a destination-unreachable message about a TCP segment")

// parseUnreach parses an ICMP (v6 false) or ICMPv6 message (without the
// IP header) and, if it is a destination-unreachable error quoting a TCP
// segment, returns the quoted segment's destination, ports and sequence
// number. Only the fixed headers are read: the quoted IPv6 packet must
// carry TCP directly, with no extension header.
func parseUnreach(v6 bool, b []byte) (unreach, error) {
	if len(b) > maxSegment {
		return unreach{}, fmt.Errorf("icmp message of %d bytes: larger than %d", len(b), maxSegment)
	}
	if len(b) < 8 {
		return unreach{}, fmt.Errorf("%w: %d bytes", errShortSegment, len(b))
	}
	typ, code := b[0], b[1]
	q := b[8:] // the quoted packet
	var u unreach
	if !v6 {
		names := map[uint8]string{0: "net-unreach", 1: "host-unreach", 2: "proto-unreach", 3: "port-unreach",
			9: "net-prohibited", 10: "host-prohibited", 13: "admin-prohibited"}
		if typ != 3 || names[code] == "" {
			return unreach{}, errNotUnreach
		}
		u.Reason = names[code]
		if len(q) < 20 || q[0]>>4 != 4 {
			return unreach{}, fmt.Errorf("%w: quoted IPv4 header missing", errShortSegment)
		}
		ihl := int(q[0]&0x0f) * 4
		if ihl < 20 || len(q) < ihl+8 {
			return unreach{}, fmt.Errorf("%w: quoted IPv4 header length %d of %d bytes", errDataOffset, ihl, len(q))
		}
		if q[9] != 6 {
			return unreach{}, errNotUnreach
		}
		u.Dst = netip.AddrFrom4([4]byte(q[16:20]))
		q = q[ihl:]
	} else {
		names := map[uint8]string{0: "no-route", 1: "admin-prohibited", 2: "beyond-scope", 3: "addr-unreach",
			4: "port-unreach", 5: "failed-policy", 6: "reject-route"}
		if typ != 1 || names[code] == "" {
			return unreach{}, errNotUnreach
		}
		u.Reason = names[code]
		if len(q) < 40+8 || q[0]>>4 != 6 {
			return unreach{}, fmt.Errorf("%w: quoted IPv6 header missing", errShortSegment)
		}
		if q[6] != 6 {
			return unreach{}, errNotUnreach
		}
		u.Dst = netip.AddrFrom16([16]byte(q[24:40]))
		q = q[40:]
	}
	u.SrcPort = binary.BigEndian.Uint16(q[0:2])
	u.DstPort = binary.BigEndian.Uint16(q[2:4])
	u.Seq = binary.BigEndian.Uint32(q[4:8])
	return u, nil
}
