package trap

import (
	"testing"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// FuzzParse feeds arbitrary datagrams to Parse: it never panics, and what
// it accepts is bounded, valid UTF-8 without control characters, and has
// a notification OID.
func FuzzParse(f *testing.F) {
	f.Add(v2cPacket(f, "public", gosnmp.SNMPv2Trap, OIDLinkDown, linkDownVars...))
	f.Add(v2cPacket(f, "public", gosnmp.InformRequest, "1.3.6.1.4.1.12356.101.2.0.401"))
	f.Add(v1Packet(f, "public", ".1.3.6.1.4.1.9.9.43.2", 6, 1))
	f.Add(v1Packet(f, "public", ".1.3.6.1.4.1.9", 4, 0))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03})
	f.Add([]byte("\x30\x82\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Parse(b)
		if err != nil {
			return
		}
		if tr.OID == "" || len(tr.Vars) > MaxVars {
			t.Fatalf("accepted %+v", tr)
		}
		texts := []string{tr.Community, tr.OID, tr.Agent}
		for _, v := range tr.Vars {
			texts = append(texts, v.OID, v.Value)
		}
		for _, s := range texts {
			if len(s) > MaxValue+3 || !utf8.ValidString(s) {
				t.Fatalf("unbounded or invalid text %q", s)
			}
			for _, r := range s {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("control character in %q", s)
				}
			}
		}
		if tr.Inform {
			// An inform whose bindings gosnmp cannot re-encode is left
			// unacknowledged; either way Ack must not panic.
			_, _ = tr.Ack()
		}
	})
}
