package discovery

import (
	crand "crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// The adaptive timeout test needs a slow link. The kernel here may lack
// netem, so the test makes its own: two TUN devices, one moved into each
// of two namespaces, and this process copies packets between them,
// holding each one for delay. The scanner namespace's own address is the
// fast host; the target namespace, across the slow link, the slow one.

const (
	dlScanner = "10.77.0.1" // the scanner namespace, also the fast host
	dlTarget  = "10.77.0.2" // across the slow link
	dlPrefix  = "10.77.0.0/24"
	dlDelay   = 150 * time.Millisecond // each way
	tunSetIff = 0x400454ca
	iffTun    = 0x0001
	iffNoPI   = 0x1000
)

// Port plan of both hosts: many answered ports first, so that the
// scanner has timed round trips before it reaches the dropped ones.
var (
	dlOpen     = []uint16{22, 80, 443, 8080}
	dlFiltered = []uint16{40001, 40002, 40003}
)

func dlPorts() []uint16 {
	var ps []uint16
	for p := uint16(1); p <= 60; p++ {
		ps = append(ps, p)
	}
	ps = append(ps, 80, 443, 8080)
	ps = append(ps, dlFiltered...)
	slices.Sort(ps)
	return slices.Compact(ps)
}

func dlWant() map[uint16]State {
	m := map[uint16]State{}
	for _, p := range dlPorts() {
		m[p] = Closed
	}
	for _, p := range dlOpen {
		m[p] = Open
	}
	for _, p := range dlFiltered {
		m[p] = Filtered
	}
	return m
}

// openTUN makes a TUN device (no packet information header) in this
// namespace; it lives as long as the returned file.
func openTUN(t *testing.T, name string) *os.File {
	t.Helper()
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		testenv.Missing(t, "/dev/net/tun")
	}
	var req [40]byte // struct ifreq: name, then the flags
	copy(req[:16], name)
	*(*uint16)(unsafe.Pointer(&req[16])) = iffTun | iffNoPI                                                              // #nosec G103 -- ioctl argument layout
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tunSetIff, uintptr(unsafe.Pointer(&req[0]))); e != 0 { // #nosec G103 -- ioctl argument
		_ = syscall.Close(fd)
		t.Fatalf("TUNSETIFF %s: %v", name, e)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fd), name) // #nosec G115 -- a file descriptor
}

// relay copies packets from src to dst, each delay after it was read,
// until src is closed.
func relay(src, dst *os.File, delay time.Duration) {
	type pkt struct {
		b   []byte
		due time.Time
	}
	q := make(chan pkt, 8192)
	go func() {
		for p := range q {
			time.Sleep(time.Until(p.due))
			_, _ = dst.Write(p.b)
		}
	}()
	buf := make([]byte, 65536)
	for {
		n, err := src.Read(buf)
		if err != nil {
			close(q)
			return
		}
		q <- pkt{slices.Clone(buf[:n]), time.Now().Add(delay)}
	}
}

// newDelayLab makes the scanner and target namespaces joined by the slow
// link, with listeners on dlOpen and a firewall dropping dlFiltered on
// both hosts.
func newDelayLab(t *testing.T) *scanLab {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lab := &scanLab{scan: addNetns(t, "rs"), target: addNetns(t, "rt"), exe: exe}
	b := make([]byte, 3)
	if _, err := crand.Read(b); err != nil {
		t.Fatal(err)
	}
	tag := hex.EncodeToString(b)
	ends := []struct{ ns, dev, local, peer string }{
		{lab.scan, "vdl" + tag + "s", dlScanner, dlTarget},
		{lab.target, "vdl" + tag + "t", dlTarget, dlScanner},
	}
	var files []*os.File
	for _, e := range ends {
		f := openTUN(t, e.dev)
		files = append(files, f)
		run(t, "", "ip", "link", "set", e.dev, "netns", e.ns)
		run(t, "", netnsExec(e.ns, "ip", "addr", "add", e.local, "peer", e.peer+"/32", "dev", e.dev)...)
		run(t, "", netnsExec(e.ns, "ip", "link", "set", e.dev, "up")...)
	}
	go relay(files[0], files[1], dlDelay)
	go relay(files[1], files[0], dlDelay)
	t.Cleanup(func() {
		for _, f := range files {
			_ = f.Close()
		}
	})
	for _, e := range ends {
		rules := "table inet vigilrtt {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tip daddr " +
			e.local + " tcp dport { 40001, 40002, 40003 } drop\n\t}\n}\n"
		run(t, rules, netnsExec(e.ns, "nft", "-f", "-")...)
		cmd := exec.Command("ip", netnsExec(e.ns, exe, "-test.run=^TestDiscoveryHelper$")[1:]...) // #nosec G204 -- the test binary
		cmd.Env = append(os.Environ(), helperEnv+"=listen", helperArgsEnv+"="+portList(dlOpen))
		testenv.StartHelper(t, cmd)
	}
	return lab
}

