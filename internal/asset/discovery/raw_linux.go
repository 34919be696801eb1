package discovery

import (
	"net"
	"syscall"
)

// forceReadBuffer asks for a receive buffer of n bytes beyond the
// system's net.core.rmem_max (SO_RCVBUFFORCE, allowed with CAP_NET_ADMIN),
// so that a burst of answers to a fast SYN scan is not dropped before it
// is read. Without the capability the ordinary, capped size stays.
func forceReadBuffer(c *net.IPConn, n int) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) // #nosec G115 -- a socket descriptor fits an int
	})
}
