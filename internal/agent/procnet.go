package agent

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Socket is one line of /proc/net/{tcp,tcp6,udp,udp6}.
type Socket struct {
	Proto  string         // tcp, tcp6, udp or udp6
	Local  netip.AddrPort // local address and port
	Remote netip.AddrPort // remote address and port (zero when unconnected)
	State  uint8          // kernel socket state (0x0A is TCP LISTEN)
	UID    uint32         // owner uid
	Inode  uint64         // socket inode, matched against /proc/<pid>/fd links
}

// Kernel socket states used by the collector.
const (
	tcpListen   = 0x0A
	udpUnconned = 0x07 // TCP_CLOSE, which an unconnected UDP socket reports
)

// maxProcNetLine bounds one line of a /proc/net table.
const maxProcNetLine = 1024

// ErrTooMany is returned (wrapped) when an input holds more items than the
// parser's bound.
var ErrTooMany = errors.New("too many entries")

// ParseProcNet reads a /proc/net/tcp, tcp6, udp or udp6 table. proto names
// the table ("tcp", "tcp6", "udp" or "udp6"); it decides the address width.
// At most maxEntries sockets are returned; more is an error wrapping
// ErrTooMany together with the sockets read so far. Addresses are decoded
// in the byte order of the machine running the parser, as the kernel
// prints them in its own.
func ParseProcNet(r io.Reader, proto string, maxEntries int) ([]Socket, error) {
	var width int
	switch proto {
	case "tcp", "udp":
		width = 8
	case "tcp6", "udp6":
		width = 32
	default:
		return nil, fmt.Errorf("proc net: unknown table %q", proto)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxProcNetLine)
	var out []Socket
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			if !strings.Contains(sc.Text(), "local_address") {
				return nil, fmt.Errorf("proc net %s line 1: not a socket table header", proto)
			}
			continue
		}
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if len(out) >= maxEntries {
			return out, fmt.Errorf("proc net %s line %d: %w (limit %d)", proto, line, ErrTooMany, maxEntries)
		}
		s, err := parseProcNetLine(text, proto, width)
		if err != nil {
			return out, fmt.Errorf("proc net %s line %d: %w", proto, line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("proc net %s line %d: %w", proto, line+1, err)
	}
	return out, nil
}

func parseProcNetLine(text, proto string, width int) (Socket, error) {
	f := strings.Fields(text)
	// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
	if len(f) < 10 {
		return Socket{}, fmt.Errorf("%d fields, want at least 10", len(f))
	}
	s := Socket{Proto: proto}
	var err error
	if s.Local, err = parseHexAddrPort(f[1], width); err != nil {
		return Socket{}, fmt.Errorf("local address: %w", err)
	}
	if s.Remote, err = parseHexAddrPort(f[2], width); err != nil {
		return Socket{}, fmt.Errorf("remote address: %w", err)
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return Socket{}, fmt.Errorf("state %q: not a hex byte", f[3])
	}
	s.State = uint8(st)
	uid, err := strconv.ParseUint(f[7], 10, 32)
	if err != nil {
		return Socket{}, fmt.Errorf("uid %q: not a number", f[7])
	}
	s.UID = uint32(uid)
	if s.Inode, err = strconv.ParseUint(f[9], 10, 64); err != nil {
		return Socket{}, fmt.Errorf("inode %q: not a number", f[9])
	}
	return s, nil
}

// parseHexAddrPort decodes "0100007F:0016": the address as 32-bit words
// in host byte order, the port in big-endian hex.
func parseHexAddrPort(s string, width int) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(a) != width || len(p) != 4 {
		return netip.AddrPort{}, fmt.Errorf("%q: want %d hex digits, a colon and 4 hex digits", s, width)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: %w", s, err)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: bad port", s)
	}
	var b [16]byte
	for i := 0; i+4 <= len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	var addr netip.Addr
	if width == 8 {
		addr = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		addr = netip.AddrFrom16(b).Unmap()
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
