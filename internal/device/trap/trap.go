// Package trap receives SNMP notifications from security devices: SNMPv1
// traps, SNMPv2c traps and informs, and SNMPv3 traps and informs with
// user-based security (v3.go, inform.go) on a UDP socket. Packets are decoded with gosnmp's BER
// decoder (only the v3 header is read here first), bounded in size and in
// variable bindings, and handed to a Handler with the sender's address;
// an accepted inform is acknowledged with a response.
package trap

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// Bounds on what a notification may hold.
const (
	// MaxPacket is the largest datagram decoded; longer ones are refused.
	MaxPacket = 16 << 10
	// MaxVars is the most variable bindings kept from one notification.
	MaxVars = 64
	// MaxValue bounds one value's text (bytes).
	MaxValue = 512
)

// Well-known notification OIDs (SNMPv2-MIB snmpTraps, RFC 3418) and the
// variables every SNMPv2 notification starts with.
const (
	OIDColdStart   = "1.3.6.1.6.3.1.1.5.1"
	OIDWarmStart   = "1.3.6.1.6.3.1.1.5.2"
	OIDLinkDown    = "1.3.6.1.6.3.1.1.5.3"
	OIDLinkUp      = "1.3.6.1.6.3.1.1.5.4"
	OIDAuthFailure = "1.3.6.1.6.3.1.1.5.5"
	oidSysUpTime   = "1.3.6.1.2.1.1.3.0"
	oidTrapOID     = "1.3.6.1.6.3.1.1.4.1.0"
	oidSnmpTraps   = "1.3.6.1.6.3.1.1.5"
)

// standard names the generic notifications.
var standard = map[string]string{
	OIDColdStart: "coldStart", OIDWarmStart: "warmStart", OIDLinkDown: "linkDown", OIDLinkUp: "linkUp",
	OIDAuthFailure: "authenticationFailure", "1.3.6.1.6.3.1.1.5.6": "egpNeighborLoss",
}

// varNames are short names of variables often bound to notifications,
// by OID prefix (the rest of the OID is the instance).
var varNames = []struct{ prefix, name string }{
	{"1.3.6.1.2.1.2.2.1.1.", "ifIndex"},
	{"1.3.6.1.2.1.2.2.1.2.", "ifDescr"},
	{"1.3.6.1.2.1.2.2.1.7.", "ifAdminStatus"},
	{"1.3.6.1.2.1.2.2.1.8.", "ifOperStatus"},
	{"1.3.6.1.2.1.31.1.1.1.1.", "ifName"},
	{"1.3.6.1.6.3.1.1.4.3.", "snmpTrapEnterprise"},
	{"1.3.6.1.2.1.1.5.", "sysName"},
}

// StandardName names a generic notification OID ("" when not one).
func StandardName(oid string) string { return standard[oid] }

// Var is one variable binding as text.
type Var struct {
	OID   string
	Name  string // a short name when the OID is a known one, else ""
	Type  string // gosnmp's name of the ASN.1 type, e.g. "OctetString"
	Value string
}

// Trap is one decoded notification.
type Trap struct {
	Version   string // "1", "2c" or "3"
	Community string // v1 and v2c
	// User is a v3 notification's USM user name, UserID the ID of the
	// User whose keys authenticated it, EngineID the sending engine (hex).
	User, UserID, EngineID string
	Inform                 bool
	// OID is the notification's snmpTrapOID; a v1 trap's generic and
	// specific numbers are mapped onto it as RFC 3584 says.
	OID       string
	UpTime    uint32 // sysUpTime in hundredths of a second
	Agent     string // a v1 trap's agent-addr ("" for v2c)
	Vars      []Var  // the bindings after sysUpTime and snmpTrapOID, at most MaxVars
	Truncated bool   // more bindings than MaxVars arrived

	packet *gosnmp.SnmpPacket
	v3     *v3Ack // an SNMPv3 inform's acknowledgement
}

// Name is the notification's standard name, or its OID.
func (t *Trap) Name() string {
	if n := standard[t.OID]; n != "" {
		return n
	}
	return t.OID
}

// Value returns the first binding whose Name is name.
func (t *Trap) Value(name string) string {
	for _, v := range t.Vars {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}

// Errors of Parse.
var (
	ErrTooLarge    = errors.New("snmp trap: packet too large")
	ErrUnsupported = errors.New("snmp trap: not an SNMPv1 or v2c notification")
)

// Parse decodes one datagram. It never panics: a decoder failure on
// hostile input is an error.
func Parse(b []byte) (t *Trap, err error) {
	if len(b) > MaxPacket {
		return nil, ErrTooLarge
	}
	if len(b) == 0 {
		return nil, errors.New("snmp trap: empty packet")
	}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("snmp trap: malformed packet")
		}
	}()
	dec := &gosnmp.GoSNMP{}
	// The decoder takes its buffer as its own; keep the caller's intact.
	p, err := dec.UnmarshalTrap(append([]byte(nil), b...), false)
	if err != nil {
		return nil, fmt.Errorf("snmp trap: %w", err)
	}
	if p == nil {
		return nil, errors.New("snmp trap: malformed packet")
	}
	return fromPacket(p)
}

