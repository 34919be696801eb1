package trap

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// v3rx is a receiver on a loopback UDP port with a fixed user table and a
// settable clock.
type v3rx struct {
	port  int
	stats *Stats
	got   chan *Trap

	mu  sync.Mutex
	now time.Time
}

func (r *v3rx) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *v3rx) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

var v3users = []User{
	{ID: "dev-sha", Name: "trapper", AuthProto: "SHA", AuthPass: "auth-pass-sha", PrivProto: "AES", PrivPass: "priv-pass-aes"},
	{ID: "dev-sha256", Name: "fgt", AuthProto: "SHA256", AuthPass: "auth-pass-256", PrivProto: "AES256", PrivPass: "priv-pass-256"},
	{ID: "dev-md5", Name: "old", AuthProto: "MD5", AuthPass: "auth-pass-md5"},
	// Two devices behind one address share a user name with different keys.
	{ID: "dev-twin", Name: "trapper", AuthProto: "SHA", AuthPass: "other-auth-pass", PrivProto: "AES", PrivPass: "other-priv-pass"},
}

func startV3(t *testing.T) *v3rx {
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
		_ = Serve(ctx, pc, func(_ context.Context, _ netip.Addr, tr *Trap) bool { r.got <- tr; return true },
			Options{Workers: 1, Users: users, Stats: r.stats, Now: r.clock})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// sendV3 sends one v3 trap with gosnmp's encoder, the independent oracle.
func sendV3(t *testing.T, port int, flags gosnmp.SnmpV3MsgFlags, sp *gosnmp.UsmSecurityParameters, trapOID string) {
	t.Helper()
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Version: gosnmp.Version3, Timeout: 2 * time.Second, // #nosec G115 -- a port
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags, SecurityParameters: sp}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	_, err := g.SendTrap(gosnmp.SnmpTrap{Variables: append([]gosnmp.SnmpPDU{
		{Name: "." + oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(4242)},
		{Name: "." + oidTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + trapOID},
	}, linkDownVars...)})
	if err != nil {
		t.Fatal(err)
	}
}

func usm(user string, auth gosnmp.SnmpV3AuthProtocol, authPass string, priv gosnmp.SnmpV3PrivProtocol, privPass string, boots, tm uint32) *gosnmp.UsmSecurityParameters {
	return &gosnmp.UsmSecurityParameters{UserName: user, AuthoritativeEngineID: "\x80\x00\x1f\x88\x04vigil-test",
		AuthoritativeEngineBoots: boots, AuthoritativeEngineTime: tm, AuthenticationProtocol: auth,
		AuthenticationPassphrase: authPass, PrivacyProtocol: priv, PrivacyPassphrase: privPass}
}

// waitCounts waits until the receiver has dealt with n datagrams.
func (r *v3rx) waitCounts(t *testing.T, n uint64) Counts {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := r.stats.Snapshot()
		done := c.Accepted + c.Refused + c.Malformed + c.Unsupported + c.Dropped + c.UnknownUser + c.WrongDigest +
			c.Decryption + c.NotInTimeWindow + c.LowSecurityLevel + c.UnknownEngineID
		if done >= n {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver handled %d of %d datagrams: %+v", done, n, c)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *v3rx) accepted(t *testing.T) *Trap {
	t.Helper()
	select {
	case tr := <-r.got:
		return tr
	case <-time.After(10 * time.Second):
		t.Fatal("no trap accepted")
		return nil
	}
}

func TestV3TrapsAuthenticatedAndDecrypted(t *testing.T) {
	r := startV3(t)
	cases := []struct {
		name   string
		flags  gosnmp.SnmpV3MsgFlags
		sp     *gosnmp.UsmSecurityParameters
		wantID string
	}{
		{"SHA/AES", gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 3, 100), "dev-sha"},
		{"same user, other keys", gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "other-auth-pass", gosnmp.AES, "other-priv-pass", 1, 50), "dev-twin"},
		{"SHA256/AES256", gosnmp.AuthPriv, usm("fgt", gosnmp.SHA256, "auth-pass-256", gosnmp.AES256, "priv-pass-256", 7, 9000), "dev-sha256"},
		{"MD5 authNoPriv", gosnmp.AuthNoPriv, usm("old", gosnmp.MD5, "auth-pass-md5", gosnmp.NoPriv, "", 1, 10), "dev-md5"},
	}
	for i, c := range cases {
		sendV3(t, r.port, c.flags, c.sp, OIDLinkDown)
		tr := r.accepted(t)
		if tr.Version != "3" || tr.UserID != c.wantID || tr.User != c.sp.UserName || tr.OID != OIDLinkDown ||
			tr.UpTime != 4242 || tr.Value("ifDescr") != "GigabitEthernet0/3" || tr.Community != "" || tr.Inform {
			t.Fatalf("%s: trap %+v", c.name, tr)
		}
		if got := r.waitCounts(t, uint64(i+1)); got.Accepted != uint64(i+1) {
			t.Fatalf("%s: counts %+v", c.name, got)
		}
	}
}

