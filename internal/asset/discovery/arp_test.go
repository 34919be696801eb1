//go:build linux

package discovery

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
)

// arpReplyFrame turns a request built by arpRequest into the reply the
// asked host would send.
func arpReplyFrame(mac net.HardwareAddr, ip netip.Addr) []byte {
	b := arpRequest(mac, ip, netip.MustParseAddr("10.0.0.1"))
	b[21] = 2
	return b
}

func TestParseARPReply(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}
	ip, got, ok := parseARPReply(arpReplyFrame(mac, netip.MustParseAddr("10.75.0.9")))
	if !ok || ip.String() != "10.75.0.9" || !bytes.Equal(got, mac) {
		t.Fatalf("reply: %v %v %v", ip, got, ok)
	}
	if _, _, ok := parseARPReply(arpRequest(mac, netip.MustParseAddr("10.75.0.9"), netip.MustParseAddr("10.75.0.1"))); ok {
		t.Error("a request parsed as a reply")
	}
	if _, _, ok := parseARPReply(arpReplyFrame(mac, netip.MustParseAddr("10.75.0.9"))[:41]); ok {
		t.Error("a short frame parsed")
	}
}

// FuzzParseARPReply feeds arbitrary frames to the ARP reply parser: it
// must not panic, and a frame it accepts keeps its sender when rebuilt.
func FuzzParseARPReply(f *testing.F) {
	f.Add(arpReplyFrame(net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParseAddr("192.0.2.1")))
	f.Add(arpRequest(net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, mac, ok := parseARPReply(b)
		if !ok {
			return
		}
		again, mac2, ok2 := parseARPReply(arpReplyFrame(mac, ip))
		if !ok2 || again != ip || !bytes.Equal(mac, mac2) {
			t.Fatalf("%v %v does not survive a rebuild", ip, mac)
		}
	})
}
