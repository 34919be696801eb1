package health

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

const fgPrefix = "1.3.6.1.4.1.12356.101.4.1."

func systemRows(descr, name string, up uint32) []gosnmp.SnmpPDU {
	return []gosnmp.SnmpPDU{
		str(oidSysDescr, descr),
		objectID("1.3.6.1.2.1.1.2.0", "1.3.6.1.4.1.12356.101.1.1"), // sysObjectID, not read
		ticks(oidSysUpTime, up),
		str(oidSysName, name),
	}
}

func fortigate(up uint32, cpu, mem, sessions uint32, ifs []Interface) []gosnmp.SnmpPDU {
	rows := systemRows("FortiGate-100F v7.4.3", "fw-edge-1", up)
	rows = append(rows,
		gauge(fgPrefix+"3.0", cpu),
		gauge(fgPrefix+"4.0", mem),
		gauge(fgPrefix+"8.0", sessions),
	)
	return append(rows, ifRows(ifs)...)
}

func genericHost(up uint32, loads []int, ifs []Interface) []gosnmp.SnmpPDU {
	rows := systemRows("Linux ips-sensor-2 6.1.0 x86_64", "ips-sensor-2", up)
	for i, l := range loads {
		rows = append(rows, integer(oidHrProcessorLoad+"."+strconv.Itoa(196608+i), l))
	}
	// hrStorage: row 1 is RAM (4 GiB in 1 KiB units, 3 GiB used), row 31 a disk.
	st := oidHrStorageEntry
	rows = append(rows,
		objectID(st+".2.1", oidHrStorageRAM),
		objectID(st+".2.31", "1.3.6.1.2.1.25.2.1.4"), // hrStorageFixedDisk
		integer(st+".4.1", 1024),
		integer(st+".4.31", 4096),
		integer(st+".5.1", 4194304),
		integer(st+".5.31", 1000000),
		integer(st+".6.1", 3145728),
		integer(st+".6.31", 999999),
	)
	return append(rows, ifRows(ifs)...)
}

func target(a *agent, community string) Target {
	return Target{Addr: a.Addr(), Community: community, Version: "2c", Timeout: 300 * time.Millisecond, Retries: 0}
}

var fwIfs = []Interface{
	{Index: 1, Descr: "port1", OperStatus: 1, InErrors: 0, OutErrors: 0},
	{Index: 2, Descr: "port2", OperStatus: 1, InErrors: 10, OutErrors: 5},
	{Index: 3, Descr: "wan1", OperStatus: 2},
}

func TestPollFortiGate(t *testing.T) {
	a := startAgent(t, "s3cret", fortigate(123456, 42, 61, 1500, fwIfs))
	s, err := Poll(context.Background(), target(a, "s3cret"), "FortiGate")
	if err != nil {
		t.Fatal(err)
	}
	if s.SysDescr != "FortiGate-100F v7.4.3" || s.SysName != "fw-edge-1" {
		t.Errorf("system = %q %q", s.SysDescr, s.SysName)
	}
	if s.UpTime != 1234560*time.Millisecond {
		t.Errorf("uptime = %v, want 20m34.56s", s.UpTime)
	}
	if !s.HasCPU || s.CPU != 42 || !s.HasMemory || s.Memory != 61 || !s.HasSessions || s.Sessions != 1500 {
		t.Errorf("cpu/mem/sessions = %v %v / %v %v / %v %v", s.CPU, s.HasCPU, s.Memory, s.HasMemory, s.Sessions, s.HasSessions)
	}
	if len(s.Interfaces) != 3 {
		t.Fatalf("interfaces = %+v", s.Interfaces)
	}
	for i, want := range fwIfs {
		if s.Interfaces[i] != want {
			t.Errorf("interface %d = %+v, want %+v", i, s.Interfaces[i], want)
		}
	}
	if s.Truncated {
		t.Error("truncated")
	}
}

