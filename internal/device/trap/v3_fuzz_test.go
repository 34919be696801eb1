package trap

import (
	"context"
	"net/netip"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// v3Packet encodes a v3 trap with gosnmp's encoder.
func v3Packet(t testing.TB, flags gosnmp.SnmpV3MsgFlags, sp *gosnmp.UsmSecurityParameters) []byte {
	t.Helper()
	if err := sp.InitSecurityKeys(); err != nil {
		t.Fatal(err)
	}
	g := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags, SecurityParameters: sp}
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags,
		SecurityParameters: g.SecurityParameters, PDUType: gosnmp.SNMPv2Trap, MsgID: 7, MsgMaxSize: 65507,
		Variables: append([]gosnmp.SnmpPDU{{Name: "." + oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(1)},
			{Name: "." + oidTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + OIDLinkDown}}, linkDownVars...)}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseV3 feeds arbitrary datagrams to the SNMPv3 path (header
// reader, user lookup, gosnmp's authentication and decryption, time
// window): it never panics, refuses with a reason, and what it accepts
// is a bounded v3 notification of a known user.
func FuzzParseV3(f *testing.F) {
	f.Add(v3Packet(f, gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 1, 1)))
	f.Add(v3Packet(f, gosnmp.AuthNoPriv, usm("old", gosnmp.MD5, "auth-pass-md5", gosnmp.NoPriv, "", 1, 1)))
	f.Add(v3Packet(f, gosnmp.AuthPriv, usm("fgt", gosnmp.SHA256, "auth-pass-256", gosnmp.AES256, "priv-pass-256", 2, 9)))
	f.Add(v3Packet(f, gosnmp.NoAuthNoPriv, usm("trapper", gosnmp.NoAuth, "", gosnmp.NoPriv, "", 0, 0)))
	f.Add([]byte("\x30\x0e\x02\x01\x03\x30\x09\x02\x01\x01\x02\x01\x01\x04\x01\x03"))
	users := func(_ context.Context, _ netip.Addr, name string) []User {
		var out []User
		for _, u := range v3users {
			if u.Name == name {
				out = append(out, u)
			}
		}
		return out
	}
	from := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseV3Header(b); err != nil {
			return
		}
		cl := &clocks{m: map[string]engineClock{}, now: func() time.Time { return time.Unix(0, 0) }}
		tr, err := parseV3(context.Background(), from, b, users, cl)
		if err != nil {
			return
		}
		if tr.Version != "3" || tr.UserID == "" || tr.OID == "" || len(tr.Vars) > MaxVars || tr.Inform {
			t.Fatalf("accepted %+v", tr)
		}
		for _, s := range []string{tr.User, tr.OID} {
			if len(s) > MaxValue || !utf8.ValidString(s) {
				t.Fatalf("unbounded text %q", s)
			}
		}
		if _, err := tr.Ack(); err == nil {
			t.Fatal("a v3 trap was acknowledged")
		}
	})
}