// TestConnectScanAdaptiveTimeout scans a fast host and one behind a link
// that delays every packet by 150 ms each way. A fixed 100 ms timeout
// (what the fast host needs) misses every open port of the slow host; the
// adaptive scan, with a 2 s ceiling, finds the port plan of both hosts,
// with the open ports nmap -sT finds, and waits less for the fast host's dropped ports than
// for the slow host's, never less than the slow link's round trip there.
func TestConnectScanAdaptiveTimeout(t *testing.T) {
	t.Parallel()
	requireLabTools(t, "ip", "nft")
	lab := newDelayLab(t)
	ports := dlPorts()
	args := helperArgs{Method: MethodConnect, Scope: []string{dlPrefix}, Targets: []string{dlScanner, dlTarget}, Ports: portList(ports)}

	args.Timeout = "100ms"
	fixed := lab.scanIn(t, lab.scan, nil, args)
	if fixed.Error != "" {
		t.Fatalf("fixed-timeout scan: %s", fixed.Error)
	}
	for _, r := range fixed.Results {
		if r.Host.String() == dlTarget && r.State == Open {
			t.Fatalf("a 100 ms timeout found port %d across a %v round trip: the slow link is not slow", r.Port, 2*dlDelay)
		}
	}

	args.Timeout = "2s"
	adaptive := lab.scanIn(t, lab.scan, nil, args)
	if adaptive.Error != "" {
		t.Fatalf("adaptive scan: %s", adaptive.Error)
	}
	byHost := map[string][]Result{}
	for _, r := range adaptive.Results {
		byHost[r.Host.String()] = append(byHost[r.Host.String()], r)
	}
	for _, h := range []string{dlScanner, dlTarget} {
		if d := diffStates(states(t, byHost[h]), dlWant()); d != "" {
			t.Errorf("adaptive scan of %s vs the port plan:%s", h, d)
		}
	}
	maxWait := func(h string) time.Duration {
		var w time.Duration
		for _, r := range byHost[h] {
			if r.State == Filtered {
				w = max(w, r.Wait)
			}
		}
		return w
	}
	fast, slow := maxWait(dlScanner), maxWait(dlTarget)
	if fast >= 2*time.Second {
		t.Errorf("the fast host's dropped ports waited the whole timeout (%v): no adaptation", fast)
	}
	if slow < 2*dlDelay {
		t.Errorf("the slow host's dropped ports waited %v, less than its round trip %v", slow, 2*dlDelay)
	}
	if fast >= slow {
		t.Errorf("fast host waited %v, slow host %v: the waits do not follow each host's round trip", fast, slow)
	}

	if _, err := exec.LookPath("nmap"); err != nil {
		testenv.Missing(t, "nmap")
	}
	// nmap folds the many closed ports into one line: compare the open sets.
	openOf := func(m map[uint16]State) []uint16 {
		var o []uint16
		for p, st := range m {
			if st == Open {
				o = append(o, p)
			}
		}
		slices.Sort(o)
		return o
	}
	vigil, nmap := openOf(states(t, byHost[dlTarget])), openOf(nmapStates(t, lab.scan, "-sT", dlTarget, ports))
	if !slices.Equal(vigil, nmap) {
		t.Errorf("open ports of the slow host: adaptive scan %v, nmap -sT %v", vigil, nmap)
	}
}
