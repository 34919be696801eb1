package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	sys "golang.org/x/sys/unix" // named so: the tests have a func unix
)

// On Linux a connect scan is an event loop on the goroutine that called
// Scan. Each of up to Concurrency probe slots has a non-blocking socket,
// registered once (edge-triggered) with an epoll instance of the scan's
// own and kept from probe to probe; the loop starts handshakes with
// connect as the rate and the concurrency allow and learns their ends from
// one batched epoll_wait. A failed handshake's error is read by connecting
// the socket again (the kernel returns the pending error and leaves the
// socket unconnected); an open port's connection, and a handshake that
// ran out of time, are dissolved with a connect to AF_UNSPEC. Deadlines
// are a min-heap of slots. No probe has a goroutine, a timer or a runtime
// poller registration of its own, so thousands of probes in flight cost
// their slots and nothing else, and in steady state a closed port costs
// two connect calls. Only fingerprinting, which reads and writes the open
// ports, runs in goroutines (one per open port, within the same
// concurrency).

// connEventBatch is how many readiness events one epoll_wait returns at
// most.
const connEventBatch = 1024

// connPollEvery is how many probes are started between two looks at the
// epoll instance when neither the rate nor the concurrency makes the loop
// wait.
const connPollEvery = 64

// wakeSlot marks the eventfd's epoll registration: it wakes the loop when
// ctx ends or a fingerprint finishes.
const wakeSlot = -1

// connProbe is one probe slot of the event loop.
type connProbe struct {
	host netip.Addr
	port uint16
	// fd is the slot's socket, kept from probe to probe (-1: none yet);
	// v6 says its family; live that a handshake is in flight on it.
	fd   int
	v6   bool
	live bool
	try  uint8
	// start is when this try's socket was opened; wait how long it may
	// wait (Timeout while the host's round trip is not known); cut, when
	// not 0, the shorter wait the host's estimate gave since; deadline is
	// start plus the wait in force. All times are offsets from the loop's
	// base.
	start, wait, cut, deadline time.Duration
	// ranOut is the wait of a try that ran out (Result.Wait).
	ranOut time.Duration
	hidx   int // index in the deadline heap, -1 when not in it
	// prev and next link the probes of one host that wait the full
	// timeout (see fullWait), -1 at the ends.
	prev, next int
	full       bool
}

// fullWaitList is a host's probes that started before its round trips
// were timed.
type fullWaitList struct {
	head  int
	dirty bool // an estimate arrived since the list was last looked at
}

// connLoop is the state of one connect scan.
type connLoop struct {
	s      *Scanner
	ctx    context.Context
	report func(Result)
	epfd   int
	evfd   int
	base   time.Time
	rtt    *rttTable
	conc   int

	probes []connProbe
	free   []int
	heap   []int // probe indices, a min-heap on deadline
	retry  []int // probes awaiting a rate token for their second try
	events []sys.EpollEvent
	// inUse counts the slots taken (sockets in flight and probes awaiting
	// a retry); fps the fingerprints running, which hold a share of the
	// concurrency too.
	inUse int
	fps   atomic.Int32
	fpWG  sync.WaitGroup
	// token is when the rate token held is usable; -1 when none is held.
	token     time.Duration
	needToken bool
	started   int

	fullWait map[netip.Addr]*fullWaitList
	dirty    []netip.Addr

	sa4 sys.SockaddrInet4
	sa6 sys.SockaddrInet6
}

// connectScan connect-scans every port of every target with an event loop
// and passes each result to report. It returns when every probe has
// finished or ctx is done; its error is the kernel's refusal of the
// loop's own epoll or eventfd descriptors.
func (s *Scanner) connectScan(ctx context.Context, targets *Targets, ports []uint16, report func(Result)) error {
	l, err := newConnLoop(ctx, s, report)
	if err != nil {
		return err
	}
	defer l.close()
	stop := context.AfterFunc(ctx, l.wake)
	defer stop()
	for host := range targets.All() {
		for _, p := range ports {
			if !l.submit(host, p) {
				return nil
			}
		}
	}
	l.drain()
	return nil
}

