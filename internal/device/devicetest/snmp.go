// Package devicetest holds the fake security devices that device tests run
// against: a minimal SNMPv2c agent and a scripted SSH CLI server, both on
// loopback ports and stopped when the test ends. It is imported by tests
// only.
package devicetest

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// Agent is a minimal SNMPv2c agent on a loopback UDP port. It decodes
// requests with gosnmp's packet decoder and answers Get, GetNext and GetBulk
// from a table sorted by OID. Requests with the wrong community are dropped
// without a reply, as real agents do.
type Agent struct {
	community string
	conn      net.PacketConn
	mu        sync.Mutex
	table     []row
	requests  atomic.Int64
	wg        sync.WaitGroup
}

type row struct {
	oid []uint64
	pdu gosnmp.SnmpPDU
}

func parseOID(s string) []uint64 {
	parts := strings.Split(strings.TrimPrefix(s, "."), ".")
	out := make([]uint64, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}

// StartAgent starts an agent answering community with vars.
func StartAgent(t testing.TB, community string, vars []gosnmp.SnmpPDU) *Agent {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{community: community, conn: conn}
	a.Set(vars)
	a.wg.Add(1)
	go a.serve()
	t.Cleanup(func() {
		_ = conn.Close()
		a.wg.Wait()
	})
	return a
}

// Addr is the agent's host:port.
func (a *Agent) Addr() string { return a.conn.LocalAddr().String() }

// Requests counts the requests answered.
func (a *Agent) Requests() int64 { return a.requests.Load() }

// Set replaces the table (values keep their OID order).
func (a *Agent) Set(vars []gosnmp.SnmpPDU) {
	rows := make([]row, 0, len(vars))
	for _, v := range vars {
		v.Name = "." + strings.TrimPrefix(v.Name, ".")
		rows = append(rows, row{oid: parseOID(v.Name), pdu: v})
	}
	slices.SortFunc(rows, func(x, y row) int { return slices.Compare(x.oid, y.oid) })
	a.mu.Lock()
	a.table = rows
	a.mu.Unlock()
}

func (a *Agent) serve() {
	defer a.wg.Done()
	buf := make([]byte, 65535)
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	for {
		n, from, err := a.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		req, err := dec.SnmpDecodePacket(buf[:n])
		if err != nil || req.Community != a.community {
			continue
		}
		a.requests.Add(1)
		resp := &gosnmp.SnmpPacket{
			Version:   gosnmp.Version2c,
			Community: a.community,
			PDUType:   gosnmp.GetResponse,
			RequestID: req.RequestID,
			Variables: a.answer(req),
		}
		out, err := resp.MarshalMsg()
		if err != nil {
			continue
		}
		_, _ = a.conn.WriteTo(out, from)
	}
}

func (a *Agent) answer(req *gosnmp.SnmpPacket) []gosnmp.SnmpPDU {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []gosnmp.SnmpPDU
	switch req.PDUType {
	case gosnmp.GetRequest:
		for _, v := range req.Variables {
			out = append(out, a.get(v.Name))
		}
	case gosnmp.GetNextRequest:
		for _, v := range req.Variables {
			out = append(out, a.next(v.Name))
		}
	case gosnmp.GetBulkRequest:
		nonRep := min(int(req.NonRepeaters), len(req.Variables))
		for _, v := range req.Variables[:nonRep] {
			out = append(out, a.next(v.Name))
		}
		reps := min(int(req.MaxRepetitions), 64)
		cursors := make([]string, 0, len(req.Variables)-nonRep)
		for _, v := range req.Variables[nonRep:] {
			cursors = append(cursors, v.Name)
		}
		for range reps {
			for i, c := range cursors {
				p := a.next(c)
				out = append(out, p)
				cursors[i] = p.Name
			}
		}
	}
	return out
}

func (a *Agent) get(name string) gosnmp.SnmpPDU {
	oid := parseOID(name)
	i, ok := slices.BinarySearchFunc(a.table, oid, func(r row, o []uint64) int { return slices.Compare(r.oid, o) })
	if !ok {
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.NoSuchObject}
	}
	return a.table[i].pdu
}

func (a *Agent) next(name string) gosnmp.SnmpPDU {
	oid := parseOID(name)
	i, ok := slices.BinarySearchFunc(a.table, oid, func(r row, o []uint64) int { return slices.Compare(r.oid, o) })
	if ok {
		i++
	}
	if i >= len(a.table) {
		return gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView}
	}
	return a.table[i].pdu
}

// Str is an OCTET STRING varbind.
func Str(oid, v string) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.OctetString, Value: []byte(v)}
}

// Integer is an INTEGER varbind.
func Integer(oid string, v int) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Integer, Value: v}
}

// Gauge is a Gauge32 varbind.
func Gauge(oid string, v uint32) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Gauge32, Value: v}
}

// Counter is a Counter32 varbind.
func Counter(oid string, v uint32) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.Counter32, Value: v}
}

// Ticks is a TimeTicks varbind (hundredths of a second).
func Ticks(oid string, v uint32) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.TimeTicks, Value: v}
}

// ObjectID is an OBJECT IDENTIFIER varbind.
func ObjectID(oid, v string) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.ObjectIdentifier, Value: v}
}

// ParseOID returns the arcs of a dotted OID, or nil when it is not one.
func ParseOID(s string) []uint64 { return parseOID(s) }
