package trap

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// v2cPacket encodes a v2c notification with gosnmp's encoder, the
// independent oracle of these tests.
func v2cPacket(t testing.TB, community string, pdu gosnmp.PDUType, trapOID string, extra ...gosnmp.SnmpPDU) []byte {
	t.Helper()
	vs := append([]gosnmp.SnmpPDU{
		{Name: "." + oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(123456)},
		{Name: "." + oidTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + trapOID},
	}, extra...)
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: community, PDUType: pdu, RequestID: 77, Variables: vs}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func v1Packet(t testing.TB, community, enterprise string, generic, specific int, extra ...gosnmp.SnmpPDU) []byte {
	t.Helper()
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version1, Community: community, PDUType: gosnmp.Trap, Variables: extra,
		SnmpTrap: gosnmp.SnmpTrap{Variables: extra, Enterprise: enterprise, AgentAddress: "192.0.2.7", GenericTrap: generic,
			SpecificTrap: specific, Timestamp: 4200}}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var linkDownVars = []gosnmp.SnmpPDU{
	{Name: ".1.3.6.1.2.1.2.2.1.1.3", Type: gosnmp.Integer, Value: 3},
	{Name: ".1.3.6.1.2.1.2.2.1.7.3", Type: gosnmp.Integer, Value: 1},
	{Name: ".1.3.6.1.2.1.2.2.1.8.3", Type: gosnmp.Integer, Value: 2},
	{Name: ".1.3.6.1.2.1.2.2.1.2.3", Type: gosnmp.OctetString, Value: []byte("GigabitEthernet0/3")},
}

func TestParseV2cLinkDown(t *testing.T) {
	tr, err := Parse(v2cPacket(t, "public-ro", gosnmp.SNMPv2Trap, OIDLinkDown, linkDownVars...))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Version != "2c" || tr.Community != "public-ro" || tr.Inform || tr.OID != OIDLinkDown || tr.Name() != "linkDown" ||
		tr.UpTime != 123456 || len(tr.Vars) != 4 {
		t.Fatalf("trap = %+v", tr)
	}
	if tr.Value("ifIndex") != "3" || tr.Value("ifOperStatus") != "2" || tr.Value("ifDescr") != "GigabitEthernet0/3" {
		t.Fatalf("vars = %+v", tr.Vars)
	}
	if tr.Vars[0].OID != "1.3.6.1.2.1.2.2.1.1.3" {
		t.Fatalf("oid %q", tr.Vars[0].OID)
	}
}

func TestParseV1(t *testing.T) {
	// Enterprise-specific: enterprise.0.specific (RFC 3584 section 3.1).
	tr, err := Parse(v1Packet(t, "c1", ".1.3.6.1.4.1.9.9.43.2", 6, 1,
		gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.9.9.43.1.1.6.1.3.5", Type: gosnmp.Integer, Value: 2}))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Version != "1" || tr.OID != "1.3.6.1.4.1.9.9.43.2.0.1" || tr.Agent != "192.0.2.7" || tr.UpTime != 4200 || len(tr.Vars) != 1 {
		t.Fatalf("v1 trap = %+v", tr)
	}
	// Generic 0..5 are the snmpTraps 1..6.
	for generic, want := range []string{"coldStart", "warmStart", "linkDown", "linkUp", "authenticationFailure"} {
		tr, err := Parse(v1Packet(t, "c1", ".1.3.6.1.4.1.9", generic, 0))
		if err != nil {
			t.Fatal(err)
		}
		if tr.Name() != want {
			t.Errorf("generic %d = %s, want %s", generic, tr.Name(), want)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	get := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "c", PDUType: gosnmp.GetRequest, RequestID: 1,
		Variables: []gosnmp.SnmpPDU{{Name: "." + oidSysUpTime, Type: gosnmp.Null}}}
	getB, err := get.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	noUptime := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "c", PDUType: gosnmp.SNMPv2Trap, RequestID: 1,
		Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.2.2.1.1.3", Type: gosnmp.Integer, Value: 3}}}
	noUptimeB, err := noUptime.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	good := v2cPacket(t, "c", gosnmp.SNMPv2Trap, OIDColdStart)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("<script>alert(1)</script>"),
		"get":       getB,
		"no uptime": noUptimeB,
		"truncated": good[:len(good)-5],
		"huge":      append(good, make([]byte, MaxPacket)...),
	} {
		if tr, err := Parse(b); err == nil {
			t.Errorf("%s: accepted %+v", name, tr)
		}
	}
	if _, err := Parse(getB); !errors.Is(err, ErrUnsupported) {
		t.Errorf("get request: %v", err)
	}
}

func TestParseBounds(t *testing.T) {
	var many []gosnmp.SnmpPDU
	for i := range MaxVars + 10 {
		many = append(many, gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.99999.1." + string(rune('0'+i%10)), Type: gosnmp.OctetString,
			Value: []byte(strings.Repeat("\x1b[31m<b>", 20))})
	}
	tr, err := Parse(v2cPacket(t, "c", gosnmp.SNMPv2Trap, "1.3.6.1.4.1.99999.0.1", many...))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Vars) != MaxVars || !tr.Truncated {
		t.Fatalf("%d vars, truncated %v", len(tr.Vars), tr.Truncated)
	}
	// Non-printable octets are shown as hex, bounded.
	if v := tr.Vars[0].Value; strings.ContainsRune(v, 0x1b) || len(v) > MaxValue {
		t.Fatalf("value %q", v)
	}
}

// TestServe sends real datagrams to a loopback socket: a trap reaches the
// handler with its sender, an accepted inform is acknowledged (gosnmp's
// client waits for the response) and a refused one is not.
func TestServe(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Trap, 4)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, pc, func(_ context.Context, from netip.Addr, tr *Trap) bool {
			if from != netip.MustParseAddr("127.0.0.1") {
				t.Errorf("from %v", from)
			}
			got <- tr
			return tr.Community == "right"
		}, Options{})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	send := func(community string, inform bool) error {
		g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Community: community, Version: gosnmp.Version2c,
			Timeout: 500 * time.Millisecond, Retries: 0}
		if err := g.Connect(); err != nil {
			return err
		}
		defer func() { _ = g.Conn.Close() }()
		_, err := g.SendTrap(gosnmp.SnmpTrap{IsInform: inform, Variables: append([]gosnmp.SnmpPDU{
			{Name: "." + oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(5)},
			{Name: "." + oidTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + OIDLinkDown}}, linkDownVars...)})
		return err
	}
	if err := send("right", false); err != nil {
		t.Fatal(err)
	}
	if tr := <-got; tr.Inform || tr.Name() != "linkDown" {
		t.Fatalf("trap = %+v", tr)
	}
	if err := send("right", true); err != nil {
		t.Fatalf("accepted inform not acknowledged: %v", err)
	}
	if tr := <-got; !tr.Inform {
		t.Fatal("inform not marked")
	}
	if err := send("wrong", true); err == nil {
		t.Fatal("a refused inform was acknowledged")
	}
	<-got
}
