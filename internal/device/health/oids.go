package health

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Standard MIB-II and HOST-RESOURCES-MIB object identifiers read by Poll.
const (
	// oidSysDescr is SNMPv2-MIB::sysDescr.0, a free-text description of the device.
	oidSysDescr = "1.3.6.1.2.1.1.1.0"
	// oidSysUpTime is SNMPv2-MIB::sysUpTime.0, hundredths of a second since the
	// agent (re)started; it is a TimeTicks that wraps after 2^32 ticks (~497 days).
	oidSysUpTime = "1.3.6.1.2.1.1.3.0"
	// oidSysName is SNMPv2-MIB::sysName.0, the administratively assigned name.
	oidSysName = "1.3.6.1.2.1.1.5.0"

	// oidHrProcessorLoad is HOST-RESOURCES-MIB::hrProcessorLoad, one row per
	// CPU: average percent busy over the last minute.
	oidHrProcessorLoad = "1.3.6.1.2.1.25.3.3.1.2"
	// oidHrStorageEntry is HOST-RESOURCES-MIB::hrStorageEntry. Columns used:
	// .2 hrStorageType, .4 hrStorageAllocationUnits, .5 hrStorageSize,
	// .6 hrStorageUsed.
	oidHrStorageEntry = "1.3.6.1.2.1.25.2.3.1"
	// oidHrStorageRAM is HOST-RESOURCES-MIB::hrStorageRam, the hrStorageType
	// value that marks the physical memory row.
	oidHrStorageRAM = "1.3.6.1.2.1.25.2.1.2"

	// oidIfEntry is IF-MIB::ifEntry. Columns used: .2 ifDescr,
	// .8 ifOperStatus (1 up, 2 down, ...), .14 ifInErrors, .20 ifOutErrors.
	oidIfEntry = "1.3.6.1.2.1.2.2.1"
)

// ifOperUp is IF-MIB ifOperStatus up(1).
const ifOperUp = 1

// VendorOIDs names the scalar objects a vendor MIB offers for CPU, memory and
// session count. Each is a full instance OID (ending in .0); an empty string
// means the vendor has no such object and the standard MIB is used instead.
type VendorOIDs struct {
	CPU      string // percent, 0-100
	Memory   string // percent, 0-100
	Sessions string // current session count
}

// vendorTable is read-only data: vendor name (lower case) to its OIDs.
var vendorTable = map[string]VendorOIDs{
	// Fortinet FORTINET-FORTIGATE-MIB, enterprise 12356, fgSystemInfo subtree.
	"fortigate": {
		// fgSysCpuUsage: current CPU usage, percent.
		CPU: "1.3.6.1.4.1.12356.101.4.1.3.0",
		// fgSysMemUsage: current memory utilisation, percent.
		Memory: "1.3.6.1.4.1.12356.101.4.1.4.0",
		// fgSysSesCount: number of active sessions on the device.
		Sessions: "1.3.6.1.4.1.12356.101.4.1.8.0",
	},
}

// LookupVendor returns the vendor-specific OIDs for vendor (case-insensitive)
// and whether the vendor is known. An unknown or empty vendor polls only the
// standard MIBs.
func LookupVendor(vendor string) (VendorOIDs, bool) {
	v, ok := vendorTable[strings.ToLower(strings.TrimSpace(vendor))]
	return v, ok
}

// errNoValue marks a varbind that carries no value (noSuchObject,
// noSuchInstance, endOfMibView or NULL).
var errNoValue = errors.New("no value")

func absent(pdu gosnmp.SnmpPDU) bool {
	switch pdu.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return true
	}
	return pdu.Value == nil
}

// pduUint converts a numeric varbind to uint64. Negative values and
// non-numeric types are errors.
func pduUint(pdu gosnmp.SnmpPDU) (uint64, error) {
	if absent(pdu) {
		return 0, fmt.Errorf("%s: %w", pdu.Name, errNoValue)
	}
	switch pdu.Type {
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks,
		gosnmp.Counter64, gosnmp.Uinteger32:
	default:
		return 0, fmt.Errorf("%s: type %v is not numeric", pdu.Name, pdu.Type)
	}
	b := gosnmp.ToBigInt(pdu.Value)
	if b == nil || b.Sign() < 0 || !b.IsUint64() {
		return 0, fmt.Errorf("%s: value %v out of range", pdu.Name, pdu.Value)
	}
	return b.Uint64(), nil
}

// pduFloat converts a numeric varbind to float64. Some agents return gauges
// as OCTET STRING ("12.5"); those are accepted when they parse as a finite
// number.
func pduFloat(pdu gosnmp.SnmpPDU) (float64, error) {
	if absent(pdu) {
		return 0, fmt.Errorf("%s: %w", pdu.Name, errNoValue)
	}
	switch pdu.Type {
	case gosnmp.OctetString:
		s, err := pduString(pdu)
		if err != nil {
			return 0, err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%s: %q is not a number", pdu.Name, s)
		}
		return f, nil
	case gosnmp.Integer:
		b := gosnmp.ToBigInt(pdu.Value)
		if b == nil {
			return 0, fmt.Errorf("%s: value %v is not numeric", pdu.Name, pdu.Value)
		}
		f, _ := new(big.Float).SetInt(b).Float64()
		return f, nil
	}
	u, err := pduUint(pdu)
	if err != nil {
		return 0, err
	}
	return float64(u), nil
}

// maxString bounds text values taken from a device.
const maxString = 1024

// pduString converts an OCTET STRING varbind to a string, truncated to
// maxString bytes.
func pduString(pdu gosnmp.SnmpPDU) (string, error) {
	if absent(pdu) {
		return "", fmt.Errorf("%s: %w", pdu.Name, errNoValue)
	}
	var s string
	switch v := pdu.Value.(type) {
	case []byte:
		s = string(v)
	case string:
		s = v
	default:
		return "", fmt.Errorf("%s: type %v is not a string", pdu.Name, pdu.Type)
	}
	if len(s) > maxString {
		s = s[:maxString]
	}
	return s, nil
}

// oidIndex returns the single numeric index that follows column in name, for
// example 3 for column "1.3.6.1.2.1.2.2.1.2" and name ".1.3.6.1.2.1.2.2.1.2.3".
func oidIndex(column, name string) (int, error) {
	column = strings.TrimPrefix(column, ".")
	n := strings.TrimPrefix(name, ".")
	rest, ok := strings.CutPrefix(n, column+".")
	if !ok {
		return 0, fmt.Errorf("oid %q is not under %s", name, column)
	}
	if rest == "" || strings.Contains(rest, ".") {
		return 0, fmt.Errorf("oid %q: index %q is not a single sub-identifier", name, rest)
	}
	idx, err := strconv.ParseUint(rest, 10, 31)
	if err != nil {
		return 0, fmt.Errorf("oid %q: bad index: %w", name, err)
	}
	return int(idx), nil
}

// oidValue returns the object identifier carried as a varbind value.
func oidValue(pdu gosnmp.SnmpPDU) string {
	if pdu.Type != gosnmp.ObjectIdentifier {
		return ""
	}
	s, _ := pdu.Value.(string)
	return strings.TrimPrefix(s, ".")
}
