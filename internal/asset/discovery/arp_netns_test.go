package discovery

import (
	"context"
	"encoding/xml"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// The ARP test builds an Ethernet segment: a switch namespace with a
// bridge, the scanner and three hosts each joined to it by a veth pair,
// addresses from 10.75.0.0/24. The third host drops every ICMP and TCP
// packet, so only ARP can find it; 10.75.0.5-8 are empty.

const arpPrefix = "10.75.0.0/24"

// newARPLab makes the segment and returns the scanner namespace and each
// host's address and MAC address.
func newARPLab(t *testing.T) (string, map[string]string) {
	t.Helper()
	sw := addNetns(t, "asw")
	run(t, "", netnsExec(sw, "ip", "link", "add", "br0", "type", "bridge")...)
	run(t, "", netnsExec(sw, "ip", "link", "set", "br0", "up")...)
	join := func(role, addr string) (string, string) {
		ns := addNetns(t, role)
		port := "p-" + role
		run(t, "", netnsExec(sw, "ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)...)
		run(t, "", netnsExec(sw, "ip", "link", "set", port, "master", "br0", "up")...)
		run(t, "", netnsExec(ns, "ip", "addr", "add", addr+"/24", "dev", "eth0")...)
		run(t, "", netnsExec(ns, "ip", "link", "set", "eth0", "up")...)
		mac := strings.TrimSpace(run(t, "", netnsExec(ns, "cat", "/sys/class/net/eth0/address")...))
		return ns, mac
	}
	scan, _ := join("as", "10.75.0.1")
	hosts := map[string]string{}
	for i, addr := range []string{"10.75.0.2", "10.75.0.3", "10.75.0.4"} {
		ns, mac := join("ah"+string(rune('1'+i)), addr)
		hosts[addr] = mac
		if addr == "10.75.0.4" {
			run(t, "table inet quiet {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tmeta l4proto { icmp, tcp } drop\n\t}\n}\n",
				netnsExec(ns, "nft", "-f", "-")...)
		}
	}
	return scan, hosts
}

// TestARPDiscoveryNetns finds the hosts of the segment by ARP, with their
// MAC addresses, the quiet host included, and compares them with nmap
// -sn -PR; without CAP_NET_RAW the scan says ARP was not used and the
// quiet host stays unseen.
func TestARPDiscoveryNetns(t *testing.T) {
	t.Parallel()
	requireLabTools(t, "ip", "nft")
	scan, hosts := newARPLab(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lab := &scanLab{scan: scan, exe: exe}
	args := helperArgs{Discover: true, ARP: true, Scope: []string{arpPrefix}, Targets: []string{"10.75.0.2-10.75.0.8"}, Timeout: "500ms"}
	out := lab.scanIn(t, scan, nil, args)
	if out.Error != "" {
		t.Fatalf("discovery: %s", out.Error)
	}
	got := map[string]string{}
	for _, h := range out.Hosts {
		if !h.Up {
			continue
		}
		mac, ok := strings.CutPrefix(h.Reason, "arp-reply/")
		if !ok {
			// Found first by another probe: the ARP answer is not its reason.
			mac = hosts[h.Host.String()]
		}
		got[h.Host.String()] = mac
	}
	if !maps.Equal(got, hosts) {
		t.Errorf("ARP discovery found %v, want %v (methods %v)", got, hosts, out.HostSum.Methods)
	}
	if r := hostReason(out.Hosts, "10.75.0.4"); !strings.HasPrefix(r, "arp-reply/") {
		t.Errorf("the quiet host was found by %q, want ARP", r)
	}
	if !slices.ContainsFunc(out.HostSum.Methods, func(m string) bool { return strings.HasPrefix(m, "ARP on local segments: 3 of 7") }) {
		t.Errorf("methods %v", out.HostSum.Methods)
	}

	if _, err := exec.LookPath("nmap"); err == nil {
		if d := nmapARP(t, scan, "10.75.0.2-8"); !maps.Equal(d, hosts) {
			t.Errorf("nmap -sn -PR found %v, want %v", d, hosts)
		}
	}

	if _, err := exec.LookPath("setpriv"); err != nil {
		return
	}
	lim := lab.scanIn(t, scan, []string{"setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--"}, args)
	if lim.Error != "" {
		t.Fatalf("discovery without raw sockets: %s", lim.Error)
	}
	if !slices.ContainsFunc(lim.HostSum.Methods, func(m string) bool { return strings.HasPrefix(m, "ARP not used") }) {
		t.Errorf("without CAP_NET_RAW: methods %v", lim.HostSum.Methods)
	}
	if r := hostReason(lim.Hosts, "10.75.0.4"); r != "" {
		t.Errorf("without ARP the quiet host was found by %q", r)
	}
}

func hostReason(hs []HostResult, addr string) string {
	for _, h := range hs {
		if h.Up && h.Host.String() == addr {
			return h.Reason
		}
	}
	return ""
}

// nmapARP runs nmap's ARP ping in namespace ns and returns the hosts up
// with their MAC addresses (lower case).
func nmapARP(t *testing.T, ns, targets string) map[string]string {
	t.Helper()
	return nmapHostsUp(t, ns, "-sn", "-PR", "-n", "-oX", "-", targets)
}

// nmapHostsUp runs nmap with args in namespace ns and returns the IPv4
// addresses of the hosts its XML report says are up, each with its MAC
// address in lower case ("" when nmap saw none).
func nmapHostsUp(t *testing.T, ns string, args ...string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := netnsExec(ns, append([]string{"nmap"}, args...)...)
	b, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output() // #nosec G204 -- fixed nmap arguments, namespace targets
	if err != nil {
		t.Fatalf("nmap: %v", err)
	}
	var r struct {
		Hosts []struct {
			Status struct {
				State string `xml:"state,attr"`
			} `xml:"status"`
			Addrs []struct {
				Addr string `xml:"addr,attr"`
				Type string `xml:"addrtype,attr"`
			} `xml:"address"`
		} `xml:"host"`
	}
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatalf("nmap XML: %v", err)
	}
	out := map[string]string{}
	for _, h := range r.Hosts {
		if h.Status.State != "up" {
			continue
		}
		var ip, mac string
		for _, a := range h.Addrs {
			switch a.Type {
			case "ipv4":
				ip = a.Addr
			case "mac":
				mac = strings.ToLower(a.Addr)
			}
		}
		if ip != "" {
			out[ip] = mac
		}
	}
	return out
}