func TestPollGenericHost(t *testing.T) {
	ifs := []Interface{{Index: 1, Descr: "lo", OperStatus: 1}, {Index: 2, Descr: "eth0", OperStatus: 1, InErrors: 3}}
	a := startAgent(t, "public", genericHost(500, []int{10, 20, 30, 60}, ifs))
	s, err := Poll(context.Background(), target(a, "public"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasCPU || s.CPU != 30 {
		t.Errorf("cpu = %v %v, want average 30", s.CPU, s.HasCPU)
	}
	if !s.HasMemory || s.Memory != 75 {
		t.Errorf("memory = %v %v, want 75", s.Memory, s.HasMemory)
	}
	if s.HasSessions {
		t.Error("generic host has no session count")
	}
	if len(s.Interfaces) != 2 || s.Interfaces[1] != ifs[1] {
		t.Errorf("interfaces = %+v", s.Interfaces)
	}
	// A FortiGate vendor hint on a host without the Fortinet MIB falls back
	// to HOST-RESOURCES-MIB.
	s, err = Poll(context.Background(), target(a, "public"), "fortigate")
	if err != nil || s.CPU != 30 || s.Memory != 75 || s.HasSessions {
		t.Errorf("fallback: %+v, %v", s, err)
	}
}

func TestPollWrongCommunity(t *testing.T) {
	a := startAgent(t, "right", fortigate(1, 1, 1, 1, fwIfs))
	start := time.Now()
	_, err := Poll(context.Background(), target(a, "wrong"), "fortigate")
	if err == nil {
		t.Fatal("poll with wrong community succeeded")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if a.Requests() != 0 {
		t.Errorf("agent answered %d requests", a.Requests())
	}
}

func TestPollContextCancelled(t *testing.T) {
	a := startAgent(t, "right", fortigate(1, 1, 1, 1, fwIfs))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	tg := target(a, "wrong")
	tg.Timeout, tg.Retries = 5*time.Second, 3
	start := time.Now()
	if _, err := Poll(ctx, tg, ""); err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancelled poll took %v", d)
	}
}

func TestPollBoundsInterfaces(t *testing.T) {
	ifs := make([]Interface, MaxInterfaces+40)
	for i := range ifs {
		ifs[i] = Interface{Index: i + 1, Descr: "if" + strconv.Itoa(i+1), OperStatus: 1}
	}
	a := startAgent(t, "c", genericHost(1, []int{5}, ifs))
	s, err := Poll(context.Background(), target(a, "c"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Interfaces) != MaxInterfaces || !s.Truncated {
		t.Errorf("interfaces = %d truncated=%v, want %d true", len(s.Interfaces), s.Truncated, MaxInterfaces)
	}
}

func TestTargetErrors(t *testing.T) {
	for _, tg := range []Target{
		{Addr: ":161"},
		{Addr: "h:notaport"},
		{Addr: "h:161", Version: "1"},
		{Addr: "h:161", Version: "3"},
		{Addr: "h:161", Version: "3", V3: &V3Auth{User: "u", AuthProtocol: "SHA"}},
		{Addr: "h:161", Version: "3", V3: &V3Auth{User: "u", AuthProtocol: "SHA", AuthPass: "authpass1", PrivProtocol: "ROT13", PrivPass: "x"}},
	} {
		if _, err := Poll(context.Background(), tg, ""); err == nil {
			t.Errorf("%+v: no error", tg)
		}
	}
	g, err := newClient(context.Background(), Target{Addr: "h", Version: "3", V3: &V3Auth{
		User: "u", AuthProtocol: "sha256", AuthPass: "authpass1", PrivProtocol: "aes", PrivPass: "privpass1"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Port != 161 || g.Version != gosnmp.Version3 || g.MsgFlags != gosnmp.AuthPriv {
		t.Errorf("v3 client = port %d version %v flags %v", g.Port, g.Version, g.MsgFlags)
	}
}

// TestPollThenJudge polls the same FortiGate twice across a reboot, a link
// failure and a CPU spike, and judges the two samples.
func TestPollThenJudge(t *testing.T) {
	a := startAgent(t, "s3cret", fortigate(900000, 30, 50, 100, fwIfs))
	th, ok := DefaultThresholds("firewall")
	if !ok {
		t.Fatal("no firewall thresholds")
	}
	prev, err := Poll(context.Background(), target(a, "s3cret"), "fortigate")
	if err != nil {
		t.Fatal(err)
	}
	if p := Judge(Sample{}, prev, th); len(p) != 0 {
		t.Errorf("healthy first sample: %+v", p)
	}

	// Errors grow on port2 without a reboot.
	grown := []Interface{fwIfs[0], {Index: 2, Descr: "port2", OperStatus: 1, InErrors: 200, OutErrors: 5}, fwIfs[2]}
	a.Set(fortigate(910000, 30, 50, 100, grown))
	cur, err := Poll(context.Background(), target(a, "s3cret"), "fortigate")
	if err != nil {
		t.Fatal(err)
	}
	assertKinds(t, Judge(prev, cur, th), KindInterfaceErrors)

	// Reboot, port1 down, CPU at 97%.
	down := []Interface{{Index: 1, Descr: "port1", OperStatus: 2}, fwIfs[1], fwIfs[2]}
	a.Set(fortigate(1200, 97, 50, 100, down))
	after, err := Poll(context.Background(), target(a, "s3cret"), "fortigate")
	if err != nil {
		t.Fatal(err)
	}
	got := Judge(cur, after, th)
	assertKinds(t, got, KindCPUHigh, KindReboot, KindInterfaceDown)
	if got[0].Severity != SeverityCritical || !strings.Contains(got[2].Message, "port1") {
		t.Errorf("problems = %+v", got)
	}
}

func assertKinds(t *testing.T, got []Problem, want ...Kind) {
	t.Helper()
	var kinds []Kind
	for _, p := range got {
		kinds = append(kinds, p.Kind)
	}
	if len(kinds) != len(want) {
		t.Fatalf("kinds = %v, want %v (%+v)", kinds, want, got)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("kinds = %v, want %v", kinds, want)
		}
	}
}
