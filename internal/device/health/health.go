// Package health polls security devices over SNMP and judges their health.
//
// Poll reads one Sample from a device: identity (sysDescr, sysName),
// sysUpTime, CPU and memory load (vendor MIB where the vendor table has one,
// otherwise HOST-RESOURCES-MIB), the session count where the vendor offers
// it, and per-interface status and error counters from IF-MIB. Every walk is
// bounded and every request has a timeout. Judge compares two Samples against
// per-role Thresholds and reports Problems: high CPU or memory, an interface
// that went down, growing error counters and reboots.
package health

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Bounds applied to every poll.
const (
	// MaxInterfaces is the most interfaces read from IF-MIB; more are dropped
	// and Sample.Truncated is set.
	MaxInterfaces = 512
	// MaxWalk is the most varbinds accepted from one table-column walk.
	MaxWalk = 2048
	// DefaultTimeout is the per-request timeout when Target.Timeout is zero.
	DefaultTimeout = 2 * time.Second
	// DefaultRetries is used when Target.Retries is negative.
	DefaultRetries = 1
	// maxRepetitions is the GETBULK max-repetitions used for walks.
	maxRepetitions = 32
)

// Target says where and how to reach a device's SNMP agent.
type Target struct {
	Addr      string // "host:port"; port 161 when omitted
	Community string // SNMPv2c community
	Version   string // "2c" (default) or "3"
	Timeout   time.Duration
	Retries   int
	V3        *V3Auth // required when Version is "3"
}

// V3Auth is SNMPv3 user-based security. With both passphrases set the
// session is authPriv; with only AuthPass it is authNoPriv.
type V3Auth struct {
	User         string
	AuthProtocol string // "SHA", "SHA224", "SHA256", "SHA384", "SHA512" or "MD5"
	AuthPass     string
	PrivProtocol string // "AES", "AES192", "AES256" or "DES"
	PrivPass     string
}

// Interface is one IF-MIB ifTable row.
type Interface struct {
	Index      int
	Descr      string
	OperStatus int // IF-MIB ifOperStatus: 1 up, 2 down, 3 testing, ...
	InErrors   uint64
	OutErrors  uint64
}

// Up reports whether ifOperStatus is up(1).
func (i Interface) Up() bool { return i.OperStatus == ifOperUp }

// Sample is one poll of a device. A metric that the device did not return
// has its Has flag false.
type Sample struct {
	Addr     string
	Vendor   string
	At       time.Time
	SysDescr string
	SysName  string
	// UpTime is sysUpTime: time since the agent last (re)initialised.
	UpTime time.Duration

	CPU         float64 // percent
	HasCPU      bool
	Memory      float64 // percent
	HasMemory   bool
	Sessions    uint64
	HasSessions bool

	Interfaces []Interface // sorted by Index
	Truncated  bool        // a walk hit MaxInterfaces or MaxWalk
}

// errWalkLimit stops a walk that reached its bound.
var errWalkLimit = errors.New("walk limit reached")

// Poll reads one Sample from the device at t. vendor selects extra OIDs from
// the vendor table (see LookupVendor); unknown vendors use standard MIBs
// only. It fails when the agent does not answer the system group in time
// (for example a wrong community, to which agents do not reply); missing
// optional metrics only clear their Has flags.
func Poll(ctx context.Context, t Target, vendor string) (Sample, error) {
	s := Sample{Addr: t.Addr, Vendor: vendor}
	g, err := newClient(ctx, t)
	if err != nil {
		return s, err
	}
	if err := g.Connect(); err != nil {
		return s, fmt.Errorf("snmp connect %s: %w", t.Addr, err)
	}
	defer func() { _ = g.Conn.Close() }()

	// Close the socket when ctx ends so a blocked read returns promptly.
	stop := context.AfterFunc(ctx, func() { _ = g.Conn.Close() })
	defer stop()

	s.At = time.Now().UTC()
	sys, err := g.Get([]string{oidSysDescr, oidSysUpTime, oidSysName})
	if err != nil {
		return s, fmt.Errorf("snmp get system %s: %w", t.Addr, ctxErr(ctx, err))
	}
	if sys.Error != gosnmp.NoError {
		return s, fmt.Errorf("snmp get system %s: agent error %v", t.Addr, sys.Error)
	}
	for _, pdu := range sys.Variables {
		switch strings.TrimPrefix(pdu.Name, ".") {
		case oidSysDescr:
			s.SysDescr, _ = pduString(pdu)
		case oidSysName:
			s.SysName, _ = pduString(pdu)
		case oidSysUpTime:
			// TimeTicks is 32 bits; anything larger is a broken agent.
			if ticks, err := pduUint(pdu); err == nil && ticks <= math.MaxUint32 {
				s.UpTime = time.Duration(int64(ticks)) * 10 * time.Millisecond
			}
		}
	}

	if v, ok := LookupVendor(vendor); ok {
		if err := pollVendor(g, v, &s); err != nil {
			return s, fmt.Errorf("snmp get vendor %s: %w", t.Addr, ctxErr(ctx, err))
		}
	}
	if !s.HasCPU {
		if err := pollHrCPU(g, &s); err != nil {
			return s, fmt.Errorf("snmp walk hrProcessorLoad %s: %w", t.Addr, ctxErr(ctx, err))
		}
	}
	if !s.HasMemory {
		if err := pollHrMemory(g, &s); err != nil {
			return s, fmt.Errorf("snmp walk hrStorage %s: %w", t.Addr, ctxErr(ctx, err))
		}
	}
	if err := pollInterfaces(g, &s); err != nil {
		return s, fmt.Errorf("snmp walk ifTable %s: %w", t.Addr, ctxErr(ctx, err))
	}
	return s, nil
}