func TestV3TrapsRefusedAndCounted(t *testing.T) {
	r := startV3(t)
	// Learn the engine's clock: boots 5, time 1000.
	sendV3(t, r.port, gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 5, 1000), OIDColdStart)
	r.accepted(t)
	n := uint64(1)
	send := func(flags gosnmp.SnmpV3MsgFlags, sp *gosnmp.UsmSecurityParameters) Counts {
		t.Helper()
		sendV3(t, r.port, flags, sp, OIDLinkDown)
		n++
		return r.waitCounts(t, n)
	}
	if c := send(gosnmp.AuthPriv, usm("nobody", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 5, 1001)); c.UnknownUser != 1 {
		t.Fatalf("unknown user: %+v", c)
	}
	if c := send(gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "wrong-auth-pass", gosnmp.AES, "priv-pass-aes", 5, 1001)); c.WrongDigest != 1 {
		t.Fatalf("wrong digest: %+v", c)
	}
	// Right user and auth key, wrong protocol (SHA-256 digest for a SHA user).
	if c := send(gosnmp.AuthPriv, usm("trapper", gosnmp.SHA256, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 5, 1001)); c.WrongDigest+c.Decryption != 2 {
		t.Fatalf("wrong auth protocol: %+v", c)
	}
	// The user encrypts: an authenticated clear-text trap is refused.
	if c := send(gosnmp.AuthNoPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.NoPriv, "", 5, 1001)); c.LowSecurityLevel != 1 {
		t.Fatalf("clear text for a privacy user: %+v", c)
	}
	if c := send(gosnmp.NoAuthNoPriv, usm("trapper", gosnmp.NoAuth, "", gosnmp.NoPriv, "", 5, 1001)); c.LowSecurityLevel != 2 {
		t.Fatalf("noAuthNoPriv: %+v", c)
	}
	// An older boot count, and the same boot far behind the engine's
	// clock, are outside the window (RFC 3414 3.2.7 b).
	if c := send(gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 4, 5000)); c.NotInTimeWindow != 1 {
		t.Fatalf("older boots: %+v", c)
	}
	if c := send(gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 5, 1000-151)); c.NotInTimeWindow != 2 {
		t.Fatalf("behind the window: %+v", c)
	}
	// 150 s behind is still inside; after 10 minutes of local time the
	// engine's clock has moved on and time 1000 is a replay.
	sendV3(t, r.port, gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 5, 1000-150), OIDLinkUp)
	n++
	if tr := r.accepted(t); tr.OID != OIDLinkUp {
		t.Fatalf("in window: %+v", tr)
	}
	r.advance(10 * time.Minute)
	if c := send(gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 5, 1000)); c.NotInTimeWindow != 3 {
		t.Fatalf("replay after 10 minutes: %+v", c)
	}
	// A reboot (higher boots) resets the clock.
	sendV3(t, r.port, gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 6, 3), OIDWarmStart)
	if tr := r.accepted(t); tr.OID != OIDWarmStart {
		t.Fatalf("after reboot: %+v", tr)
	}
	c := r.waitCounts(t, n+1)
	if c.Accepted != 3 || c.Received != n+1 {
		t.Fatalf("final counts %+v", c)
	}
	select {
	case tr := <-r.got:
		t.Fatalf("a refused trap reached the handler: %+v", tr)
	default:
	}
}

func TestParseV3Header(t *testing.T) {
	// A gosnmp-encoded message, read back field by field.
	g := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv,
		SecurityParameters: usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 12, 3456)}
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv,
		SecurityParameters: g.SecurityParameters, PDUType: gosnmp.SNMPv2Trap, MsgID: 99, MsgMaxSize: 65507,
		Variables: []gosnmp.SnmpPDU{{Name: "." + oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(1)},
			{Name: "." + oidTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + OIDColdStart}}}
	if err := p.SecurityParameters.(*gosnmp.UsmSecurityParameters).InitSecurityKeys(); err != nil {
		t.Fatal(err)
	}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseV3Header(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.MsgID != 99 || h.Flags&3 != 3 || h.SecurityModel != 3 || string(h.EngineID) != "\x80\x00\x1f\x88\x04vigil-test" ||
		h.Boots != 12 || h.Time != 3456 || h.User != "trapper" {
		t.Fatalf("header %+v", h)
	}
	if v, err := messageVersion(b); err != nil || v != 3 {
		t.Fatalf("version %d %v", v, err)
	}
	// Every truncation is an error, never a panic.
	for i := range b {
		if _, err := ParseV3Header(b[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
}
