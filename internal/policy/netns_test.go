package policy

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// Kernel verification: random rule sets are loaded into a network namespace
// with iptables-restore (nft backend) and with nft -f, probe connections
// are sent to it across a veth pair from a client namespace, and the
// kernel's verdict for each flow (connected, refused, timed out) must equal
// RuleSet.Decide on what iptables-save and nft list print back. The rule
// set with every shadowed and redundant rule removed must give the kernel's
// same verdicts. Needs root, ip, nft, iptables-restore and iptables-save;
// off the network (namespaces only).

const (
	netnsHelperEnv = "VIGIL_NETNS_HELPER"
	probeTimeout   = time.Second // generous: the machine may be loaded; drops cost this once per load
	fwIface        = "vf0"
	clientIface    = "vc0"
)

var (
	netnsSources = []string{"10.77.1.1", "10.77.1.2", "10.77.1.100", "10.77.1.200", "10.77.2.1", "10.77.2.50"}
	netnsDests   = []string{"10.77.9.1", "10.77.9.2", "10.77.9.130"}
	netnsPorts   = []uint16{22, 23, 80, 443, 8080}
)

// requireNetnsTools skips (CI unset) or fails (CI=true) without root and
// the tools, and returns nothing else: the tools are run by name.
func requireNetnsTools(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root (for network namespaces)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool)
		}
	}
}

func runCmd(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...) // #nosec G204 -- fixed test commands
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s\ninput:\n%s", strings.Join(args, " "), err, errb.String(), stdin)
	}
	return out.String()
}