func newConnLoop(ctx context.Context, s *Scanner, report func(Result)) (*connLoop, error) {
	epfd, err := sys.EpollCreate1(sys.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("discovery: connect scan: %w", os.NewSyscallError("epoll_create1", err))
	}
	evfd, err := sys.Eventfd(0, sys.EFD_NONBLOCK|sys.EFD_CLOEXEC)
	if err != nil {
		_ = sys.Close(epfd)
		return nil, fmt.Errorf("discovery: connect scan: %w", os.NewSyscallError("eventfd", err))
	}
	ev := sys.EpollEvent{Events: sys.EPOLLIN, Fd: wakeSlot}
	if err := sys.EpollCtl(epfd, sys.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		_ = sys.Close(evfd)
		_ = sys.Close(epfd)
		return nil, fmt.Errorf("discovery: connect scan: %w", os.NewSyscallError("epoll_ctl", err))
	}
	conc := max(s.opts.Concurrency, 1)
	l := &connLoop{
		s: s, ctx: ctx, report: report,
		epfd: epfd, evfd: evfd,
		base:     time.Now(),
		rtt:      newRTTTable(s.opts.Timeout),
		conc:     conc,
		probes:   make([]connProbe, conc),
		free:     make([]int, 0, conc),
		heap:     make([]int, 0, conc),
		events:   make([]sys.EpollEvent, min(conc+1, connEventBatch)),
		token:    -1,
		fullWait: map[netip.Addr]*fullWaitList{},
	}
	for i := conc - 1; i >= 0; i-- {
		l.probes[i] = connProbe{fd: -1, hidx: -1, prev: -1, next: -1}
		l.free = append(l.free, i)
	}
	return l, nil
}

// close closes the sockets still in flight (a cancelled scan), waits for
// the fingerprints and closes the loop's descriptors.
func (l *connLoop) close() {
	for i := range l.probes {
		l.closeSocket(i)
	}
	l.fpWG.Wait()
	_ = sys.Close(l.evfd)
	_ = sys.Close(l.epfd)
}

// wake interrupts the loop's epoll_wait.
func (l *connLoop) wake() {
	var one = [8]byte{1}
	_, _ = sys.Write(l.evfd, one[:])
}

func (l *connLoop) now() time.Duration { return time.Since(l.base) }

func (l *connLoop) done() bool { return l.ctx.Err() != nil }

// emit reports r unless the scan was cancelled.
func (l *connLoop) emit(r Result) {
	if !l.done() {
		l.report(r)
	}
}

// submit starts a probe of host:port once the concurrency and the rate
// allow, handling the events of the probes in flight meanwhile. It
// returns false when ctx is done.
func (l *connLoop) submit(host netip.Addr, port uint16) bool {
	for {
		if l.done() {
			return false
		}
		now := l.now()
		l.needToken = false
		if l.startRetries(now) && l.inUse+int(l.fps.Load()) < l.conc {
			if l.takeToken(now) {
				i := l.free[len(l.free)-1]
				l.free = l.free[:len(l.free)-1]
				l.inUse++
				l.probes[i].host, l.probes[i].port, l.probes[i].try = host, port, 0
				l.probes[i].ranOut = 0
				l.start(i, l.rtt.timeout(host))
				if l.started++; l.started%connPollEvery == 0 {
					l.poll(false)
				}
				return true
			}
		}
		l.poll(true)
	}
}

// drain waits for the probes in flight, and the fingerprints, to finish.
func (l *connLoop) drain() {
	for !l.done() {
		l.needToken = false
		// A retry may end as it starts (a connect that fails at once):
		// look at what is left only after starting them.
		l.startRetries(l.now())
		if l.inUse == 0 && l.fps.Load() == 0 {
			return
		}
		l.poll(true)
	}
}

