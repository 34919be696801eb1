package trap

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// startInformRx is startV3 with a local engine, so v3 informs are taken.
func startInformRx(t *testing.T, eng *Engine) *v3rx {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &v3rx{port: pc.LocalAddr().(*net.UDPAddr).Port, stats: &Stats{}, got: make(chan *Trap, 16),
		now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	users := func(_ context.Context, from netip.Addr, name string) []User {
		if from != netip.MustParseAddr("127.0.0.1") {
			return nil
		}
		var out []User
		for _, u := range v3users {
			if u.Name == name {
				out = append(out, u)
			}
		}
		return out
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = Serve(ctx, pc, func(_ context.Context, _ netip.Addr, tr *Trap) bool {
			if tr.Community == "wrong" {
				return false
			}
			r.got <- tr
			return true
		}, Options{Workers: 1, Users: users, Stats: r.stats, Now: r.clock, Engine: eng})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// snmpinform runs net-snmp's snmpinform (Debian package snmp) against
// the receiver and returns its output and whether it exited 0.
func snmpinform(t *testing.T, port int, args ...string) (string, bool) {
	t.Helper()
	bin, err := exec.LookPath("snmpinform")
	if err != nil {
		testenv.Missing(t, "snmpinform (Debian package snmp)")
	}
	dir := t.TempDir()
	args = append([]string{"-r", "1", "-t", "2"}, args...)
	args = append(args, "127.0.0.1:"+strconv.Itoa(port), "", "1.3.6.1.6.3.1.1.5.3",
		"1.3.6.1.2.1.2.2.1.2.3", "s", "port3")
	cmd := exec.CommandContext(context.Background(), bin, args...) // #nosec G204 -- fixed test arguments
	cmd.Env = []string{"HOME=" + dir, "SNMP_PERSISTENT_DIR=" + dir, "SNMPCONFPATH=" + dir, "MIBS=", "MIBDIRS=" + dir}
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// TestV3InformNetSNMPOracle sends informs with net-snmp's snmpinform, a
// USM implementation independent of gosnmp that discovers the receiver's
// engine ID and clock (RFC 3414 section 4) and waits for the response:
// exit 0 means the receiver answered discovery and acknowledged the
// inform under the user's keys.
func TestV3InformNetSNMPOracle(t *testing.T) {
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	r := startInformRx(t, eng)
	cases := []struct {
		args   []string
		wantID string
	}{
		{[]string{"-v", "3", "-l", "authPriv", "-u", "trapper", "-a", "SHA", "-A", "auth-pass-sha", "-x", "AES", "-X", "priv-pass-aes"}, "dev-sha"},
		{[]string{"-v", "3", "-l", "authPriv", "-u", "trapper", "-a", "SHA", "-A", "other-auth-pass", "-x", "AES", "-X", "other-priv-pass"}, "dev-twin"},
		{[]string{"-v", "3", "-l", "authPriv", "-u", "fgt", "-a", "SHA-256", "-A", "auth-pass-256", "-x", "AES-256", "-X", "priv-pass-256"}, "dev-sha256"},
		{[]string{"-v", "3", "-l", "authNoPriv", "-u", "old", "-a", "MD5", "-A", "auth-pass-md5"}, "dev-md5"},
	}
	for i, c := range cases {
		out, ok := snmpinform(t, r.port, c.args...)
		if !ok {
			t.Fatalf("snmpinform %v failed:\n%s\ncounts %+v", c.args, out, r.stats.Snapshot())
		}
		tr := r.accepted(t)
		if tr.Version != "3" || !tr.Inform || tr.UserID != c.wantID || tr.OID != OIDLinkDown || tr.Value("ifDescr") != "port3" ||
			tr.EngineID != hex.EncodeToString(eng.ID) {
			t.Fatalf("%v: inform %+v", c.args, tr)
		}
		if got := r.stats.Snapshot(); got.Acknowledged != uint64(i+1) || got.Accepted != uint64(i+1) {
			t.Fatalf("%v: counts %+v", c.args, got)
		}
	}
	// v2c informs are acknowledged too; a refused community is not.
	if out, ok := snmpinform(t, r.port, "-v", "2c", "-c", "public"); !ok {
		t.Fatalf("v2c snmpinform failed:\n%s", out)
	}
	if tr := r.accepted(t); tr.Version != "2c" || !tr.Inform || tr.Community != "public" {
		t.Fatalf("v2c inform %+v", tr)
	}
	if out, ok := snmpinform(t, r.port, "-v", "2c", "-c", "wrong"); ok {
		t.Fatalf("an inform the handler refused was acknowledged:\n%s", out)
	}
	base := r.stats.Snapshot()
	if base.Refused != 2 { // snmpinform -r 1 sends twice
		t.Fatalf("refused community: %+v", base)
	}

	// Refusals are reported to the sender, which fails, and counted by
	// what failed: the user, the digest (wrong auth key), the privacy
	// layer (right auth key, wrong privacy key), the security level.
	refusals := []struct {
		args []string
		want func(Counts) uint64
	}{
		{[]string{"-v", "3", "-l", "authPriv", "-u", "nobody", "-a", "SHA", "-A", "auth-pass-sha", "-x", "AES", "-X", "priv-pass-aes"},
			func(c Counts) uint64 { return c.UnknownUser }},
		{[]string{"-v", "3", "-l", "authPriv", "-u", "trapper", "-a", "SHA", "-A", "not-the-auth-pass", "-x", "AES", "-X", "priv-pass-aes"},
			func(c Counts) uint64 { return c.WrongDigest }},
		{[]string{"-v", "3", "-l", "authPriv", "-u", "fgt", "-a", "SHA-256", "-A", "auth-pass-256", "-x", "AES-256", "-X", "not-the-priv-pass"},
			func(c Counts) uint64 { return c.Decryption }},
		{[]string{"-v", "3", "-l", "authNoPriv", "-u", "trapper", "-a", "SHA", "-A", "auth-pass-sha"},
			func(c Counts) uint64 { return c.LowSecurityLevel }},
	}
	for _, c := range refusals {
		before := r.stats.Snapshot()
		if out, ok := snmpinform(t, r.port, c.args...); ok {
			t.Fatalf("snmpinform %v succeeded:\n%s", c.args, out)
		}
		after := r.stats.Snapshot()
		if c.want(after) == c.want(before) || after.Accepted != before.Accepted || after.Reports == before.Reports {
			t.Fatalf("%v: not counted or reported: before %+v after %+v", c.args, before, after)
		}
	}
	select {
	case tr := <-r.got:
		t.Fatalf("a refused inform reached the handler: %+v", tr)
	default:
	}
}

// discover sends an RFC 3414 discovery probe (reportable, noAuthNoPriv,
// empty engine ID and user, an empty GetRequest) encoded by gosnmp and
// returns the header of the report that comes back.
func discover(t *testing.T, port int) V3Header {
	t.Helper()
	probe := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable | gosnmp.NoAuthNoPriv,
		SecurityModel: gosnmp.UserSecurityModel, SecurityParameters: &gosnmp.UsmSecurityParameters{},
		PDUType: gosnmp.GetRequest, MsgID: 4711, RequestID: 815, MsgMaxSize: 65507}
	b, err := probe.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseV3Header(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{}, MsgFlags: gosnmp.NoAuthNoPriv}
	p, err := dec.UnmarshalTrap(buf[:n], true)
	if err != nil {
		t.Fatal(err)
	}
	if h.MsgID != 4711 || p.PDUType != gosnmp.Report || p.RequestID != 815 || len(p.Variables) != 1 ||
		strings.TrimPrefix(p.Variables[0].Name, ".") != oidUnknownEngineIDs {
		t.Fatalf("report %+v %+v", h, p)
	}
	return h
}

// TestEngineKeptAcrossRestarts: the engine ID is kept in the data
// directory and each start counts a boot, which discovery reports.
func TestEngineKeptAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), EngineFile)
	e1, err := LoadEngine(path)
	if err != nil {
		t.Fatal(err)
	}
	if e1.Boots != 1 || len(e1.ID) != 17 || e1.ID[0]&0x80 == 0 {
		t.Fatalf("first engine %x boots %d", e1.ID, e1.Boots)
	}
	h := discover(t, startInformRx(t, e1).port)
	if !bytes.Equal(h.EngineID, e1.ID) || h.Boots != 1 || h.Time != 0 {
		t.Fatalf("first start: %+v", h)
	}
	e2, err := LoadEngine(path)
	if err != nil {
		t.Fatal(err)
	}
	r2 := startInformRx(t, e2)
	h = discover(t, r2.port)
	if !bytes.Equal(h.EngineID, e1.ID) || h.Boots != 2 {
		t.Fatalf("second start: %+v", h)
	}
	r2.advance(90 * time.Second)
	if h = discover(t, r2.port); h.Time != 90 {
		t.Fatalf("engine time after 90 s: %+v", h)
	}
	if c := r2.stats.Snapshot(); c.UnknownEngineID != 2 || c.Reports != 2 {
		t.Fatalf("counts %+v", c)
	}
	// A damaged file is an error, not a new engine (boots must not go back).
	if _, err := parseEngine([]byte("engine-id zz\nboots 3\n")); err == nil {
		t.Fatal("bad engine ID accepted")
	}
	if _, err := parseEngine([]byte("boots 3\n")); err == nil {
		t.Fatal("missing engine ID accepted")
	}
}

