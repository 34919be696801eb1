package discovery

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// The tests in this file build a small network of their own: a scanner
// namespace and a target namespace joined by a veth pair, with addresses
// from 10.78.0.0/24 that exist only inside them. The target runs
// listeners on the open ports and an nftables rule set that drops the
// filtered ports; nothing listens on the closed ports, so the kernel
// answers them with a reset. Scans run inside the scanner namespace in a
// child process (this test binary, re-run as a helper). Needs root, ip and
// nft; nmap for the oracle.

const (
	helperEnv     = "VIGIL_DISCOVERY_HELPER"
	helperArgsEnv = "VIGIL_DISCOVERY_HELPER_ARGS"
	labScanIface  = "vds0"
	labTgtIface   = "vdt0"
	labScanner    = "10.78.0.1"
	labTarget     = "10.78.0.2"
	labTarget2    = "10.78.0.3" // a second live address of the target
	labDead       = "10.78.0.4" // nothing answers here
	labPrefix     = "10.78.0.0/24"
)

// The lab's port plan: the listeners, the ports nothing listens on, and
// the ports the target's firewall drops.
var (
	labOpen     = []uint16{22, 80, 8080, 31337}
	labClosed   = []uint16{23, 443, 3306}
	labFiltered = []uint16{9000, 9001, 9002}
)

// labRules is the target's nftables rule set: the filtered ports of
// labTarget are dropped, but for one rejected with an ICMP
// "administratively prohibited" error; for the host discovery test, labTarget ignores
// ICMP echo (only the TCP ping can find it) and labTarget2 drops all TCP
// (only ICMP echo can find it).
const labRules = `table inet vigiltest {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr ` + labTarget + ` tcp dport { 9000, 9001 } drop
		ip daddr ` + labTarget + ` tcp dport 9002 reject with icmp type admin-prohibited
		ip daddr ` + labTarget + ` icmp type echo-request drop
		ip daddr ` + labTarget2 + ` meta l4proto tcp drop
	}
}
`

func labPorts() []uint16 {
	p := slices.Concat(labOpen, labClosed, labFiltered)
	slices.Sort(p)
	return p
}

func requireLabTools(t *testing.T, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespace test: skipped with -short")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root (for network namespaces and raw sockets)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool)
		}
	}
}

func run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...) // #nosec G204 -- fixed test commands
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func netnsExec(ns string, args ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, args...)
}