func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

func newClient(ctx context.Context, t Target) (*gosnmp.GoSNMP, error) {
	host, portStr, err := net.SplitHostPort(t.Addr)
	if err != nil {
		host, portStr = t.Addr, "161"
	}
	if host == "" {
		return nil, fmt.Errorf("snmp target %q: empty host", t.Addr)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("snmp target %q: bad port", t.Addr)
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	retries := t.Retries
	if retries < 0 {
		retries = DefaultRetries
	}
	g := &gosnmp.GoSNMP{
		Target:         host,
		Port:           uint16(port),
		Transport:      "udp",
		Context:        ctx,
		Timeout:        timeout,
		Retries:        retries,
		MaxOids:        gosnmp.MaxOids,
		MaxRepetitions: maxRepetitions,
	}
	switch t.Version {
	case "", "2c", "v2c":
		g.Version = gosnmp.Version2c
		g.Community = t.Community
	case "3", "v3":
		if t.V3 == nil || t.V3.User == "" {
			return nil, fmt.Errorf("snmp target %q: version 3 needs a user", t.Addr)
		}
		usm, flags, err := t.V3.usm()
		if err != nil {
			return nil, fmt.Errorf("snmp target %q: %w", t.Addr, err)
		}
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = flags
		g.SecurityParameters = usm
	default:
		return nil, fmt.Errorf("snmp target %q: unsupported version %q", t.Addr, t.Version)
	}
	return g, nil
}

func (a *V3Auth) usm() (*gosnmp.UsmSecurityParameters, gosnmp.SnmpV3MsgFlags, error) {
	authProtos := map[string]gosnmp.SnmpV3AuthProtocol{
		"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
		"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
	}
	privProtos := map[string]gosnmp.SnmpV3PrivProtocol{
		"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192, "AES256": gosnmp.AES256,
	}
	auth, ok := authProtos[strings.ToUpper(a.AuthProtocol)]
	if !ok || a.AuthPass == "" {
		return nil, 0, fmt.Errorf("snmpv3: auth protocol %q with a passphrase is required", a.AuthProtocol)
	}
	p := &gosnmp.UsmSecurityParameters{
		UserName:                 a.User,
		AuthenticationProtocol:   auth,
		AuthenticationPassphrase: a.AuthPass,
		PrivacyProtocol:          gosnmp.NoPriv,
	}
	flags := gosnmp.AuthNoPriv
	if a.PrivPass != "" || a.PrivProtocol != "" {
		priv, ok := privProtos[strings.ToUpper(a.PrivProtocol)]
		if !ok || a.PrivPass == "" {
			return nil, 0, fmt.Errorf("snmpv3: privacy protocol %q with a passphrase is required", a.PrivProtocol)
		}
		p.PrivacyProtocol = priv
		p.PrivacyPassphrase = a.PrivPass
		flags = gosnmp.AuthPriv
	}
	return p, flags, nil
}

func pollVendor(g *gosnmp.GoSNMP, v VendorOIDs, s *Sample) error {
	var oids []string
	for _, o := range []string{v.CPU, v.Memory, v.Sessions} {
		if o != "" {
			oids = append(oids, o)
		}
	}
	if len(oids) == 0 {
		return nil
	}
	resp, err := g.Get(oids)
	if err != nil {
		return err
	}
	for _, pdu := range resp.Variables {
		switch strings.TrimPrefix(pdu.Name, ".") {
		case v.CPU:
			if f, err := pduFloat(pdu); err == nil {
				s.CPU, s.HasCPU = f, true
			}
		case v.Memory:
			if f, err := pduFloat(pdu); err == nil {
				s.Memory, s.HasMemory = f, true
			}
		case v.Sessions:
			if n, err := pduUint(pdu); err == nil {
				s.Sessions, s.HasSessions = n, true
			}
		}
	}
	return nil
}

// walk collects at most limit varbinds under root; it sets s.Truncated when
// the bound cut the walk short.
func walk(g *gosnmp.GoSNMP, root string, limit int, s *Sample) ([]gosnmp.SnmpPDU, error) {
	var out []gosnmp.SnmpPDU
	err := g.BulkWalk(root, func(pdu gosnmp.SnmpPDU) error {
		if len(out) >= limit {
			return errWalkLimit
		}
		out = append(out, pdu)
		return nil
	})
	if errors.Is(err, errWalkLimit) {
		s.Truncated = true
		err = nil
	}
	return out, err
}

func pollHrCPU(g *gosnmp.GoSNMP, s *Sample) error {
	pdus, err := walk(g, oidHrProcessorLoad, MaxWalk, s)
	if err != nil {
		return err
	}
	var sum float64
	var n int
	for _, pdu := range pdus {
		if f, err := pduFloat(pdu); err == nil {
			sum += f
			n++
		}
	}
	if n > 0 {
		s.CPU, s.HasCPU = sum/float64(n), true
	}
	return nil
}

func pollHrMemory(g *gosnmp.GoSNMP, s *Sample) error {
	types, err := walk(g, oidHrStorageEntry+".2", MaxWalk, s)
	if err != nil {
		return err
	}
	row := -1
	for _, pdu := range types {
		if oidValue(pdu) == oidHrStorageRAM {
			if idx, err := oidIndex(oidHrStorageEntry+".2", pdu.Name); err == nil {
				row = idx
				break
			}
		}
	}
	if row < 0 {
		return nil
	}
	suffix := "." + strconv.Itoa(row)
	resp, err := g.Get([]string{oidHrStorageEntry + ".5" + suffix, oidHrStorageEntry + ".6" + suffix})
	if err != nil {
		return err
	}
	if len(resp.Variables) != 2 {
		return nil
	}
	size, err1 := pduUint(resp.Variables[0])
	used, err2 := pduUint(resp.Variables[1])
	if err1 != nil || err2 != nil || size == 0 {
		return nil
	}
	s.Memory, s.HasMemory = float64(used)*100/float64(size), true
	return nil
}

// Columns of IF-MIB ifEntry read by pollInterfaces.
const (
	colIfDescr      = oidIfEntry + ".2"
	colIfOperStatus = oidIfEntry + ".8"
	colIfInErrors   = oidIfEntry + ".14"
	colIfOutErrors  = oidIfEntry + ".20"
)

func pollInterfaces(g *gosnmp.GoSNMP, s *Sample) error {
	rows := map[int]*Interface{}
	descr, err := walk(g, colIfDescr, MaxInterfaces, s)
	if err != nil {
		return err
	}
	for _, pdu := range descr {
		idx, err := oidIndex(colIfDescr, pdu.Name)
		if err != nil {
			continue
		}
		d, _ := pduString(pdu)
		rows[idx] = &Interface{Index: idx, Descr: d}
	}
	for _, col := range []string{colIfOperStatus, colIfInErrors, colIfOutErrors} {
		pdus, err := walk(g, col, MaxInterfaces, s)
		if err != nil {
			return err
		}
		for _, pdu := range pdus {
			idx, err := oidIndex(col, pdu.Name)
			if err != nil {
				continue
			}
			row, ok := rows[idx]
			if !ok {
				continue // only rows that have an ifDescr, so the bound holds
			}
			n, err := pduUint(pdu)
			if err != nil {
				continue
			}
			switch col {
			case colIfOperStatus:
				row.OperStatus = int(min(n, 255))
			case colIfInErrors:
				row.InErrors = n
			case colIfOutErrors:
				row.OutErrors = n
			}
		}
	}
	s.Interfaces = make([]Interface, 0, len(rows))
	for _, r := range rows {
		s.Interfaces = append(s.Interfaces, *r)
	}
	sort.Slice(s.Interfaces, func(i, j int) bool { return s.Interfaces[i].Index < s.Interfaces[j].Index })
	return nil
}