func fromPacket(p *gosnmp.SnmpPacket) (*Trap, error) {
	t := &Trap{Community: clip(p.Community), packet: p}
	switch {
	case p.Version == gosnmp.Version1 && p.PDUType == gosnmp.Trap:
		t.Version, t.Agent, t.UpTime = "1", clip(p.AgentAddress), uint32(p.Timestamp) // #nosec G115 -- TimeTicks are 32 bits on the wire
		ent := strings.TrimPrefix(p.Enterprise, ".")
		switch {
		case p.GenericTrap >= 0 && p.GenericTrap <= 5:
			t.OID = oidSnmpTraps + "." + strconv.Itoa(p.GenericTrap+1)
		case p.GenericTrap == 6:
			t.OID = ent + ".0." + strconv.Itoa(p.SpecificTrap)
		default:
			return nil, fmt.Errorf("snmp trap: generic trap %d out of range", p.GenericTrap)
		}
		t.Vars, t.Truncated = vars(p.Variables)
	case p.Version == gosnmp.Version2c && (p.PDUType == gosnmp.SNMPv2Trap || p.PDUType == gosnmp.InformRequest):
		n, err := notification(p)
		if err != nil {
			return nil, err
		}
		n.Community, n.Version, n.Inform = t.Community, "2c", p.PDUType == gosnmp.InformRequest
		return n, nil
	default:
		return nil, ErrUnsupported
	}
	return t, nil
}

// notification decodes the bindings of an SNMPv2 notification (v2c or
// v3), which start with sysUpTime.0 and snmpTrapOID.0.
func notification(p *gosnmp.SnmpPacket) (*Trap, error) {
	t := &Trap{packet: p}
	vs := p.Variables
	if len(vs) < 2 || strings.TrimPrefix(vs[0].Name, ".") != oidSysUpTime || strings.TrimPrefix(vs[1].Name, ".") != oidTrapOID {
		return nil, errors.New("snmp trap: a v2 notification must start with sysUpTime.0 and snmpTrapOID.0")
	}
	switch v := vs[0].Value.(type) {
	case uint32:
		t.UpTime = v
	case uint:
		t.UpTime = uint32(min(v, 1<<32-1)) // #nosec G115 -- bounded
	}
	oid, ok := vs[1].Value.(string)
	if !ok || oid == "" {
		return nil, errors.New("snmp trap: snmpTrapOID.0 is not an OBJECT IDENTIFIER")
	}
	t.OID = clip(strings.TrimPrefix(oid, "."))
	t.Vars, t.Truncated = vars(vs[2:])
	return t, nil
}

func vars(in []gosnmp.SnmpPDU) ([]Var, bool) {
	out := make([]Var, 0, min(len(in), MaxVars))
	for i, v := range in {
		if i == MaxVars {
			return out, true
		}
		oid := clip(strings.TrimPrefix(v.Name, "."))
		var name string
		for _, n := range varNames {
			if strings.HasPrefix(oid, n.prefix) {
				name = n.name
				break
			}
		}
		out = append(out, Var{OID: oid, Name: name, Type: v.Type.String(), Value: clip(format(v))})
	}
	return out, false
}

