package health

import (
	"errors"
	"math"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func TestVendorTable(t *testing.T) {
	v, ok := LookupVendor(" FortiGate ")
	if !ok || v.CPU != "1.3.6.1.4.1.12356.101.4.1.3.0" || v.Memory != "1.3.6.1.4.1.12356.101.4.1.4.0" || v.Sessions != "1.3.6.1.4.1.12356.101.4.1.8.0" {
		t.Errorf("fortigate = %+v %v", v, ok)
	}
	if _, ok := LookupVendor("acme"); ok {
		t.Error("unknown vendor found")
	}
	for name, v := range vendorTable {
		for _, o := range []string{v.CPU, v.Memory, v.Sessions} {
			if o != "" && parseOID(o) == nil {
				t.Errorf("%s: bad oid %q", name, o)
			}
		}
	}
}

func TestConversions(t *testing.T) {
	if f, err := pduFloat(gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte(" 12.5 ")}); err != nil || f != 12.5 {
		t.Errorf("string gauge = %v %v", f, err)
	}
	if f, err := pduFloat(gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: -3}); err != nil || f != -3 {
		t.Errorf("integer = %v %v", f, err)
	}
	if _, err := pduFloat(gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: []byte("NaN")}); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := pduUint(gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: -1}); err == nil {
		t.Error("negative accepted as uint")
	}
	if n, err := pduUint(gosnmp.SnmpPDU{Type: gosnmp.Counter64, Value: uint64(math.MaxUint64)}); err != nil || n != math.MaxUint64 {
		t.Errorf("counter64 = %v %v", n, err)
	}
	if _, err := pduUint(gosnmp.SnmpPDU{Name: ".1.2", Type: gosnmp.NoSuchObject}); !errors.Is(err, errNoValue) {
		t.Errorf("noSuchObject: %v", err)
	}
	if _, err := pduString(gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: 1}); err == nil {
		t.Error("integer accepted as string")
	}
	for _, c := range []struct {
		col, name string
		want      int
		ok        bool
	}{
		{colIfDescr, ".1.3.6.1.2.1.2.2.1.2.7", 7, true},
		{colIfDescr, "1.3.6.1.2.1.2.2.1.2.7", 7, true},
		{colIfDescr, ".1.3.6.1.2.1.2.2.1.20.7", 0, false},
		{colIfDescr, ".1.3.6.1.2.1.2.2.1.2.7.1", 0, false},
		{colIfDescr, ".1.3.6.1.2.1.2.2.1.2.", 0, false},
		{colIfDescr, ".1.3.6.1.2.1.2.2.1.2.99999999999", 0, false},
	} {
		got, err := oidIndex(c.col, c.name)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("oidIndex(%q) = %d, %v", c.name, got, err)
		}
	}
}

// FuzzDecodeValues feeds arbitrary datagrams through gosnmp's decoder, as the
// test agent and Poll's responses do, then through every conversion Poll
// applies to varbinds. Nothing may panic; converted values must be sane.
func FuzzDecodeValues(f *testing.F) {
	seeds := [][]gosnmp.SnmpPDU{
		fortigate(123456, 42, 61, 1500, fwIfs),
		genericHost(500, []int{10, 20}, []Interface{{Index: 2, Descr: "eth0", OperStatus: 1, InErrors: 3}}),
		{{Name: ".1.3.6.1.2.1.1.1.0", Type: gosnmp.NoSuchObject}, {Name: ".1.3.6.1.2.1.1.1.0", Type: gosnmp.EndOfMibView}},
		{{Name: ".1.3.6.1.4.1.12356.101.4.1.3.0", Type: gosnmp.OctetString, Value: []byte("97.5")}},
		{{Name: ".1.3.6.1.2.1.31.1.1.1.6.1", Type: gosnmp.Counter64, Value: uint64(1) << 63}},
	}
	for _, vars := range seeds {
		pkt := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse, RequestID: 7, Variables: vars}
		b, err := pkt.MarshalMsg()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkt, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(data)
		if err != nil {
			return
		}
		for _, pdu := range pkt.Variables {
			if fl, err := pduFloat(pdu); err == nil && (math.IsNaN(fl) || math.IsInf(fl, 0)) {
				t.Fatalf("pduFloat gave %v", fl)
			}
			_, _ = pduUint(pdu)
			if s, err := pduString(pdu); err == nil && len(s) > maxString {
				t.Fatalf("string of %d bytes", len(s))
			}
			_ = oidValue(pdu)
			for _, col := range []string{colIfDescr, colIfOperStatus, oidHrStorageEntry + ".2"} {
				if idx, err := oidIndex(col, pdu.Name); err == nil && idx < 0 {
					t.Fatalf("negative index %d", idx)
				}
			}
		}
	})
}
