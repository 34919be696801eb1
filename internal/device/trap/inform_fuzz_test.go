package trap

import (
	"context"
	"net/netip"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// fuzzEngine is the fixed local engine of FuzzInformV3.
var fuzzEngine = []byte("\x80\x00\x00\x00\x05vigil-fuzz")

// v3Inform encodes a v3 inform for fuzzEngine with gosnmp's encoder.
func v3Inform(t testing.TB, flags gosnmp.SnmpV3MsgFlags, sp *gosnmp.UsmSecurityParameters) []byte {
	t.Helper()
	sp.AuthoritativeEngineID = string(fuzzEngine)
	if err := sp.InitSecurityKeys(); err != nil {
		t.Fatal(err)
	}
	if flags&gosnmp.AuthPriv == gosnmp.AuthPriv {
		sp.PrivacyParameters = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	}
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags | gosnmp.Reportable,
		SecurityParameters: sp, PDUType: gosnmp.InformRequest, MsgID: 7, RequestID: 8, MsgMaxSize: 65507,
		ContextEngineID: string(fuzzEngine),
		Variables: append([]gosnmp.SnmpPDU{{Name: "." + oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(1)},
			{Name: "." + oidTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + OIDLinkDown}}, linkDownVars...)}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzInformV3 feeds arbitrary datagrams to the receiver as the
// authoritative engine (discovery, digest check, decryption, its own time
// window): it never panics; an accepted message is a bounded inform of a
// known user that can be acknowledged; a report is a well-formed v3
// message of the local engine.
func FuzzInformV3(f *testing.F) {
	f.Add(v3Inform(f, gosnmp.AuthPriv, usm("trapper", gosnmp.SHA, "auth-pass-sha", gosnmp.AES, "priv-pass-aes", 1, 0)))
	f.Add(v3Inform(f, gosnmp.AuthNoPriv, usm("old", gosnmp.MD5, "auth-pass-md5", gosnmp.NoPriv, "", 1, 0)))
	f.Add(v3Inform(f, gosnmp.AuthPriv, usm("fgt", gosnmp.SHA256, "auth-pass-256", gosnmp.AES256, "priv-pass-256", 1, 0)))
	probe := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable | gosnmp.NoAuthNoPriv,
		SecurityModel: gosnmp.UserSecurityModel, SecurityParameters: &gosnmp.UsmSecurityParameters{},
		PDUType: gosnmp.GetRequest, MsgID: 1, RequestID: 2, MsgMaxSize: 65507}
	if b, err := probe.MarshalMsg(); err == nil {
		f.Add(b)
	}
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
	now := func() time.Time { return time.Unix(0, 0) }
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &v3Receiver{users: users, clocks: &clocks{m: map[string]engineClock{}, now: now},
			engine: &Engine{ID: fuzzEngine, Boots: 1}, now: now, stats: &Stats{}}
		tr, report, err := r.receive(context.Background(), from, b)
		if report != nil {
			h, herr := ParseV3Header(report)
			if herr != nil || string(h.EngineID) != string(fuzzEngine) || h.Boots != 1 || len(report) > MaxPacket {
				t.Fatalf("report %x: %+v %v", report, h, herr)
			}
		}
		if err != nil {
			if tr != nil {
				t.Fatal("a refusal with a notification")
			}
			return
		}
		if tr.Version != "3" || tr.UserID == "" || tr.OID == "" || len(tr.Vars) > MaxVars {
			t.Fatalf("accepted %+v", tr)
		}
		for _, s := range []string{tr.User, tr.OID} {
			if len(s) > MaxValue || !utf8.ValidString(s) {
				t.Fatalf("unbounded text %q", s)
			}
		}
		if tr.Inform {
			if _, err := tr.Ack(); err != nil {
				t.Fatalf("an accepted inform cannot be acknowledged: %v", err)
			}
		}
	})
}
