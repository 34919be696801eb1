package discovery

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// aLongTimeAgo is a deadline in the past: it wakes a waiting connect.
var aLongTimeAgo = time.Unix(1, 0)

// connectProbe opens a TCP connection to ap without the net.Dialer's
// machinery: a non-blocking connect whose completion the runtime's poller
// reports. When ctx ends first, the socket's state is read once more
// before the probe counts as timed out, so a handshake that completed while
// the scanner waited for the CPU (a loaded machine) is still an open port.
// The error is the connect's (syscall.ECONNREFUSED for a closed port), or
// ctx's error when the handshake had not completed.
func connectProbe(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
	family, sa := syscall.AF_INET, syscall.Sockaddr(nil)
	if ap.Addr().Is4() {
		sa = &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	err = syscall.Connect(fd, sa)
	if err != nil && !errors.Is(err, syscall.EINPROGRESS) {
		_ = syscall.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	f := os.NewFile(uintptr(fd), "tcp") // #nosec G115 -- a descriptor the kernel just gave
	defer func() { _ = f.Close() }()
	if err != nil {
		rc, serr := f.SyscallConn()
		if serr != nil {
			return nil, serr
		}
		stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(aLongTimeAgo) })
		var cerr error
		werr := rc.Write(func(fd uintptr) bool {
			done, e := connectDone(fd)
			cerr = e
			return done
		})
		stop()
		if werr != nil {
			// Woken by ctx: look once more.
			var done bool
			if rerr := rc.Control(func(fd uintptr) { done, cerr = connectDone(fd) }); rerr != nil || !done {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, werr
			}
		}
		if cerr != nil {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", cerr)}
		}
	}
	// The net.Conn holds a duplicate of the descriptor; f's is closed.
	return net.FileConn(f)
}

// connectDone reports whether the non-blocking connect on fd has ended,
// and its error.
func connectDone(fd uintptr) (bool, error) {
	n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR) // #nosec G115 -- a descriptor
	if err != nil {
		return true, err
	}
	if n != 0 {
		return true, syscall.Errno(n) // #nosec G115 -- an errno
	}
	if _, err := syscall.Getpeername(int(fd)); err != nil { // #nosec G115 -- a descriptor
		return false, nil // still connecting
	}
	return true, nil
}
