package discovery

import (
	"maps"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// labHosts is the host discovery plan: labTarget answers only TCP (it
// drops ICMP echo), labTarget2 only ICMP echo (it drops all TCP), labDead
// is not there at all.
func labHosts() map[string]bool {
	return map[string]bool{labTarget: true, labTarget2: true, labDead: false}
}

func upSet(t *testing.T, hs []HostResult) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, h := range hs {
		if _, dup := m[h.Host.String()]; dup {
			t.Errorf("host %s reported twice", h.Host)
		}
		m[h.Host.String()] = h.Up
	}
	return m
}

// nmapUp runs nmap host discovery (-sn; on a local segment, as root, that
// is an ARP ping) in namespace ns and returns the addresses it finds up.
func nmapUp(t *testing.T, ns, targets string) []string {
	t.Helper()
	up := slices.Collect(maps.Keys(nmapHostsUp(t, ns, "-sn", "-n", "-oX", "-", targets)))
	slices.Sort(up)
	return up
}

// TestHostDiscoveryNetns finds the lab's two live addresses, each by the
// only method it answers, and not the dead one; with raw sockets (ICMP
// raw, SYN ping) and without (ping socket, connect ping). nmap -sn is the
// oracle for the set of live hosts.
func TestHostDiscoveryNetns(t *testing.T) {
	t.Parallel()
	requireLabTools(t, "ip", "nft", "setpriv")
	lab := newScanLab(t)
	// Let every group use unprivileged ICMP echo sockets in the scanner's
	// namespace (the setting is per namespace).
	run(t, "", netnsExec(lab.scan, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")...)
	targets := labTarget + "-4"
	args := helperArgs{Discover: true, Scope: []string{labPrefix}, Targets: []string{targets}, Timeout: "1500ms"}
	for _, c := range []struct {
		name       string
		prefix     []string
		tcpReasons []string // the first TCP answer: port 80 is open, 443 closed
		methods    []string
	}{
		{"raw", nil, []string{"syn-ack/80", "reset/443"}, []string{"ICMP echo (raw)", "TCP SYN ping"}},
		{"unprivileged", []string{"setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--"}, []string{"connect/80", "refused/443"}, []string{"ICMP echo (ping socket)", "TCP connect ping", "no raw TCP socket"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := lab.scanIn(t, lab.scan, c.prefix, args)
			if out.Error != "" {
				t.Fatalf("discover: %s", out.Error)
			}
			got := upSet(t, out.Hosts)
			for h, want := range labHosts() {
				if got[h] != want {
					t.Errorf("%s: up=%v, want %v", h, got[h], want)
				}
			}
			if len(got) != 3 || out.HostSum.Up != 2 || out.HostSum.Hosts != 3 {
				t.Errorf("summary %+v, %d results", out.HostSum, len(got))
			}
			for _, h := range out.Hosts {
				want := map[string][]string{labTarget: c.tcpReasons, labTarget2: {"echo-reply"}, labDead: {"no-response"}}[h.Host.String()]
				if !slices.Contains(want, h.Reason) {
					t.Errorf("%s: reason %q, want one of %q", h.Host, h.Reason, want)
				}
			}
			methods := strings.Join(out.HostSum.Methods, "; ")
			for _, m := range c.methods {
				if !strings.Contains(methods, m) {
					t.Errorf("methods %q: no %q", methods, m)
				}
			}
		})
	}

	if _, err := exec.LookPath("nmap"); err != nil {
		testenv.Missing(t, "nmap")
	}
	if up := nmapUp(t, lab.scan, targets); !slices.Equal(up, []string{labTarget, labTarget2}) {
		t.Errorf("nmap -sn found %v up", up)
	}
}

// TestScanWithPing port-scans only the hosts host discovery found.
func TestScanWithPing(t *testing.T) {
	t.Parallel()
	requireLabTools(t, "ip", "nft")
	lab := newScanLab(t)
	args := helperArgs{Method: MethodSYN, Ping: true, Scope: []string{labPrefix}, Targets: []string{labTarget + "-4"}, Ports: portList(labOpen), Timeout: "1500ms"}
	out := lab.scanIn(t, lab.scan, nil, args)
	if out.Error != "" {
		t.Fatalf("scan: %s", out.Error)
	}
	if out.Summary.Hosts != 3 || out.Summary.HostsUp != 2 || out.Summary.Discovery == nil || out.Summary.Discovery.Up != 2 {
		t.Fatalf("summary %+v", out.Summary)
	}
	perHost := map[netip.Addr]map[uint16]State{}
	for _, r := range out.Results {
		if perHost[r.Host] == nil {
			perHost[r.Host] = map[uint16]State{}
		}
		perHost[r.Host][r.Port] = r.State
	}
	if _, ok := perHost[netip.MustParseAddr(labDead)]; ok {
		t.Errorf("the dead address was port-scanned")
	}
	for _, p := range labOpen {
		if s := perHost[netip.MustParseAddr(labTarget)][p]; s != Open {
			t.Errorf("%s:%d %q, want open", labTarget, p, s)
		}
		// labTarget2 drops all TCP.
		if s := perHost[netip.MustParseAddr(labTarget2)][p]; s != Filtered {
			t.Errorf("%s:%d %q, want filtered", labTarget2, p, s)
		}
	}
}

// TestParseEchoReply parses echo messages marshalled by x/net/icmp: replies
// are accepted with their fields, requests refused.
func TestParseEchoReply(t *testing.T) {
	for _, c := range []struct {
		proto int
		typ   icmp.Type
		reply bool
	}{
		{1, ipv4.ICMPTypeEchoReply, true},
		{58, ipv6.ICMPTypeEchoReply, true},
		{1, ipv4.ICMPTypeEcho, false},
		{58, ipv6.ICMPTypeEchoRequest, false},
		{1, ipv4.ICMPTypeDestinationUnreachable, false},
	} {
		var body icmp.MessageBody = &icmp.Echo{ID: 0x1234, Seq: 7, Data: []byte("vigil-token")}
		if !c.reply && c.typ == ipv4.ICMPTypeDestinationUnreachable {
			body = &icmp.DstUnreach{Data: make([]byte, 28)}
		}
		b, err := (&icmp.Message{Type: c.typ, Body: body}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseEchoReply(c.proto, b)
		if !c.reply {
			if err == nil {
				t.Errorf("%v accepted as an echo reply", c.typ)
			}
			continue
		}
		if err != nil || r.ID != 0x1234 || r.Seq != 7 || string(r.Data) != "vigil-token" {
			t.Errorf("%v: %+v, %v", c.typ, r, err)
		}
	}
	if _, err := parseEchoReply(1, make([]byte, maxEchoPacket+1)); err == nil {
		t.Error("oversized message accepted")
	}
}

// FuzzParseEchoReply feeds arbitrary ICMP and ICMPv6 messages to the echo
// reply parser host discovery runs on every packet its ICMP socket reads.
func FuzzParseEchoReply(f *testing.F) {
	f.Add(false, []byte{0, 0, 0xc2, 0xbd, 0x12, 0x34, 0, 7, 'v', 'i', 'g', 'i', 'l'})
	f.Add(true, []byte{129, 0, 0, 0, 0x12, 0x34, 0, 7})
	f.Fuzz(func(t *testing.T, v6 bool, b []byte) {
		proto := 1
		if v6 {
			proto = 58
		}
		r, err := parseEchoReply(proto, b)
		if err != nil {
			return
		}
		if len(b) < 8 || (b[0] != 0 && b[0] != 129) {
			t.Fatalf("accepted type %d of %d bytes", b[0], len(b))
		}
		if len(r.Data) > len(b) {
			t.Fatalf("data of %d bytes from a %d-byte message", len(r.Data), len(b))
		}
	})
}