// addNetns creates a namespace, deleted when the test ends (pass or fail),
// with its loopback up.
func addNetns(t *testing.T, role string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := crand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "vigil-test-" + hex.EncodeToString(b) + "-" + role
	run(t, "", "ip", "netns", "add", name)
	t.Cleanup(func() {
		var err error
		var out []byte
		for range 10 { // a namespace can stay busy briefly while its processes exit
			if out, err = exec.Command("ip", "netns", "del", name).CombinedOutput(); err == nil { // #nosec G204 -- the test's namespace
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Errorf("ip netns del %s: %v %s", name, err, out)
	})
	run(t, "", netnsExec(name, "ip", "link", "set", "lo", "up")...)
	return name
}

// scanLab is a scanner namespace and a target namespace on one veth pair.
type scanLab struct {
	scan, target string
	exe          string
}

func newScanLab(t *testing.T) *scanLab {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lab := &scanLab{scan: addNetns(t, "ds"), target: addNetns(t, "dt"), exe: exe}
	run(t, "", netnsExec(lab.scan, "ip", "link", "add", labScanIface, "type", "veth", "peer", "name", labTgtIface, "netns", lab.target)...)
	run(t, "", netnsExec(lab.scan, "ip", "addr", "add", labScanner+"/24", "dev", labScanIface)...)
	run(t, "", netnsExec(lab.target, "ip", "addr", "add", labTarget+"/24", "dev", labTgtIface)...)
	run(t, "", netnsExec(lab.target, "ip", "addr", "add", labTarget2+"/24", "dev", labTgtIface)...)
	run(t, "", netnsExec(lab.scan, "ip", "link", "set", labScanIface, "up")...)
	run(t, "", netnsExec(lab.target, "ip", "link", "set", labTgtIface, "up")...)
	run(t, labRules, netnsExec(lab.target, "nft", "-f", "-")...)

	cmd := exec.Command("ip", netnsExec(lab.target, exe, "-test.run=^TestDiscoveryHelper$")[1:]...) // #nosec G204 -- the test binary
	cmd.Env = append(os.Environ(), helperEnv+"=listen", helperArgsEnv+"="+portList(labOpen))
	testenv.StartHelper(t, cmd)
	return lab
}

func portList(ports []uint16) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

// helperArgs is what the test asks a scan helper to do.
type helperArgs struct {
	Method   Method   `json:"method"`
	Scope    []string `json:"scope"`
	Targets  []string `json:"targets"`
	Ports    string   `json:"ports"`
	Ping     bool     `json:"ping"`
	Discover bool     `json:"discover"` // host discovery only
	ARP      bool     `json:"arp"`
	Timeout  string   `json:"timeout"`
}

// helperOutput is what a scan helper prints.
type helperOutput struct {
	Results []Result     `json:"results"`
	Summary Summary      `json:"summary"`
	Hosts   []HostResult `json:"hosts"`
	HostSum HostSummary  `json:"host_summary"`
	Error   string       `json:"error,omitempty"`
}

// TestDiscoveryHelper is the listener and the scanner run inside the
// namespaces by the tests; it does nothing in a normal test run.
func TestDiscoveryHelper(t *testing.T) {
	var err error
	switch os.Getenv(helperEnv) {
	case "listen":
		err = helperListen(os.Getenv(helperArgsEnv), os.Stdin, os.Stdout)
	case "scan":
		err = helperScan(os.Getenv(helperArgsEnv), os.Stdout)
	default:
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stdout, "error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func helperListen(ports string, stdin io.Reader, stdout io.Writer) error {
	for _, p := range strings.Split(ports, ",") {
		ln, err := net.Listen("tcp4", ":"+p) // #nosec G102 -- inside the test namespace only
		if err != nil {
			return err
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
	}
	if _, err := fmt.Fprintln(stdout, "ready"); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, stdin)
	return err
}

func helperScan(argsJSON string, stdout io.Writer) error {
	var a helperArgs
	if err := json.Unmarshal([]byte(argsJSON), &a); err != nil {
		return err
	}
	ctx := context.Background()
	sc, err := ParseScope(a.Scope)
	if err != nil {
		return err
	}
	timeout, err := time.ParseDuration(a.Timeout)
	if err != nil {
		return err
	}
	s, err := New(Options{Scope: sc, Method: a.Method, Ping: a.Ping, ARP: a.ARP, Rate: 5000, Concurrency: 64, Timeout: timeout})
	if err != nil {
		return err
	}
	tg, err := ParseTargets(ctx, a.Targets, TargetOptions{Scope: sc})
	if err != nil {
		return err
	}
	var out helperOutput
	if a.Discover {
		out.HostSum, err = s.Discover(ctx, tg, func(h HostResult) { out.Hosts = append(out.Hosts, h) })
	} else {
		var ports []uint16
		if ports, err = ParsePorts(a.Ports); err != nil {
			return err
		}
		out.Summary, err = s.Scan(ctx, tg, ports, func(r Result) { out.Results = append(out.Results, r) })
	}
	if err != nil {
		out.Error = err.Error()
	}
	return json.NewEncoder(stdout).Encode(out)
}

// scanIn runs a scan helper in namespace ns (the root namespace when
// empty), with extra command words in front (like setpriv).
func (lab *scanLab) scanIn(t *testing.T, ns string, prefix []string, a helperArgs) helperOutput {
	t.Helper()
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	argv := append(slices.Clone(prefix), lab.exe, "-test.run=^TestDiscoveryHelper$")
	if ns != "" {
		argv = netnsExec(ns, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...) // #nosec G204 -- the test binary
	cmd.Env = append(os.Environ(), helperEnv+"=scan", helperArgsEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("scan helper: %v\n%s", err, b)
	}
	var out helperOutput
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("scan helper output: %v\n%s", err, b)
	}
	return out
}

// states maps port to state for one host's results.
func states(t *testing.T, rs []Result) map[uint16]State {
	t.Helper()
	m := map[uint16]State{}
	for _, r := range rs {
		if _, dup := m[r.Port]; dup {
			t.Errorf("port %d reported twice", r.Port)
		}
		m[r.Port] = r.State
	}
	return m
}

// labWant is the lab's port plan as states.
func labWant() map[uint16]State {
	m := map[uint16]State{}
	for _, p := range labOpen {
		m[p] = Open
	}
	for _, p := range labClosed {
		m[p] = Closed
	}
	for _, p := range labFiltered {
		m[p] = Filtered
	}
	return m
}

// nmapStates runs nmap in namespace ns with the given scan flag and
// returns the state it reports for each port of target.
func nmapStates(t *testing.T, ns, scanFlag, target string, ports []uint16) map[uint16]State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := netnsExec(ns, "nmap", scanFlag, "-Pn", "-n", "--max-retries", "1", "-p", portList(ports), "-oX", "-", target)
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output() // #nosec G204 -- fixed nmap arguments, namespace target
	if err != nil {
		t.Fatalf("nmap: %v", err)
	}
	var run nmapRun
	if err := xml.Unmarshal(out, &run); err != nil {
		t.Fatalf("nmap XML: %v", err)
	}
	m := map[uint16]State{}
	for _, h := range run.Hosts {
		for _, p := range h.Ports {
			m[p.ID] = State(p.State.State)
		}
	}
	return m
}

func diffStates(got, want map[uint16]State) string {
	var b strings.Builder
	ports := make([]uint16, 0, len(want))
	for p := range want {
		ports = append(ports, p)
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	for _, p := range ports {
		if got[p] != want[p] {
			fmt.Fprintf(&b, " port %d: got %q want %q;", p, got[p], want[p])
		}
	}
	return b.String()
}

// TestSYNScanNetns SYN-scans the lab target and checks the result against
// the lab's port plan, the connect scanner and nmap -sS.
func TestSYNScanNetns(t *testing.T) {
	t.Parallel()
	requireLabTools(t, "ip", "nft")
	lab := newScanLab(t)
	ports := labPorts()
	args := helperArgs{Method: MethodSYN, Scope: []string{labPrefix}, Targets: []string{labTarget}, Ports: portList(ports), Timeout: "1500ms"}
	syn := lab.scanIn(t, lab.scan, nil, args)
	if syn.Error != "" {
		t.Fatalf("SYN scan: %s", syn.Error)
	}
	if syn.Summary.Method != MethodSYN || syn.Summary.Fallback != "" {
		t.Fatalf("SYN scan used %s (%s)", syn.Summary.Method, syn.Summary.Fallback)
	}
	synStates := states(t, syn.Results)
	if d := diffStates(synStates, labWant()); d != "" {
		t.Errorf("SYN scan vs the lab's plan:%s", d)
	}
	for _, r := range syn.Results {
		want := map[State]string{Open: "syn-ack", Closed: "reset", Filtered: "no-response"}[r.State]
		if r.Port == 9002 {
			want = "admin-prohibited"
		}
		if r.Reason != want || r.Host != netip.MustParseAddr(labTarget) {
			t.Errorf("port %d: %s %s, reason %q", r.Port, r.Host, r.State, r.Reason)
		}
	}

	args.Method = MethodConnect
	conn := lab.scanIn(t, lab.scan, nil, args)
	if conn.Error != "" {
		t.Fatalf("connect scan: %s", conn.Error)
	}
	if d := diffStates(synStates, states(t, conn.Results)); d != "" {
		t.Errorf("SYN vs connect scan:%s", d)
	}

	if _, err := exec.LookPath("nmap"); err != nil {
		testenv.Missing(t, "nmap")
	}
	if d := diffStates(synStates, nmapStates(t, lab.scan, "-sS", labTarget, ports)); d != "" {
		t.Errorf("SYN scan vs nmap -sS:%s", d)
	}
}

// TestSYNFallsBackWithoutRawSockets runs a SYN scan as root without
// CAP_NET_RAW: it must use a connect scan, say so, and find the same
// ports.
func TestSYNFallsBackWithoutRawSockets(t *testing.T) {
	t.Parallel()
	requireLabTools(t, "ip", "nft", "setpriv")
	lab := newScanLab(t)
	args := helperArgs{Method: MethodSYN, Scope: []string{labPrefix}, Targets: []string{labTarget}, Ports: portList(labPorts()), Timeout: "1500ms"}
	out := lab.scanIn(t, lab.scan, []string{"setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--"}, args)
	if out.Error != "" {
		t.Fatalf("scan: %s", out.Error)
	}
	if out.Summary.Method != MethodConnect || !strings.Contains(out.Summary.Fallback, "raw sockets") {
		t.Errorf("method %s, fallback %q", out.Summary.Method, out.Summary.Fallback)
	}
	if d := diffStates(states(t, out.Results), labWant()); d != "" {
		t.Errorf("fallback scan vs the lab's plan:%s", d)
	}
}

// TestSYNRefusesOutOfScope checks that a SYN scan and host discovery
// refuse targets outside the scanner's scope before sending anything.
func TestSYNRefusesOutOfScope(t *testing.T) {
	for _, ping := range []bool{false, true} {
		s, err := New(Options{Scope: NewScope(netip.MustParsePrefix("127.0.0.1/32")), Method: MethodSYN, Ping: ping})
		if err != nil {
			t.Fatal(err)
		}
		called := false
		_, err = s.Scan(context.Background(), loopbackTargets(t, "127.0.0.1-2"), []uint16{80}, func(Result) { called = true })
		if !isOutOfScope(err) || called {
			t.Errorf("ping=%v: Scan: %v, results emitted: %v", ping, err, called)
		}
		_, err = s.Discover(context.Background(), loopbackTargets(t, "127.0.0.1-2"), func(HostResult) { called = true })
		if !isOutOfScope(err) || called {
			t.Errorf("Discover: %v, results emitted: %v", err, called)
		}
	}
}

func isOutOfScope(err error) bool { return errors.Is(err, ErrOutOfScope) }
