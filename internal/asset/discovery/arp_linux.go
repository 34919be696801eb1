package discovery

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// arpSweep runs ARP discovery of the targets on local Ethernet segments
// and marks those that answer. It returns a note for the summary.
func (s *Scanner) arpSweep(ctx context.Context, targets *Targets, mark func(netip.Addr, string, time.Duration)) string {
	links := arpLinks()
	asked, answered := 0, 0
	var failed []string
	for _, l := range links {
		var hosts []netip.Addr
		for a := range targets.All() {
			if a.Is4() && l.prefix.Contains(a) && a != l.src {
				hosts = append(hosts, a)
			}
		}
		if len(hosts) == 0 {
			continue
		}
		n, err := s.arpLink(ctx, l, hosts, mark)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", l.ifi.Name, err))
			continue
		}
		asked += len(hosts)
		answered += n
	}
	switch {
	case len(failed) > 0:
		return fmt.Sprintf("ARP not used (%s; needs root or CAP_NET_RAW)", failed[0])
	case asked == 0:
		return "ARP not used: no target on a local Ethernet segment"
	}
	return fmt.Sprintf("ARP on local segments: %d of %d answered", answered, asked)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// arpLink asks hosts on one interface and returns how many answered.
func (s *Scanner) arpLink(ctx context.Context, l arpLink, hosts []netip.Addr, mark func(netip.Addr, string, time.Duration)) (int, error) {
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, int(htons(etherTypeARP)))
	if err != nil {
		return 0, err
	}
	sa := &syscall.SockaddrLinklayer{Protocol: htons(etherTypeARP), Ifindex: l.ifi.Index}
	if err := syscall.Bind(fd, sa); err != nil {
		_ = syscall.Close(fd)
		return 0, err
	}
	f := os.NewFile(uintptr(fd), "arp") // #nosec G115 -- a socket descriptor
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}

	var mu sync.Mutex
	sent := map[netip.Addr]time.Time{}
	got := map[netip.Addr]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			var n int
			var rerr error
			if err := rc.Read(func(fd uintptr) bool {
				n, _, rerr = syscall.Recvfrom(int(fd), buf, 0) // #nosec G115 -- a socket descriptor
				return rerr != syscall.EAGAIN
			}); err != nil || (rerr != nil && rerr != syscall.EINTR) {
				return
			}
			ip, mac, ok := parseARPReply(buf[:n])
			if !ok {
				continue
			}
			mu.Lock()
			t0, asked := sent[ip]
			dup := got[ip]
			got[ip] = true
			mu.Unlock()
			if asked && !dup {
				mark(ip, "arp-reply/"+mac.String(), time.Since(t0))
			}
		}
	}()
	send := func(h netip.Addr) error {
		if err := s.limiter.Wait(ctx); err != nil {
			return err
		}
		mu.Lock()
		if _, again := sent[h]; !again {
			sent[h] = time.Now()
		}
		mu.Unlock()
		frame := arpRequest(l.ifi.HardwareAddr, l.src, h)
		var werr error
		if err := rc.Write(func(fd uintptr) bool {
			werr = syscall.Sendto(int(fd), frame, 0, sa) // #nosec G115 -- a socket descriptor
			return werr != syscall.EAGAIN
		}); err != nil {
			return err
		}
		return werr
	}
	for try := 0; try < 2; try++ {
		for _, h := range hosts {
			mu.Lock()
			answered := got[h]
			mu.Unlock()
			if answered {
				continue
			}
			if err := send(h); err != nil {
				_ = f.SetReadDeadline(time.Now())
				<-done
				return 0, err
			}
		}
		t := time.NewTimer(s.opts.Timeout)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	_ = f.SetReadDeadline(time.Now())
	<-done
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, h := range hosts {
		if got[h] {
			n++
		}
	}
	return n, nil
}
