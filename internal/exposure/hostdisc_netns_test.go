package exposure_test

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/exposure"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// Host discovery in a server run, through the service (Start, the
// worker's Run, the stored options and result), on an Ethernet segment:
// a switch namespace with a bridge, the scanner and three hosts joined to
// it by veth pairs, addresses from 10.74.0.0/24. The third host drops
// every ICMP and TCP packet, so only ARP can find it; 10.74.0.5-8 are
// empty. The run itself happens in a copy of the test binary started in
// the scanner namespace (TestHostDiscoveryRunHelper), which prints the
// run as JSON.

const hostDiscHelperEnv = "VIGIL_TEST_HOSTDISC_HELPER"

type hostDiscOut struct {
	HostDiscovery bool
	Options       string
	Status, Error string
	Result        exposure.RunResult
}

// TestHostDiscoveryRunHelper is not a test on its own: it runs a server
// discovery run with host discovery when started by
// TestHostDiscoveryRunNetns inside the scanner namespace.
func TestHostDiscoveryRunHelper(t *testing.T) {
	if os.Getenv(hostDiscHelperEnv) == "" {
		t.Skip("helper of TestHostDiscoveryRunNetns")
	}
	e := fixture.New(t)
	ctx := e.AdminCtx(t.Context())
	svc := exposure.NewService(e.Store, e.Audit, exposure.Options{Rate: 2000, Timeout: 500 * time.Millisecond})
	if _, err := e.Assets.Create(ctx, e.TenantA.ID, asset.Input{Kind: "ip", Name: "segment", Address: "10.74.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	run, err := svc.Start(ctx, e.TenantA.ID, exposure.Input{Targets: "10.74.0.2-10.74.0.8", Ports: "22,8080", HostDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, res, err := svc.Get(ctx, e.TenantA.ID, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == exposure.StatusDone || got.Status == exposure.StatusFailed {
			b, _ := json.Marshal(hostDiscOut{HostDiscovery: exposure.RunHostDiscovery(got), Options: got.Options,
				Status: got.Status, Error: got.Error, Result: res})
			os.Stdout.Write(append(append([]byte("HOSTDISC "), b...), '\n'))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run still %s", got.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHostDiscoveryRunNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespace test: skipped with -short")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root (for network namespaces and raw sockets)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool)
		}
	}
	scan, hosts := newSegment(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	runIn := func(prefix ...string) hostDiscOut {
		t.Helper()
		argv := append([]string{"ip", "netns", "exec", scan}, prefix...)
		argv = append(argv, exe, "-test.run", "^TestHostDiscoveryRunHelper$", "-test.count", "1")
		cmd := exec.Command(argv[0], argv[1:]...) // #nosec G204 -- the test binary in the test's namespace
		cmd.Env = append(os.Environ(), hostDiscHelperEnv+"=1")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("helper: %v\n%s\n%s", err, out.String(), errb.String())
		}
		for line := range strings.SplitSeq(out.String(), "\n") {
			if b, ok := strings.CutPrefix(line, "HOSTDISC "); ok {
				var o hostDiscOut
				if err := json.Unmarshal([]byte(b), &o); err != nil {
					t.Fatal(err)
				}
				return o
			}
		}
		t.Fatalf("helper printed no run:\n%s\n%s", out.String(), errb.String())
		return hostDiscOut{}
	}

	o := runIn()
	if o.Status != exposure.StatusDone || !o.HostDiscovery || !strings.Contains(o.Options, `"host_discovery":true`) {
		t.Fatalf("run %s %q, options %q", o.Status, o.Error, o.Options)
	}
	hd := o.Result.HostDiscovery
	if hd == nil {
		t.Fatal("no host discovery result")
	}
	got := map[string]string{}
	for _, h := range hd.Found {
		got[h.Host] = h.Reason
	}
	if len(got) != 3 || hd.Up != 3 || hd.Hosts != 7 {
		t.Fatalf("hosts up %v (%d of %d), want the three of %v; methods %v", got, hd.Up, hd.Hosts, hosts, hd.Methods)
	}
	for addr := range hosts {
		if _, ok := got[addr]; !ok {
			t.Errorf("%s not found: %v", addr, got)
		}
	}
	if r := got["10.74.0.4"]; r != "arp-reply/"+hosts["10.74.0.4"] {
		t.Errorf("the quiet host was found by %q, want ARP from %s", r, hosts["10.74.0.4"])
	}
	if !slices.ContainsFunc(hd.Methods, func(m string) bool { return strings.HasPrefix(m, "ARP on local segments: 3 of 7") }) {
		t.Errorf("methods %v", hd.Methods)
	}
	// Only the hosts up were port-scanned: 3 hosts x 2 ports.
	if o.Result.Hosts != 7 || o.Result.Probed != 6 {
		t.Errorf("hosts %d probed %d, want 7 and 6", o.Result.Hosts, o.Result.Probed)
	}

	// Without CAP_NET_RAW the run says ARP was not used, and the quiet
	// host stays unseen.
	if _, err := exec.LookPath("setpriv"); err != nil {
		return
	}
	lim := runIn("setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--")
	if lim.Status != exposure.StatusDone || lim.Result.HostDiscovery == nil {
		t.Fatalf("run without raw sockets: %s %q", lim.Status, lim.Error)
	}
	if m := lim.Result.HostDiscovery.Methods; !slices.ContainsFunc(m, func(m string) bool { return strings.HasPrefix(m, "ARP not used") }) {
		t.Errorf("without CAP_NET_RAW: methods %v", m)
	}
	for _, h := range lim.Result.HostDiscovery.Found {
		if h.Host == "10.74.0.4" {
			t.Errorf("without ARP the quiet host was found by %q", h.Reason)
		}
	}
}