// takeToken reports whether a rate token is usable at now, reserving one
// from the limiter when none is held. needToken tells poll to wake for
// it.
func (l *connLoop) takeToken(now time.Duration) bool {
	if l.token < 0 {
		l.token = now + l.s.limiter.reserve()
	}
	if l.token <= now {
		l.token = -1
		l.needToken = false
		return true
	}
	l.needToken = true
	return false
}

// startRetries starts the second tries the rate allows; it reports
// whether none is left waiting.
func (l *connLoop) startRetries(now time.Duration) bool {
	for len(l.retry) > 0 {
		if !l.takeToken(now) {
			return false
		}
		i := l.retry[0]
		l.retry = l.retry[1:]
		l.start(i, l.probes[i].wait)
	}
	return true
}

// start starts probe i's handshake, on the slot's socket when it has one
// of the right family, to wait at most wait for the answer.
func (l *connLoop) start(i int, wait time.Duration) {
	p := &l.probes[i]
	p.wait, p.cut = wait, 0
	p.start = l.now()
	v6, sa := !p.host.Is4(), sys.Sockaddr(nil)
	if v6 {
		l.sa6.Port, l.sa6.Addr = int(p.port), p.host.As16()
		sa = &l.sa6
	} else {
		l.sa4.Port, l.sa4.Addr = int(p.port), p.host.As4()
		sa = &l.sa4
	}
	if p.fd >= 0 && p.v6 != v6 {
		l.closeSocket(i)
	}
	if p.fd < 0 {
		if op, err := l.openSocket(i, v6); err != nil {
			l.failed(i, op, err)
			return
		}
	}
	err := sys.Connect(p.fd, sa)
	switch {
	case err == nil: // connected at once
		l.connected(i)
		return
	case !errors.Is(err, sys.EINPROGRESS):
		l.closeSocket(i)
		l.failed(i, "connect", err)
		return
	}
	p.live = true
	p.deadline = p.start + wait
	l.heapPush(i)
	if p.try == 0 && wait >= l.s.opts.Timeout {
		l.linkFull(i)
	}
}

// openSocket gives slot i a non-blocking socket, registered with the
// loop's epoll instance for as long as it lives: edge-triggered, so each
// handshake's end on it is reported once. It returns the failed system
// call.
func (l *connLoop) openSocket(i int, v6 bool) (string, error) {
	family := sys.AF_INET
	if v6 {
		family = sys.AF_INET6
	}
	fd, err := sys.Socket(family, sys.SOCK_STREAM|sys.SOCK_NONBLOCK|sys.SOCK_CLOEXEC, sys.IPPROTO_TCP)
	if err != nil {
		return "socket", err
	}
	ev := sys.EpollEvent{Events: sys.EPOLLOUT | sys.EPOLLET, Fd: int32(i)} // #nosec G115 -- a slot index below the concurrency
	if err := sys.EpollCtl(l.epfd, sys.EPOLL_CTL_ADD, fd, &ev); err != nil {
		_ = sys.Close(fd)
		return "epoll_ctl", err
	}
	l.probes[i].fd, l.probes[i].v6 = fd, v6
	return "", nil
}

// closeSocket closes slot i's socket (which leaves the epoll instance).
func (l *connLoop) closeSocket(i int) {
	if p := &l.probes[i]; p.fd >= 0 {
		_ = sys.Close(p.fd)
		p.fd = -1
	}
}

// disconnect dissolves the association of slot i's socket (a connect to
// AF_UNSPEC: a reset for an established connection, nothing on the wire
// for one still waiting for its SYN/ACK), so that the next probe connects
// it again; it closes the socket when that fails.
func (l *connLoop) disconnect(i int) {
	// A zeroed sockaddr of the size the kernel takes: family 0 is AF_UNSPEC.
	var unspec [unsafe.Sizeof(sys.RawSockaddrAny{})]byte
	_, _, e := sys.Syscall(sys.SYS_CONNECT, uintptr(l.probes[i].fd), uintptr(unsafe.Pointer(&unspec[0])), uintptr(len(unspec))) // #nosec G103 G115 -- connect(2) of a descriptor to that sockaddr
	if e != 0 {
		l.closeSocket(i)
	}
}