// newNetns creates a namespace removed in t.Cleanup, with lo up.
func newNetns(t *testing.T, role string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := crand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "vigil-test-" + hex.EncodeToString(b) + "-" + role
	runCmd(t, "", "ip", "netns", "add", name)
	t.Cleanup(func() {
		var err error
		var out []byte
		for range 5 { // a namespace can stay busy briefly while its processes exit
			if out, err = exec.Command("ip", "netns", "del", name).CombinedOutput(); err == nil { // #nosec G204 -- test namespace
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Errorf("ip netns del %s: %v %s", name, err, out)
	})
	runCmd(t, "", "ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
	return name
}

func inNS(ns string, args ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, args...)
}

// TestNetnsHelperProcess is the listener and the prober run inside the
// namespaces by the kernel tests; it does nothing in a normal test run.
func TestNetnsHelperProcess(t *testing.T) {
	switch os.Getenv(netnsHelperEnv) {
	case "listen":
		if err := netnsListen(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stdout, "error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case "probe":
		if err := netnsProbe(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stdout, "error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// netnsListen accepts TCP connections and echoes UDP datagrams on every
// port of netnsPorts, prints "ready", and serves until stdin closes.
func netnsListen(stdin io.Reader, stdout io.Writer) error {
	for _, p := range netnsPorts {
		ln, err := net.Listen("tcp4", ":"+strconv.Itoa(int(p))) // #nosec G102 -- inside the test namespace only
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
		// One UDP socket per address, so replies come from the address the
		// client sent to.
		for _, a := range netnsDests {
			pc, err := net.ListenPacket("udp4", net.JoinHostPort(a, strconv.Itoa(int(p))))
			if err != nil {
				return err
			}
			go func() {
				buf := make([]byte, 64)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					_, _ = pc.WriteTo(buf[:n], from)
				}
			}()
		}
	}
	if _, err := fmt.Fprintln(stdout, "ready"); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, stdin)
	return err
}

// netnsProbe reads "proto src sport dst dport" lines, probes them in parallel and
// prints one verdict per line, in order: accept, reject or drop.
func netnsProbe(stdin io.Reader, stdout io.Writer) error {
	var lines []string
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	out := make([]string, len(lines))
	parallel, err := strconv.Atoi(os.Getenv(netnsHelperEnv + "_PARALLEL"))
	if err != nil || parallel < 1 {
		parallel = 24
	}
	sem := make(chan struct{}, parallel)
	// A timeout is a drop only if it happens twice: on a loaded machine the
	// listener's UDP echo or this process can be descheduled past the
	// timeout once. The retry uses its own source port (the listed one
	// less 10000, below every first probe's).
	for pass := range 2 {
		var wg sync.WaitGroup
		for i, l := range lines {
			if pass == 1 && out[i] != "drop" {
				continue
			}
			wg.Go(func() {
				sem <- struct{}{}
				out[i] = probeOne(l, pass == 1)
				<-sem
			})
		}
		wg.Wait()
	}
	for _, v := range out {
		if _, err := fmt.Fprintln(stdout, v); err != nil {
			return err
		}
	}
	return nil
}

func probeOne(line string, retry bool) string {
	f := strings.Fields(line)
	if len(f) != 5 {
		return "error: bad probe line"
	}
	src := net.ParseIP(f[1])
	sport, err := strconv.Atoi(f[2])
	if err != nil {
		return "error: bad source port"
	}
	if retry {
		sport -= 10000
	}
	dst := net.JoinHostPort(f[3], f[4])
	classify := func(err error) string {
		var ne net.Error
		switch {
		case err == nil:
			return "accept"
		case errors.Is(err, syscall.ECONNREFUSED):
			return "reject"
		case errors.As(err, &ne) && ne.Timeout():
			return "drop"
		}
		return "error: " + err.Error()
	}
	if f[0] == "tcp" {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src, Port: sport}, Timeout: probeTimeout}
		c, err := d.Dial("tcp4", dst)
		if err == nil {
			_ = c.Close()
		}
		return classify(err)
	}
	d := net.Dialer{LocalAddr: &net.UDPAddr{IP: src, Port: sport}}
	c, err := d.Dial("udp4", dst)
	if err != nil {
		return "error: " + err.Error()
	}
	defer func() { _ = c.Close() }()
	if err := c.SetDeadline(time.Now().Add(probeTimeout)); err != nil {
		return "error: " + err.Error()
	}
	if _, err := c.Write([]byte("vigil")); err != nil {
		return classify(err)
	}
	buf := make([]byte, 64)
	_, err = c.Read(buf)
	return classify(err)
}

// netnsLab is a client and a firewall namespace joined by a veth pair, with
// a listener running in the firewall.
type netnsLab struct {
	client, fw string
	exe        string
	parallel   int // probes in flight at once
	// nextPort is the client source port of the next probe: every probe of
	// a test uses its own, so no probe meets a conntrack entry left by an
	// earlier one (a UDP reply seen would make it ESTABLISHED, not NEW).
	nextPort uint16
}

func newNetnsLab(t *testing.T) *netnsLab {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lab := &netnsLab{client: newNetns(t, "c"), fw: newNetns(t, "f"), exe: exe, nextPort: 30000}
	runCmd(t, "", inNS(lab.client, "ip", "link", "add", clientIface, "type", "veth", "peer", "name", fwIface, "netns", lab.fw)...)
	for _, a := range netnsSources {
		runCmd(t, "", inNS(lab.client, "ip", "addr", "add", a+"/16", "dev", clientIface)...)
	}
	for _, a := range netnsDests {
		runCmd(t, "", inNS(lab.fw, "ip", "addr", "add", a+"/16", "dev", fwIface)...)
	}
	runCmd(t, "", inNS(lab.client, "ip", "link", "set", clientIface, "up")...)
	runCmd(t, "", inNS(lab.fw, "ip", "link", "set", fwIface, "up")...)
	// REJECT answers with ICMP for non-TCP-reset rejects: no rate limit, so
	// a reject never looks like a drop.
	// On kernels where the global limits are not per namespace the write
	// fails and the host's values apply; the prober then sends fewer
	// probes at once, to stay under the ICMP burst.
	lab.parallel = 256
	for _, kv := range []string{"net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_msgs_per_sec=100000", "net.ipv4.icmp_msgs_burst=10000"} {
		if out, err := exec.Command("ip", "netns", "exec", lab.fw, "sysctl", "-q", "-w", kv).CombinedOutput(); err != nil { // #nosec G204 -- fixed sysctl
			t.Logf("sysctl %s in the namespace: %v %s", kv, err, out)
			lab.parallel = 24
		}
	}

	cmd := exec.Command("ip", "netns", "exec", lab.fw, exe, "-test.run=^TestNetnsHelperProcess$") // #nosec G204 -- the test binary
	cmd.Env = append(os.Environ(), netnsHelperEnv+"=listen")
	testenv.StartHelper(t, cmd)
	return lab
}

type netnsFlow struct {
	proto    string
	src, dst string
	port     uint16
}

func netnsFlows() []netnsFlow {
	var out []netnsFlow
	for _, p := range []string{"tcp", "udp"} {
		for _, s := range netnsSources {
			for _, d := range netnsDests {
				for _, port := range netnsPorts {
					out = append(out, netnsFlow{p, s, d, port})
				}
			}
		}
	}
	return out
}

func (f netnsFlow) flow() Flow {
	p := uint8(6)
	if f.proto == "udp" {
		p = 17
	}
	return Flow{Proto: p, Src: netip.MustParseAddr(f.src), Dst: netip.MustParseAddr(f.dst), SrcPort: 40000, DstPort: f.port, In: fwIface, State: StateNew}
}

// probe returns the kernel's verdict for each flow, sent from the client.
func (lab *netnsLab) probe(t *testing.T, flows []netnsFlow) []Action {
	t.Helper()
	var in strings.Builder
	for _, f := range flows {
		if lab.nextPort >= 60000 {
			t.Fatal("out of distinct probe source ports")
		}
		fmt.Fprintf(&in, "%s %s %d %s %d\n", f.proto, f.src, lab.nextPort, f.dst, f.port)
		lab.nextPort++
	}
	cmd := exec.Command("ip", "netns", "exec", lab.client, lab.exe, "-test.run=^TestNetnsHelperProcess$") // #nosec G204 -- the test binary
	cmd.Env = append(os.Environ(), netnsHelperEnv+"=probe", netnsHelperEnv+"_PARALLEL="+strconv.Itoa(lab.parallel))
	cmd.Stdin = strings.NewReader(in.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("prober: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(flows) {
		t.Fatalf("prober printed %d lines for %d flows:\n%s", len(lines), len(flows), out)
	}
	acts := make([]Action, len(lines))
	for i, l := range lines {
		switch l {
		case "accept":
			acts[i] = Accept
		case "drop":
			acts[i] = Drop
		case "reject":
			acts[i] = Reject
		default:
			t.Fatalf("probe %+v: %s", flows[i], l)
		}
	}
	return acts
}

// genRule is one generated rule, rendered both as iptables-save and nft.
type genRule struct {
	chain                  string
	src, dst, proto, dport int // indexes into the option tables below
	iface, state           int
	target                 string
}

var genSrcs = []struct{ ipt, nft string }{
	{"", ""},
	{"-s 10.77.1.0/24 ", "ip saddr 10.77.1.0/24 "},
	{"-s 10.77.1.0/25 ", "ip saddr 10.77.1.0/25 "},
	{"-s 10.77.1.128/25 ", "ip saddr 10.77.1.128/25 "},
	{"-s 10.77.1.2 ", "ip saddr 10.77.1.2 "},
	{"-s 10.77.2.0/24 ", "ip saddr 10.77.2.0/24 "},
	{"! -s 10.77.1.0/24 ", "ip saddr != 10.77.1.0/24 "},
	{"-s 10.77.1.0/25,10.77.2.0/24 ", "ip saddr { 10.77.1.0/25, 10.77.2.0/24 } "},
	{"-m iprange --src-range 10.77.1.50-10.77.2.10 ", "ip saddr 10.77.1.50-10.77.2.10 "},
}

var genDsts = []struct{ ipt, nft string }{
	{"", ""}, {"", ""},
	{"-d 10.77.9.1 ", "ip daddr 10.77.9.1 "},
	{"! -d 10.77.9.0/25 ", "ip daddr != 10.77.9.0/25 "},
	{"-d 10.77.9.128/25 ", "ip daddr 10.77.9.128/25 "},
}

var genProtos = []struct{ ipt, nft, name string }{
	{"", "", ""}, {"-p tcp ", "", "tcp"}, {"-p udp ", "", "udp"}, {"-p tcp ", "", "tcp"}, {"! -p udp ", "meta l4proto != udp ", ""},
}

var genPorts = []struct{ ipt, nft string }{
	{"", ""}, {"--dport 22 ", "dport 22 "}, {"--dport 80 ", "dport 80 "}, {"--dport 20:25 ", "dport 20-25 "},
	{"-m multiport --dports 22,80,8080 ", "dport { 22, 80, 8080 } "}, {"! --dport 22 ", "dport != 22 "},
}

var genIfaces = []struct{ ipt, nft string }{
	{"", ""}, {"", ""}, {"-i " + fwIface + " ", `iifname "` + fwIface + `" `}, {"-i vf+ ", `iifname "vf*" `},
	{"-i eth0 ", `iifname "eth0" `}, {"! -i " + fwIface + " ", `iifname != "` + fwIface + `" `},
}

var genStates = []struct{ ipt, nft string }{
	{"", ""}, {"", ""}, {"-m conntrack --ctstate NEW ", "ct state new "},
}

func genKernelRuleSet(rng *rand.Rand) (policy string, rules []genRule) {
	policy = []string{"ACCEPT", "DROP"}[rng.IntN(2)]
	one := func(chain string) genRule {
		r := genRule{chain: chain, src: rng.IntN(len(genSrcs)), dst: rng.IntN(len(genDsts)), proto: rng.IntN(len(genProtos)),
			iface: rng.IntN(len(genIfaces)), state: rng.IntN(len(genStates))}
		if genProtos[r.proto].name != "" {
			r.dport = rng.IntN(len(genPorts))
		}
		if r.src == 7 && r.dst == 3 {
			r.dst = 0 // iptables refuses ! with several source addresses
		}
		targets := []string{"ACCEPT", "DROP", "REJECT", "ACCEPT", "DROP", "REJECT", "LOG"}
		if chain == "INPUT" {
			targets = append(targets, "U")
		} else {
			targets = append(targets, "RETURN")
		}
		r.target = targets[rng.IntN(len(targets))]
		return r
	}
	for range 8 + rng.IntN(25) {
		rules = append(rules, one("INPUT"))
	}
	for range 2 + rng.IntN(8) {
		rules = append(rules, one("U"))
	}
	return policy, rules
}

// iptablesText renders the rule set for iptables-restore; lines[i] is the
// line of rules[i]. A first rule accepts established packets: a probe's
// outcome then depends on the verdict for its first packet only (a TCP
// handshake's final ACK rejected with ICMP would otherwise surface as a
// refused connect through SO_ERROR's soft error).
func iptablesText(policy string, rules []genRule) (string, []int) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "*filter\n:INPUT %s [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:U - [0:0]\n", policy)
	sb.WriteString("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n")
	lines := make([]int, len(rules))
	for i, r := range rules {
		lines[i] = 7 + i
		p := genProtos[r.proto]
		fmt.Fprintf(&sb, "-A %s %s%s%s", r.chain, genSrcs[r.src].ipt, genDsts[r.dst].ipt, p.ipt)
		if p.name != "" {
			sb.WriteString(genPorts[r.dport].ipt)
		}
		sb.WriteString(genIfaces[r.iface].ipt + genStates[r.state].ipt + "-j " + r.target)
		switch {
		case r.target == "REJECT" && p.name == "tcp":
			sb.WriteString(" --reject-with tcp-reset")
		case r.target == "LOG":
			sb.WriteString(` --log-prefix "vigil "`)
		}
		sb.WriteString("\n")
	}
	sb.WriteString("COMMIT\n")
	return sb.String(), lines
}

func nftText(policy string, rules []genRule) string {
	var sb strings.Builder
	sb.WriteString("flush ruleset\ntable inet vigil {\n")
	for _, chain := range []string{"U", "INPUT"} {
		if chain == "U" {
			sb.WriteString("\tchain u {\n")
		} else {
			fmt.Fprintf(&sb, "\tchain input {\n\t\ttype filter hook input priority filter; policy %s;\n", strings.ToLower(policy))
			sb.WriteString("\t\tct state established,related accept\n")
		}
		for _, r := range rules {
			if r.chain != chain {
				continue
			}
			p := genProtos[r.proto]
			sb.WriteString("\t\t" + genSrcs[r.src].nft + genDsts[r.dst].nft + p.nft)
			if p.name != "" {
				if port := genPorts[r.dport].nft; port != "" {
					sb.WriteString(p.name + " " + port)
				} else {
					sb.WriteString("meta l4proto " + p.name + " ")
				}
			}
			sb.WriteString(genIfaces[r.iface].nft + genStates[r.state].nft)
			switch {
			case r.target == "REJECT" && p.name == "tcp":
				sb.WriteString("reject with tcp reset")
			case r.target == "U":
				sb.WriteString("jump u")
			case r.target == "LOG":
				sb.WriteString(`log prefix "vigil "`)
			default:
				sb.WriteString(strings.ToLower(r.target))
			}
			sb.WriteString("\n")
		}
		sb.WriteString("\t}\n")
	}
	sb.WriteString("}\n")
	return sb.String()
}

// optimise removes shadowed and redundant rules one at a time, re-running
// the analysis after each removal: Analyze proves each finding for removing
// that one rule, not for several together.
func optimise(t *testing.T, policy string, rules []genRule) ([]genRule, int) {
	t.Helper()
	// The optimised rule set is the one Propose delivers: shadowed and
	// redundant rules removed, proven equivalent by Diff.
	text, lines := iptablesText(policy, rules)
	rs := mustParse(t, text)
	p, err := Propose(context.Background(), rs, ProposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	drop := map[int]bool{}
	for _, l := range p.Removed() {
		drop[l] = true
	}
	var kept []genRule
	for i, r := range rules {
		if !drop[lines[i]] {
			kept = append(kept, r)
		}
	}
	return kept, len(rules) - len(kept)
}

type kernelCheck struct {
	sets, loads, decisions, removed int
}

// loadAndCompare loads one form into the firewall namespace, parses what
// the kernel lists back, probes the flows and compares each verdict with
// Decide. It returns the kernel's verdicts.
func (lab *netnsLab) loadAndCompare(t *testing.T, form, policy string, rules []genRule, flows []netnsFlow, st *kernelCheck) []Action {
	t.Helper()
	var parsed []*RuleSet
	runCmd(t, "", inNS(lab.fw, "nft", "flush", "ruleset")...)
	switch form {
	case "iptables":
		text, _ := iptablesText(policy, rules)
		runCmd(t, text, inNS(lab.fw, "iptables-restore")...)
		saved := runCmd(t, "", inNS(lab.fw, "iptables-save")...)
		rs, err := ParseIptablesSave(strings.NewReader(saved), IPv4)
		if err != nil {
			t.Fatalf("parse iptables-save output: %v\n%s", err, saved)
		}
		parsed = append(parsed, rs)
	case "nft":
		runCmd(t, nftText(policy, rules), inNS(lab.fw, "nft", "-f", "-")...)
		listed := runCmd(t, "", inNS(lab.fw, "nft", "list", "ruleset")...)
		rs, err := ParseNftText(strings.NewReader(listed), IPv4)
		if err != nil {
			t.Fatalf("parse nft list output: %v\n%s", err, listed)
		}
		parsed = append(parsed, rs)
		js := runCmd(t, "", inNS(lab.fw, "nft", "-j", "list", "ruleset")...)
		if rs, err = ParseNftJSON(strings.NewReader(js), IPv4); err != nil {
			t.Fatalf("parse nft -j output: %v\n%s", err, js)
		}
		parsed = append(parsed, rs)
	}
	st.loads++
	got := lab.probe(t, flows)
	for _, rs := range parsed {
		for i, f := range flows {
			d, err := rs.Decide("INPUT", f.flow())
			if err != nil {
				t.Fatal(err)
			}
			st.decisions++
			if d.Action != got[i] {
				text, _ := iptablesText(policy, rules)
				t.Errorf("%s (%s): flow %+v: kernel %s, Vigil %s by line %d %q\nrule set:\n%s", form, rs.Format, f, got[i], d.Action, d.Line, d.Rule, text)
			}
		}
	}
	return got
}

func TestKernelAgreesWithDecide(t *testing.T) {
	requireNetnsTools(t, "ip", "nft", "iptables-restore", "iptables-save", "sysctl")
	lab := newNetnsLab(t)
	flows := netnsFlows()
	// With no rules every probe must connect: checks the lab itself and
	// warms the neighbour caches.
	runCmd(t, "", inNS(lab.fw, "nft", "flush", "ruleset")...)
	for i, a := range lab.probe(t, flows) {
		if a != Accept {
			t.Fatalf("lab without rules: flow %+v got %s", flows[i], a)
		}
	}
	rng := rand.New(rand.NewPCG(7, 2026)) // #nosec G404 -- reproducible test rule sets
	var st kernelCheck
	for range 6 {
		policy, rules := genKernelRuleSet(rng)
		st.sets++
		ipt := lab.loadAndCompare(t, "iptables", policy, rules, flows, &st)
		nft := lab.loadAndCompare(t, "nft", policy, rules, flows, &st)
		for i := range flows {
			if ipt[i] != nft[i] {
				t.Errorf("flow %+v: iptables %s, nftables %s", flows[i], ipt[i], nft[i])
			}
		}
		opt, removed := optimise(t, policy, rules)
		st.removed += removed
		for _, form := range []string{"iptables", "nft"} {
			after := lab.loadAndCompare(t, form, policy, opt, flows, &st)
			for i := range flows {
				if after[i] != ipt[i] {
					t.Errorf("optimised (%s, %d rules removed): flow %+v: kernel %s before, %s after", form, removed, flows[i], ipt[i], after[i])
				}
			}
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("%d rule sets, %d kernel loads, %d flows each, %d kernel-vs-Vigil comparisons, %d rules removed by the proven-equivalent proposal",
		st.sets, st.loads, len(flows), st.decisions, st.removed)
}