// newSegment makes the bridged segment and returns the scanner namespace
// and each host's address and MAC address.
func newSegment(t *testing.T) (string, map[string]string) {
	t.Helper()
	sw := addNetns(t, "hsw")
	nsRun(t, "", sw, "ip", "link", "add", "br0", "type", "bridge")
	nsRun(t, "", sw, "ip", "link", "set", "br0", "up")
	join := func(role, addr string) (string, string) {
		ns := addNetns(t, role)
		port := "p-" + role
		nsRun(t, "", sw, "ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		nsRun(t, "", sw, "ip", "link", "set", port, "master", "br0", "up")
		nsRun(t, "", ns, "ip", "addr", "add", addr+"/24", "dev", "eth0")
		nsRun(t, "", ns, "ip", "link", "set", "eth0", "up")
		return ns, strings.TrimSpace(nsRun(t, "", ns, "cat", "/sys/class/net/eth0/address"))
	}
	scan, _ := join("hs", "10.74.0.1")
	hosts := map[string]string{}
	for i, addr := range []string{"10.74.0.2", "10.74.0.3", "10.74.0.4"} {
		ns, mac := join("hh"+string(rune('1'+i)), addr)
		hosts[addr] = mac
		if addr == "10.74.0.4" {
			nsRun(t, "table inet quiet {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tmeta l4proto { icmp, tcp } drop\n\t}\n}\n",
				ns, "nft", "-f", "-")
		}
	}
	return scan, hosts
}

func nsRun(t *testing.T, stdin, ns string, args ...string) string {
	t.Helper()
	argv := append([]string{"ip", "netns", "exec", ns}, args...)
	cmd := exec.Command(argv[0], argv[1:]...) // #nosec G204 -- fixed test commands in the test's namespace
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, errb.String())
	}
	return out.String()
}

// addNetns creates a namespace, deleted when the test ends, with its
// loopback up.
func addNetns(t *testing.T, role string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := crand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "vigil-test-" + hex.EncodeToString(b) + "-" + role
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil { // #nosec G204 -- the test's namespace
		t.Fatalf("ip netns add: %v %s", err, out)
	}
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
	nsRun(t, "", name, "ip", "link", "set", "lo", "up")
	return name
}
