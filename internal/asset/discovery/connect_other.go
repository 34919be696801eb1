//go:build !linux

package discovery

import (
	"context"
	"net"
	"net/netip"
)

// connectProbe opens a TCP connection to ap through the net package.
func connectProbe(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", ap.String())
}
