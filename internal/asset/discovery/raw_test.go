package discovery

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// TestBuildSYNChecksum checks the SYN's checksum against gopacket's
// serialisation of the same segment, for IPv4 and IPv6.
func TestBuildSYNChecksum(t *testing.T) {
	for _, c := range []struct{ src, dst string }{
		{"10.78.0.1", "10.78.0.2"},
		{"127.0.0.1", "127.0.0.1"},
		{"192.0.2.200", "198.51.100.7"},
		{"2001:db8::1", "2001:db8::ff:2"},
	} {
		src, dst := netip.MustParseAddr(c.src), netip.MustParseAddr(c.dst)
		got := buildSYN(src, dst, 61234, 443, 0xdeadbeef)

		tcp := &layers.TCP{SrcPort: 61234, DstPort: 443, Seq: 0xdeadbeef, SYN: true, Window: synWindow,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{synMSS >> 8, synMSS & 0xff}}}}
		var nl gopacket.NetworkLayer
		if src.Is4() {
			nl = &layers.IPv4{SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), Protocol: layers.IPProtocolTCP, Version: 4, TTL: 64}
		} else {
			nl = &layers.IPv6{SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), NextHeader: layers.IPProtocolTCP, Version: 6, HopLimit: 64}
		}
		if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := tcp.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}); err != nil {
			t.Fatal(err)
		}
		if want := buf.Bytes(); !slices.Equal(got, want) {
			t.Errorf("%s -> %s:\n got % x\nwant % x", src, dst, got, want)
		}
		seg, err := parseTCP(got)
		if err != nil || seg.SrcPort != 61234 || seg.DstPort != 443 || seg.Seq != 0xdeadbeef || seg.Flags != tcpSYN {
			t.Errorf("parseTCP(buildSYN) = %+v, %v", seg, err)
		}
	}
}

func TestParseTCPBad(t *testing.T) {
	ok := buildSYN(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 1, 2, 3)
	for name, b := range map[string][]byte{
		"empty":          nil,
		"short":          ok[:19],
		"offset<5":       append(slices.Clone(ok[:12]), 0x40, 0x12, 0, 0, 0, 0, 0, 0, 0, 0),
		"offset>segment": append(slices.Clone(ok[:12]), 0xf0, 0x12, 0, 0, 0, 0, 0, 0, 0, 0),
	} {
		if _, err := parseTCP(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzParseTCP feeds arbitrary IP payloads to the segment parser the SYN
// scanner runs on every packet its raw socket reads.
func FuzzParseTCP(f *testing.F) {
	f.Add(buildSYN(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 61000, 80, 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		seg, err := parseTCP(b)
		if err != nil {
			return
		}
		if len(b) < tcpHeaderLen || int(b[12]>>4)*4 > len(b) {
			t.Fatalf("accepted a %d-byte segment with data offset %d", len(b), int(b[12]>>4)*4)
		}
		if seg.Flags != b[13] {
			t.Fatalf("flags %#x, byte 13 is %#x", seg.Flags, b[13])
		}
	})
}

// icmpUnreach builds, with gopacket and x/net/icmp, the destination-
// unreachable error a router would send about a SYN from src:sport to
// dst:dport with sequence number seq.
func icmpUnreach(t *testing.T, src, dst netip.Addr, sport, dport uint16, seq uint32, code int) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, SYN: true, Window: 1024}
	var ipl gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	if src.Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ipl, nl = ip, ip
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ipl, nl = ip, ip
	}
	if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}, ipl, tcp); err != nil {
		t.Fatal(err)
	}
	var typ icmp.Type = ipv4.ICMPTypeDestinationUnreachable
	if !src.Is4() {
		typ = ipv6.ICMPTypeDestinationUnreachable
	}
	b, err := (&icmp.Message{Type: typ, Code: code, Body: &icmp.DstUnreach{Data: buf.Bytes()}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseUnreach(t *testing.T) {
	for _, c := range []struct {
		src, dst string
		code     int
		reason   string
	}{
		{"10.78.0.1", "10.78.0.2", 13, "admin-prohibited"},
		{"10.78.0.1", "10.78.0.2", 1, "host-unreach"},
		{"10.78.0.1", "10.78.0.2", 3, "port-unreach"},
		{"2001:db8::1", "2001:db8::2", 1, "admin-prohibited"},
		{"2001:db8::1", "2001:db8::2", 4, "port-unreach"},
	} {
		src, dst := netip.MustParseAddr(c.src), netip.MustParseAddr(c.dst)
		b := icmpUnreach(t, src, dst, 61234, 9002, 0xcafef00d, c.code)
		u, err := parseUnreach(!src.Is4(), b)
		if err != nil || u.Dst != dst || u.SrcPort != 61234 || u.DstPort != 9002 || u.Seq != 0xcafef00d || u.Reason != c.reason {
			t.Errorf("%s code %d: %+v, %v", c.dst, c.code, u, err)
		}
		if _, err := parseUnreach(!src.Is4(), b[:len(b)-21]); err == nil {
			t.Errorf("%s code %d: truncated quote accepted", c.dst, c.code)
		}
	}
	echo, err := (&icmp.Message{Type: ipv4.ICMPTypeEchoReply, Body: &icmp.Echo{ID: 1, Seq: 1}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseUnreach(false, echo); err == nil {
		t.Error("echo reply accepted")
	}
}

// FuzzParseUnreach feeds arbitrary ICMP and ICMPv6 messages to the parser
// the SYN scanner runs on every ICMP packet its raw socket reads.
func FuzzParseUnreach(f *testing.F) {
	f.Add(false, []byte{3, 13, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 78, 0, 1, 10, 78, 0, 2, 0xef, 0x32, 0x23, 0x2a, 0xca, 0xfe, 0xf0, 0x0d})
	f.Add(true, []byte{1, 4, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, v6 bool, b []byte) {
		u, err := parseUnreach(v6, b)
		if err != nil {
			return
		}
		if u.Reason == "" || !u.Dst.IsValid() || u.Dst.Is4() == v6 {
			t.Fatalf("accepted %+v", u)
		}
	})
}