// poll handles the readiness events pending, waiting for one when block
// is set (at most until the next deadline, or the next rate token when
// one is awaited), then ends the probes whose wait ran out.
func (l *connLoop) poll(block bool) {
	t0 := l.now()
	msec := 0
	if block {
		msec = l.waitMillis(t0)
	}
	n, err := sys.EpollWait(l.epfd, l.events, msec)
	if err != nil {
		n = 0 // EINTR; nothing else can happen to a valid epoll descriptor
	}
	for k := range n {
		l.handle(l.events[k])
	}
	l.recheck()
	if n < len(l.events) {
		// Every handshake that had ended by t0 was in this batch, so a
		// probe whose deadline passed before t0 did wait that long. (A
		// loaded machine may run the loop late; its answers are not
		// lost for that.)
		l.expire(t0)
	}
}

// waitMillis is how long poll may block at t0: until the earliest
// deadline or the rate token awaited; -1 (until woken) when neither.
func (l *connLoop) waitMillis(t0 time.Duration) int {
	until := time.Duration(-1)
	if len(l.heap) > 0 {
		until = l.probes[l.heap[0]].deadline
	}
	if l.needToken && l.token >= 0 && (until < 0 || l.token < until) {
		until = l.token
	}
	if until < 0 {
		return -1
	}
	d := until - t0
	if d <= 0 {
		return 0
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// handle ends the probe whose socket became ready.
func (l *connLoop) handle(ev sys.EpollEvent) {
	if ev.Fd == wakeSlot {
		var b [8]byte
		_, _ = sys.Read(l.evfd, b[:])
		return
	}
	i := int(ev.Fd)
	if i < 0 || i >= len(l.probes) {
		return
	}
	p := &l.probes[i]
	if !p.live {
		return // a late event of a handshake already ended
	}
	l.heapRemove(i)
	l.unlinkFull(i)
	if ev.Events&(sys.EPOLLERR|sys.EPOLLHUP) == 0 {
		l.connected(i)
		return
	}
	// The handshake failed. Connecting the socket again returns the
	// pending error (what getsockopt(SO_ERROR) would) and leaves the
	// socket unconnected, ready for the next probe.
	var sa sys.Sockaddr = &l.sa4
	if p.v6 {
		l.sa6.Port, l.sa6.Addr = int(p.port), p.host.As16()
		sa = &l.sa6
	} else {
		l.sa4.Port, l.sa4.Addr = int(p.port), p.host.As4()
	}
	err := sys.Connect(p.fd, sa)
	switch {
	case err == nil || errors.Is(err, sys.EINPROGRESS) || errors.Is(err, sys.EALREADY):
		// Not what a failed handshake does: ask the socket, and start
		// the next probe on a fresh one.
		op := "connect"
		if n, gerr := sys.GetsockoptInt(p.fd, sys.SOL_SOCKET, sys.SO_ERROR); gerr != nil {
			op, err = "getsockopt", gerr
		} else {
			err = sys.Errno(n) // #nosec G115 -- an errno
		}
		l.closeSocket(i)
		if n, ok := err.(sys.Errno); ok && n == 0 {
			err = sys.ECONNABORTED
		}
		l.failed(i, op, err)
	case errors.Is(err, sys.ECONNRESET), errors.Is(err, sys.EPIPE), errors.Is(err, sys.ECONNABORTED):
		// Reset after the handshake completed (a listener took it and
		// dropped it), or ended with no error to tell: an open port,
		// whose connection is gone.
		r := Result{Host: p.host, Port: p.port, State: Open, Latency: l.now() - p.start, Wait: p.ranOut}
		if p.try == 0 {
			l.sampled(p.host, r.Latency)
		}
		l.release(i)
		l.emit(r)
	default:
		l.failed(i, "connect", err)
	}
}

// connected ends probe i, whose handshake completed: an open port.
func (l *connLoop) connected(i int) {
	p := &l.probes[i]
	r := Result{Host: p.host, Port: p.port, State: Open, Latency: l.now() - p.start, Wait: p.ranOut}
	if p.try == 0 {
		l.sampled(p.host, r.Latency)
	}
	fd := p.fd
	l.release(i)
	if selfConnect(fd, r.Host, r.Port) {
		// TCP simultaneous open with itself: the kernel picked the target
		// port as the source port of a loopback connection. Nothing listens.
		l.closeSocket(i)
		r.State, r.Reason = Closed, "self-connect"
		l.emit(r)
		return
	}
	if !l.s.opts.Fingerprint {
		// A reset ends the connection: no FIN exchange with the server
		// and no TIME_WAIT here, and the socket serves the next probe.
		l.disconnect(i)
		l.emit(r)
		return
	}
	// The fingerprint reads and writes through the runtime's poller: the
	// socket leaves the loop's epoll instance and the slot.
	p.fd = -1
	_ = sys.EpollCtl(l.epfd, sys.EPOLL_CTL_DEL, fd, nil)
	f := os.NewFile(uintptr(fd), "tcp") // #nosec G115 -- a descriptor the kernel gave
	conn, err := net.FileConn(f)        // a duplicate of the descriptor
	_ = f.Close()
	if err != nil {
		l.emit(r)
		return
	}
	l.fps.Add(1)
	l.fpWG.Go(func() {
		defer func() {
			l.fps.Add(-1)
			l.wake()
		}()
		r.Service = l.s.fingerprint(l.ctx, conn, r.Host, r.Port)
		l.emit(r)
	})
}

// failed ends probe i with the error of its socket or handshake (the
// system call op failed with err).
func (l *connLoop) failed(i int, op string, err error) {
	p := &l.probes[i]
	r := Result{Host: p.host, Port: p.port, Latency: l.now() - p.start, Wait: p.ranOut}
	switch {
	case err == sys.ECONNREFUSED:
		// The common case, without building an error.
		r.State, r.Reason = Closed, "refused"
		if p.try == 0 {
			l.sampled(p.host, r.Latency)
		}
	case op == "connect":
		r.State, r.Reason = classifyDialError(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError(op, err)})
	default:
		r.State, r.Reason = classifyDialError(os.NewSyscallError(op, err))
	}
	l.release(i)
	l.emit(r)
}

// expire ends the probes whose deadline is not after t0: a shortened wait
// that ran out is tried once more with twice the wait; otherwise the
// port is filtered.
func (l *connLoop) expire(t0 time.Duration) {
	for len(l.heap) > 0 {
		i := l.heap[0]
		p := &l.probes[i]
		if p.deadline > t0 {
			return
		}
		l.heapRemove(i)
		l.unlinkFull(i)
		p.live = false
		l.disconnect(i)
		wait := p.wait
		if p.cut > 0 {
			wait = p.cut
		}
		p.ranOut = wait
		if p.try == 0 && wait < l.s.opts.Timeout {
			p.try = 1
			p.wait = min(2*wait, l.s.opts.Timeout)
			l.retry = append(l.retry, i)
			continue
		}
		r := Result{Host: p.host, Port: p.port, State: Filtered, Reason: "timeout", Latency: t0 - p.start, Wait: wait}
		l.release(i)
		l.emit(r)
	}
}

// release returns probe i's slot.
func (l *connLoop) release(i int) {
	l.probes[i].live = false
	l.free = append(l.free, i)
	l.inUse--
}

// sampled feeds a timed round trip of host to its estimate, and marks
// the host's full-timeout probes for another look.
func (l *connLoop) sampled(host netip.Addr, rtt time.Duration) {
	l.rtt.sample(host, rtt)
	if fw := l.fullWait[host]; fw != nil && !fw.dirty {
		fw.dirty = true
		l.dirty = append(l.dirty, host)
	}
}

// recheck cuts short the full-timeout waits of the hosts whose estimate
// changed: such a probe now ends when its host's estimated wait has
// passed since it started, as a probe started after the estimate would.
func (l *connLoop) recheck() {
	for _, h := range l.dirty {
		fw := l.fullWait[h]
		if fw == nil {
			continue
		}
		fw.dirty = false
		w := l.rtt.timeout(h)
		if w >= l.s.opts.Timeout {
			continue
		}
		for i := fw.head; i >= 0; i = l.probes[i].next {
			p := &l.probes[i]
			p.cut = w
			p.deadline = p.start + w
			l.heapFix(p.hidx)
		}
	}
	l.dirty = l.dirty[:0]
}

func (l *connLoop) linkFull(i int) {
	p := &l.probes[i]
	fw := l.fullWait[p.host]
	if fw == nil {
		fw = &fullWaitList{head: -1}
		l.fullWait[p.host] = fw
	}
	p.full, p.prev, p.next = true, -1, fw.head
	if fw.head >= 0 {
		l.probes[fw.head].prev = i
	}
	fw.head = i
}

func (l *connLoop) unlinkFull(i int) {
	p := &l.probes[i]
	if !p.full {
		return
	}
	if p.prev >= 0 {
		l.probes[p.prev].next = p.next
	} else if fw := l.fullWait[p.host]; fw != nil {
		fw.head = p.next
		if fw.head < 0 {
			delete(l.fullWait, p.host)
		}
	}
	if p.next >= 0 {
		l.probes[p.next].prev = p.prev
	}
	p.full, p.prev, p.next = false, -1, -1
}

// selfConnect reports whether fd's connection runs from host:port to
// itself.
func selfConnect(fd int, host netip.Addr, port uint16) bool {
	sa, err := sys.Getsockname(fd)
	if err != nil {
		return false
	}
	switch a := sa.(type) {
	case *sys.SockaddrInet4:
		return a.Port == int(port) && netip.AddrFrom4(a.Addr) == host
	case *sys.SockaddrInet6:
		return a.Port == int(port) && netip.AddrFrom16(a.Addr) == host
	}
	return false
}

// The deadline heap: probe indices ordered by deadline, each probe
// knowing its place (hidx) so that an answered probe leaves it at once.

func (l *connLoop) heapLess(a, b int) bool {
	return l.probes[l.heap[a]].deadline < l.probes[l.heap[b]].deadline
}

func (l *connLoop) heapSwap(a, b int) {
	l.heap[a], l.heap[b] = l.heap[b], l.heap[a]
	l.probes[l.heap[a]].hidx = a
	l.probes[l.heap[b]].hidx = b
}

func (l *connLoop) heapPush(i int) {
	l.heap = append(l.heap, i)
	l.probes[i].hidx = len(l.heap) - 1
	l.heapUp(len(l.heap) - 1)
}

func (l *connLoop) heapRemove(i int) {
	k := l.probes[i].hidx
	if k < 0 {
		return
	}
	last := len(l.heap) - 1
	if k != last {
		l.heapSwap(k, last)
	}
	l.heap = l.heap[:last]
	l.probes[i].hidx = -1
	if k != last {
		l.heapFix(k)
	}
}

func (l *connLoop) heapFix(k int) {
	if k < 0 {
		return
	}
	if !l.heapDown(k) {
		l.heapUp(k)
	}
}

func (l *connLoop) heapUp(k int) {
	for k > 0 {
		parent := (k - 1) / 2
		if !l.heapLess(k, parent) {
			return
		}
		l.heapSwap(k, parent)
		k = parent
	}
}

// heapDown reports whether the entry at k moved.
func (l *connLoop) heapDown(k int) bool {
	k0, n := k, len(l.heap)
	for {
		c := 2*k + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && l.heapLess(r, c) {
			c = r
		}
		if !l.heapLess(c, k) {
			break
		}
		l.heapSwap(k, c)
		k = c
	}
	return k > k0
}
