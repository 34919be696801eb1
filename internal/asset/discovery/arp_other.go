//go:build !linux

package discovery

import (
	"context"
	"net/netip"
	"time"
)

func (s *Scanner) arpSweep(context.Context, *Targets, func(netip.Addr, string, time.Duration)) string {
	return "ARP not used: packet sockets are Linux only"
}