// format renders a value as text: printable octet strings as text, other
// octet strings as hex.
func format(v gosnmp.SnmpPDU) string {
	switch x := v.Value.(type) {
	case nil:
		return ""
	case []byte:
		if utf8.Valid(x) && !strings.ContainsFunc(string(x), func(r rune) bool { return !unicode.IsPrint(r) && r != '\t' }) {
			return string(x)
		}
		return hex.EncodeToString(x[:min(len(x), MaxValue/2)])
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// clip bounds a text as valid UTF-8 without control characters.
func clip(s string) string {
	if len(s) > MaxValue {
		s = s[:MaxValue]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// Ack is the response that acknowledges an inform.
func (t *Trap) Ack() (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, errors.New("snmp trap: the inform cannot be acknowledged")
		}
	}()
	if t.Inform && t.packet != nil && t.Version == "3" && t.v3 != nil {
		return t.v3.response(t.packet)
	}
	if !t.Inform || t.packet == nil || t.Version != "2c" {
		return nil, errors.New("snmp trap: only an inform is acknowledged")
	}
	resp := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: t.packet.Community, PDUType: gosnmp.GetResponse,
		RequestID: t.packet.RequestID, Variables: t.packet.Variables}
	return resp.MarshalMsg()
}

// Handler is told of each decoded notification with the address it came
// from, and reports whether it was accepted (the community is right for
// a known device, or the v3 user authenticated is one of the device's);
// an accepted inform is acknowledged.
type Handler func(ctx context.Context, from netip.Addr, t *Trap) bool

// Options configure Serve.
type Options struct {
	Logger  *slog.Logger
	Workers int // handlers run at once; default 4
	Queue   int // datagrams waiting for a worker; more are dropped; default 256
	// Users gives the SNMPv3 users a sender may use; nil refuses v3.
	Users Users
	// Stats, when set, counts what was received, accepted and refused.
	Stats *Stats
	// Now is the clock of the v3 time window; default time.Now.
	Now func() time.Time
	// Engine is the receiver's own SNMP engine, the authoritative engine
	// of SNMPv3 informs (LoadEngine keeps it across restarts); nil
	// refuses v3 informs.
	Engine *Engine
}

// Serve reads notifications from pc until ctx ends or pc is closed, and
// hands each to h. Undecodable datagrams are logged at debug level and
// dropped.
func Serve(ctx context.Context, pc net.PacketConn, h Handler, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	workers, queue := opts.Workers, opts.Queue
	if workers <= 0 {
		workers = 4
	}
	if queue <= 0 {
		queue = 256
	}
	type dgram struct {
		from net.Addr
		b    []byte
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	cl := &clocks{m: map[string]engineClock{}, now: now}
	v3 := &v3Receiver{users: opts.Users, clocks: cl, engine: opts.Engine, now: now, stats: opts.Stats}
	ch := make(chan dgram, queue)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range ch {
				handle(ctx, pc, d.from, d.b, h, log, opts, v3)
			}
		}()
	}
	stop := context.AfterFunc(ctx, func() { _ = pc.Close() })
	defer stop()
	buf := make([]byte, 64<<10)
	var err error
	for {
		var n int
		var from net.Addr
		n, from, err = pc.ReadFrom(buf)
		if err != nil {
			break
		}
		if opts.Stats != nil {
			opts.Stats.received.Add(1)
		}
		if n > MaxPacket {
			opts.Stats.count(ErrTooLarge)
			log.Debug("snmp trap dropped", "from", from.String(), "reason", ErrTooLarge)
			continue
		}
		select {
		case ch <- dgram{from: from, b: append([]byte(nil), buf[:n]...)}:
		default:
			opts.Stats.count(ErrTooLarge)
			log.Debug("snmp trap dropped", "from", from.String(), "reason", "queue full")
		}
	}
	close(ch)
	wg.Wait()
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func handle(ctx context.Context, pc net.PacketConn, from net.Addr, b []byte, h Handler, log *slog.Logger, opts Options, v3 *v3Receiver) {
	ua, ok := from.(*net.UDPAddr)
	if !ok {
		return
	}
	addr, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		return
	}
	var t *Trap
	var err error
	if v, verr := messageVersion(b); verr == nil && v == 3 {
		var report []byte
		t, report, err = v3.receive(ctx, addr.Unmap(), b)
		if err != nil {
			// Counted before the report goes out, so a sender that reads
			// the report finds the refusal already counted.
			opts.Stats.count(err)
		}
		if report != nil {
			if _, werr := pc.WriteTo(report, from); werr == nil && opts.Stats != nil {
				opts.Stats.reports.Add(1)
			}
		}
	} else if t, err = Parse(b); err != nil {
		opts.Stats.count(err)
	}
	if err != nil {
		log.Debug("snmp trap dropped", "from", from.String(), "reason", err)
		return
	}
	if !h(ctx, addr.Unmap(), t) {
		if opts.Stats != nil {
			opts.Stats.refused.Add(1)
		}
		return
	}
	if opts.Stats != nil {
		opts.Stats.accepted.Add(1)
	}
	if !t.Inform {
		return
	}
	ack, err := t.Ack()
	if err != nil {
		log.Debug("snmp inform not acknowledged", "from", from.String(), "err", err)
		return
	}
	// Counted when sent, before the sender can read the acknowledgement.
	if opts.Stats != nil {
		opts.Stats.acknowledged.Add(1)
	}
	if _, err := pc.WriteTo(ack, from); err != nil {
		log.Debug("snmp inform acknowledgement not sent", "from", from.String(), "err", err)
	}
}