// TestV3InformTimeWindow: an inform stamped with an old boot count, or
// far from the receiver's clock, is refused with an authenticated report
// of the receiver's clock; net-snmp then resynchronises and succeeds.
func TestV3InformTimeWindow(t *testing.T) {
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	eng.Boots = 5
	r := startInformRx(t, eng)
	send := func(boots, tm uint32) V3Header {
		t.Helper()
		sp := usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", boots, tm)
		sp.AuthoritativeEngineID = string(eng.ID)
		if err := sp.InitSecurityKeys(); err != nil {
			t.Fatal(err)
		}
		sp.PrivacyParameters = []byte{0, 0, 0, 0, 0, 0, 0, 1}
		p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.AuthPriv | gosnmp.Reportable,
			SecurityModel: gosnmp.UserSecurityModel, SecurityParameters: sp, PDUType: gosnmp.InformRequest,
			MsgID: 9, RequestID: 10, MsgMaxSize: 65507, ContextEngineID: string(eng.ID),
			Variables: []gosnmp.SnmpPDU{{Name: "." + oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(1)},
				{Name: "." + oidTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + OIDColdStart}}}
		b, err := p.MarshalMsg()
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(r.port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 2048)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ParseV3Header(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		// The reply is authenticated with the user's key localised with
		// the receiver's engine ID.
		if h.Flags&flagAuth == 0 || !digestOK(buf[:n], h, gosnmp.SHA, sp.SecretKey) {
			t.Fatalf("reply not authenticated: %+v", h)
		}
		return h
	}
	r.advance(0)
	discover(t, r.port) // starts the engine's clock at 0
	r.advance(1000 * time.Second)
	if h := send(4, 1000); h.Boots != 5 || h.Time != 1000 || r.stats.Snapshot().NotInTimeWindow != 1 {
		t.Fatalf("old boots: %+v %+v", h, r.stats.Snapshot())
	}
	if h := send(5, 1000-151); h.Boots != 5 || r.stats.Snapshot().NotInTimeWindow != 2 {
		t.Fatalf("behind the window: %+v %+v", h, r.stats.Snapshot())
	}
	if h := send(5, 1000+151); r.stats.Snapshot().NotInTimeWindow != 3 {
		t.Fatalf("ahead of the window: %+v %+v", h, r.stats.Snapshot())
	}
	if h := send(5, 1000-150); h.Flags&flagPriv == 0 || r.stats.Snapshot().Acknowledged != 1 {
		t.Fatalf("in the window: %+v %+v", h, r.stats.Snapshot())
	}
	if tr := r.accepted(t); !tr.Inform || tr.OID != OIDColdStart || tr.UserID != "dev-sha" {
		t.Fatalf("inform %+v", tr)
	}
}

// TestV3InformWithoutEngine: with no local engine, v3 informs stay
// refused as before.
func TestV3InformWithoutEngine(t *testing.T) {
	r := startInformRx(t, nil)
	sp := usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 1, 1)
	if err := sp.InitSecurityKeys(); err != nil {
		t.Fatal(err)
	}
	sp.PrivacyParameters = []byte{0, 0, 0, 0, 0, 0, 0, 2}
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.AuthPriv | gosnmp.Reportable,
		SecurityModel: gosnmp.UserSecurityModel, SecurityParameters: sp, PDUType: gosnmp.InformRequest,
		MsgID: 9, RequestID: 10, MsgMaxSize: 65507,
		Variables: []gosnmp.SnmpPDU{{Name: "." + oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(1)},
			{Name: "." + oidTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + OIDColdStart}}}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(r.port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	if got := r.waitCounts(t, 1); got.Unsupported != 1 || got.Reports != 0 {
		t.Fatalf("counts %+v", got)
	}
}
