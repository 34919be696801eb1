package agent

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCollectFakeRoot(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	inv, err := Collect(context.Background(), CollectOptions{
		FS: fakeRoot(t), AgentID: "0b0e6f8e-3d4a-4c1e-9a55-3f2b8c1d2e3f", Now: func() time.Time { return now },
		Interfaces: func() ([]Interface, error) {
			return []Interface{{Name: "eth0", MAC: "52:54:00:12:34:56", Up: true, Addresses: []string{"10.0.0.10/24"}}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Errors) != 0 {
		t.Errorf("section errors: %+v", inv.Errors)
	}
	wantHost := Host{
		Hostname: "web01", MachineID: "0123456789abcdef0123456789abcdef",
		OSID: "debian", OSName: "Debian GNU/Linux", OSVersion: "12", OSPrettyName: "Debian GNU/Linux 12 (bookworm)",
		Kernel: "6.1.0-28-amd64", UptimeSeconds: 86461, CPUs: 2,
		CPUModel: "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", MemoryBytes: 4028440 * 1024,
	}
	if d := cmp.Diff(wantHost, inv.Host); d != "" {
		t.Errorf("host (-want +got):\n%s", d)
	}
	wantListeners := []Listener{
		{Proto: "tcp", Address: "0.0.0.0", Port: 22, UID: 0, Inode: 1001, PID: 812, Process: "sshd", Exe: "/usr/sbin/sshd"},
		{Proto: "tcp", Address: "127.0.0.1", Port: 8080, UID: 1000, Inode: 1002, PID: 950, Process: "python3"},
		{Proto: "tcp6", Address: "::", Port: 22, UID: 0, Inode: 1004, PID: 812, Process: "sshd", Exe: "/usr/sbin/sshd"},
		{Proto: "udp", Address: "127.0.0.53", Port: 53, UID: 101, Inode: 1005, PID: 420, Process: "systemd-resolve", Exe: "/usr/lib/systemd/systemd-resolved"},
	}
	if d := cmp.Diff(wantListeners, inv.Listeners); d != "" {
		t.Errorf("listeners (-want +got):\n%s", d)
	}
	wantPkgs := []Package{
		{Name: "openssh-server", Version: "1:9.2p1-2+deb12u3", Arch: "amd64", Source: "openssh", Manager: "dpkg"},
		{Name: "libssl3", Version: "3.0.15-1~deb12u1", Arch: "amd64", Source: "openssl", Manager: "dpkg"},
		{Name: "bash", Version: "5.2.15-2+b7", Arch: "amd64", Manager: "dpkg"},
		{Name: "musl", Version: "1.2.4-r2", Arch: "x86_64", Manager: "apk"},
		{Name: "busybox-binsh", Version: "1.36.1-r5", Arch: "x86_64", Source: "busybox", Manager: "apk"},
	}
	if d := cmp.Diff(wantPkgs, inv.Packages); d != "" {
		t.Errorf("packages (-want +got):\n%s", d)
	}
	var roots, logins []string
	for _, u := range inv.Users {
		if u.Root {
			roots = append(roots, u.Name)
		}
		if u.Login {
			logins = append(logins, u.Name)
		}
	}
	if d := cmp.Diff([]string{"root", "toor"}, roots); d != "" {
		t.Errorf("uid 0 accounts (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"root", "toor", "alice"}, logins); d != "" {
		t.Errorf("login accounts (-want +got):\n%s", d)
	}
	if len(inv.Users) != 7 || len(inv.Groups) != 4 || cmp.Diff([]string{"alice", "bob"}, inv.Groups[1].Members) != "" {
		t.Errorf("users %d groups %d (%+v)", len(inv.Users), len(inv.Groups), inv.Groups)
	}
	if d := cmp.Diff([]Service{{"ssh.service", "active"}, {"systemd-resolved.service", "active"}}, inv.Services); d != "" {
		t.Errorf("services (-want +got):\n%s", d)
	}
	if len(inv.Interfaces) != 1 || inv.Interfaces[0].MAC != "52:54:00:12:34:56" {
		t.Errorf("interfaces %+v", inv.Interfaces)
	}
	if err := inv.Validate(); err != nil {
		t.Errorf("the collected inventory does not validate: %v", err)
	}
}

// TestCollectRealHost collects this machine's inventory and checks it
// against what the test can know independently: a TCP and a UDP socket it
// opens itself (port from the kernel, owner this process), the host name,
// and the installed packages as dpkg-query lists them.
func TestCollectRealHost(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this host")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	inv, err := Collect(context.Background(), CollectOptions{FS: os.DirFS("/"), Interfaces: SystemInterfaces, RPM: true, AgentID: "0b0e6f8e-3d4a-4c1e-9a55-3f2b8c1d2e3f"})
	if err != nil {
		t.Fatal(err)
	}
	comm, _ := os.ReadFile("/proc/self/comm")
	find := func(proto string, ap netip.AddrPort) {
		t.Helper()
		for _, l := range inv.Listeners {
			if l.Proto == proto && l.Port == ap.Port() && l.Address == ap.Addr().String() {
				if l.PID != os.Getpid() || l.Process != strings.TrimSpace(string(comm)) {
					t.Errorf("%s %v: owner pid %d %q, want %d %q", proto, ap, l.PID, l.Process, os.Getpid(), strings.TrimSpace(string(comm)))
				}
				return
			}
		}
		t.Errorf("%s %v: not among the %d listeners", proto, ap, len(inv.Listeners))
	}
	find("tcp", ln.Addr().(*net.TCPAddr).AddrPort())
	find("udp", pc.LocalAddr().(*net.UDPAddr).AddrPort())
	if h, _ := os.Hostname(); inv.Host.Hostname != h {
		t.Errorf("hostname %q, os.Hostname %q", inv.Host.Hostname, h)
	}
	var loopback bool
	for _, i := range inv.Interfaces {
		loopback = loopback || i.Loopback
	}
	if !loopback {
		t.Errorf("no loopback interface among %+v", inv.Interfaces)
	}
	var root bool
	for _, u := range inv.Users {
		root = root || u.Name == "root" && u.Root
	}
	if !root {
		t.Error("no root account with uid 0")
	}
	if len(inv.Errors) > 0 {
		t.Logf("section errors (expected for an unprivileged run): %+v", inv.Errors)
	}
	if err := inv.Validate(); err != nil {
		t.Errorf("the collected inventory does not validate: %v", err)
	}
	t.Logf("host %s (%s), %d listeners, %d packages, %d users, %d services", inv.Host.Hostname, inv.Host.OSPrettyName,
		len(inv.Listeners), len(inv.Packages), len(inv.Users), len(inv.Services))

	// Packages: dpkg-query is the oracle when present.
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		return
	}
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	want := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) == 3 && f[2] == "installed" {
			want[f[0]+" "+f[1]] = f[1]
		}
	}
	got := map[string]string{}
	for _, p := range inv.Packages {
		if p.Manager == "dpkg" {
			got[p.Name+" "+p.Version] = p.Version
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("dpkg packages differ from dpkg-query (-dpkg-query +agent):\n%s", d)
	}
	t.Logf("%d dpkg packages agree with dpkg-query", len(got))
}
