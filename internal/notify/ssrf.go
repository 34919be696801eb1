package notify

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBlockedAddress is returned (wrapped) when a channel would connect to a
// loopback, private, link-local or otherwise internal address without the
// channel's AllowPrivate switch.
var ErrBlockedAddress = errors.New("destination address not allowed")

// blockedPrefixes are the ranges an outbound notification may not reach
// unless an administrator allows private destinations for the channel.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network", unspecified
	netip.MustParsePrefix("10.0.0.0/8"),     // RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),  // CGNAT, RFC 6598
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),  // RFC 1918
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("192.168.0.0/16"), // RFC 1918
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("::/96"),          // unspecified, IPv4-compatible (deprecated)
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("fc00::/7"),       // ULA
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("ff00::/8"),       // multicast
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("100::/64"),       // discard
}

// CheckAddr returns an error wrapping ErrBlockedAddress when addr is not a
// public unicast address.
func CheckAddr(addr netip.Addr) error {
	a := addr.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, a)
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return fmt.Errorf("%w: %s", ErrBlockedAddress, a)
		}
	}
	// Translation prefixes carry an IPv4 address that a gateway would reach
	// on our behalf: NAT64 (64:ff9b::/96, last four bytes) and 6to4
	// (2002::/16, bytes 2-5).
	if b := a.As16(); a.Is6() {
		var v4 netip.Addr
		switch {
		case nat64.Contains(a):
			v4 = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case sixToFour.Contains(a):
			v4 = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
		if v4.IsValid() {
			if err := CheckAddr(v4); err != nil {
				return fmt.Errorf("%w (embedded in %s)", err, a)
			}
		}
	}
	return nil
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// dialControl runs after the socket is created and before it connects, with
// the address the resolver actually returned, so a DNS answer that changes
// between a check and the connection (rebinding) cannot reach an internal
// address.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q", ErrBlockedAddress, address)
	}
	return CheckAddr(ap.Addr())
}

// newDialer returns a dialer that refuses internal addresses unless
// allowPrivate is set.
func newDialer(allowPrivate bool, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: -1}
	if !allowPrivate {
		d.Control = dialControl
	}
	return d
}

// checkURL validates an endpoint before any connection: only http and https,
// a host, no user information; literal internal IPs are refused at once.
func checkURL(raw string, allowPrivate bool) (*url.URL, error) {
	if len(raw) > 2048 {
		return nil, errors.New("url longer than 2048 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: scheme must be http or https", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("url %q: missing host", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("url %q: user information not allowed, use secrets", u.Redacted())
	}
	if !allowPrivate {
		if a, err := netip.ParseAddr(u.Hostname()); err == nil {
			if err := CheckAddr(a); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

// netipParse parses a literal IP address, with or without brackets.
func netipParse(host string) (netip.Addr, error) {
	return netip.ParseAddr(strings.Trim(host, "[]"))
}
