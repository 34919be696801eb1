package health

import (
	"strconv"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/vigil-sec/vigil/internal/device/devicetest"
)

// The fake SNMP agent lives in devicetest, shared with the O&M service tests.
type agent = devicetest.Agent

func startAgent(t *testing.T, community string, vars []gosnmp.SnmpPDU) *devicetest.Agent {
	t.Helper()
	return devicetest.StartAgent(t, community, vars)
}

// Helpers to build agent tables.
var (
	parseOID = devicetest.ParseOID
	str      = devicetest.Str
	integer  = devicetest.Integer
	gauge    = devicetest.Gauge
	counter  = devicetest.Counter
	ticks    = devicetest.Ticks
	objectID = devicetest.ObjectID
)

// ifRows builds IF-MIB ifEntry columns for interfaces.
func ifRows(ifs []Interface) []gosnmp.SnmpPDU {
	var out []gosnmp.SnmpPDU
	for _, i := range ifs {
		s := "." + strconv.Itoa(i.Index)
		out = append(out,
			integer(oidIfEntry+".1"+s, i.Index), // ifIndex, not read by Poll
			str(colIfDescr+s, i.Descr),
			integer(oidIfEntry+".3"+s, 6), // ifType ethernetCsmacd, not read
			integer(colIfOperStatus+s, i.OperStatus),
			counter(colIfInErrors+s, uint32(i.InErrors)),
			counter(colIfOutErrors+s, uint32(i.OutErrors)),
		)
	}
	return out
}
