//go:build !linux

package discovery

import "net"

// forceReadBuffer does nothing where SO_RCVBUFFORCE does not exist.
func forceReadBuffer(*net.IPConn, int) {}
