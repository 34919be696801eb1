package policy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file holds what the vendor parsers (Cisco, Huawei, H3C, FortiGate,
// Palo Alto) share: named address, service and port objects and groups
// resolved on use with cycle detection, the split of a vendor rule into
// product-shaped Rules, and bounded line reading.

// objKind is the namespace of a named object.
type objKind uint8

const (
	objAddr objKind = iota // addresses and address groups
	objSvc                 // services (protocol and ports) and service groups
	objPort                // port lists without a protocol (ASA port groups)
)

var objKindNames = [...]string{"address", "service", "port"}

// svcTerm is one protocol with source and destination ports; nil port lists
// match every port.
type svcTerm struct {
	proto ProtoMatch
	sport []PortRange
	dport []PortRange
	// unmodelled, when set, says why the term cannot be represented
	// exactly (ICMP types, applications); a rule using it is skipped.
	unmodelled string
}

// addrList is a resolved address condition: all, or the union of prefixes
// and ranges of the rule set's family.
type addrList struct {
	all      bool
	prefixes []netip.Prefix
	ranges   []AddrRange
	// other counts entries of the other address family, dropped.
	other int
}

func (a *addrList) add(b addrList) {
	a.all = a.all || b.all
	a.prefixes = append(a.prefixes, b.prefixes...)
	a.ranges = append(a.ranges, b.ranges...)
	a.other += b.other
}

func (a *addrList) empty() bool { return !a.all && len(a.prefixes) == 0 && len(a.ranges) == 0 }

// addPrefix adds p when it is of family fam.
func (a *addrList) addPrefix(p netip.Prefix, fam Family) {
	if p.Addr().Is4() != (fam == IPv4) {
		a.other++
		return
	}
	if p.Bits() == 0 {
		a.all = true
		return
	}
	a.prefixes = append(a.prefixes, p.Masked())
}

// addRange adds an inclusive range when it is of family fam.
func (a *addrList) addRange(from, to netip.Addr, fam Family) error {
	if from.Is4() != to.Is4() {
		return fmt.Errorf("range %s-%s mixes address families", from, to)
	}
	if to.Less(from) {
		return fmt.Errorf("range %s-%s is reversed", from, to)
	}
	if from.Is4() != (fam == IPv4) {
		a.other++
		return nil
	}
	a.ranges = append(a.ranges, AddrRange{From: from, To: to})
	return nil
}

// objDef is one named object or group.
type objDef struct {
	kind    objKind
	name    string
	line    int
	addrs   addrList
	terms   []svcTerm
	ports   []PortRange
	members []string // names of the same kind
	// unmodelled, when set, says why the object cannot be represented
	// (an FQDN, a user group); a rule using it is skipped with this reason.
	unmodelled string
}

// objStore is the named objects of one configuration.
type objStore struct {
	fam  Family
	defs [3]map[string]*objDef
	// builtin resolves a name the configuration does not define (a
	// vendor's predefined services); nil when there are none.
	builtin func(kind objKind, name string) (*objDef, bool)
}

func newObjStore(fam Family) *objStore {
	s := &objStore{fam: fam}
	for i := range s.defs {
		s.defs[i] = map[string]*objDef{}
	}
	return s
}

// maxObjects bounds the number of named objects and group members.
const maxObjects = 1 << 20

// define adds or returns the named object; redefining a name of the same
// kind continues the definition (a configuration may add members to a
// group in several blocks).
func (s *objStore) define(kind objKind, name string, line int) (*objDef, error) {
	if name == "" {
		return nil, &ParseError{Line: line, Msg: "empty object name"}
	}
	if d := s.defs[kind][name]; d != nil {
		return d, nil
	}
	if len(s.defs[kind]) >= maxObjects {
		return nil, fmt.Errorf("%w: more than %d objects", ErrTooLarge, maxObjects)
	}
	d := &objDef{kind: kind, name: name, line: line}
	s.defs[kind][name] = d
	return d, nil
}

func (s *objStore) lookup(kind objKind, name string) (*objDef, bool) {
	if d, ok := s.defs[kind][name]; ok {
		return d, true
	}
	if s.builtin != nil {
		return s.builtin(kind, name)
	}
	return nil, false
}

// skipError says a rule uses something that cannot be modelled exactly;
// the parser records the rule in RuleSet.Skipped instead of adding it.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

// maxResolved bounds the entries one resolution may produce.
const maxResolved = 1 << 18

// objResolver walks groups depth first, rejecting cycles.
type objResolver struct {
	s     *objStore
	line  int // the line of the reference, for unknown names
	stack []*objDef
	n     int
}

func (rv *objResolver) visit(kind objKind, name string, fn func(d *objDef) error) error {
	d, ok := rv.s.lookup(kind, name)
	if !ok {
		return &ParseError{Line: rv.line, Msg: fmt.Sprintf("unknown %s object %q", objKindNames[kind], name)}
	}
	if i := slices.Index(rv.stack, d); i >= 0 {
		var path []string
		for _, p := range rv.stack[i:] {
			path = append(path, p.name)
		}
		path = append(path, d.name)
		return &ParseError{Line: d.line, Msg: fmt.Sprintf("%s group cycle: %s", objKindNames[kind], strings.Join(path, " -> "))}
	}
	if d.unmodelled != "" {
		return &skipError{reason: fmt.Sprintf("%s object %q (line %d): %s", objKindNames[kind], d.name, d.line, d.unmodelled)}
	}
	rv.n++
	if rv.n > maxResolved {
		return fmt.Errorf("%w: object %q expands to more than %d entries", ErrTooLarge, name, maxResolved)
	}
	if err := fn(d); err != nil {
		return err
	}
	rv.stack = append(rv.stack, d)
	defer func() { rv.stack = rv.stack[:len(rv.stack)-1] }()
	for _, m := range d.members {
		if err := rv.visit(kind, m, fn); err != nil {
			return err
		}
	}
	return nil
}

// addrs resolves an address object or group used at line.
func (s *objStore) addrs(name string, line int) (addrList, error) {
	var out addrList
	rv := &objResolver{s: s, line: line}
	err := rv.visit(objAddr, name, func(d *objDef) error {
		out.add(d.addrs)
		return nil
	})
	return out, err
}

// services resolves a service object or group used at line.
func (s *objStore) services(name string, line int) ([]svcTerm, error) {
	var out []svcTerm
	rv := &objResolver{s: s, line: line}
	err := rv.visit(objSvc, name, func(d *objDef) error {
		for _, t := range d.terms {
			if t.unmodelled != "" {
				return &skipError{reason: fmt.Sprintf("service %q (line %d): %s", d.name, d.line, t.unmodelled)}
			}
		}
		out = append(out, d.terms...)
		return nil
	})
	return out, err
}

// portList resolves a port group used at line.
func (s *objStore) portList(name string, line int) ([]PortRange, error) {
	var out []PortRange
	rv := &objResolver{s: s, line: line}
	err := rv.visit(objPort, name, func(d *objDef) error {
		out = append(out, d.ports...)
		return nil
	})
	return out, err
}

// checkAll resolves every object once, so a group cycle or a dangling
// member is reported even when no rule uses the group. Unmodelled objects
// are fine here: they only matter to the rules that use them.
func (s *objStore) checkAll() error {
	for kind := range s.defs {
		names := make([]string, 0, len(s.defs[kind]))
		for n := range s.defs[kind] {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			d := s.defs[kind][n]
			rv := &objResolver{s: s, line: d.line}
			err := rv.visit(objKind(kind), n, func(*objDef) error { return nil })
			var se *skipError
			if err != nil && !errors.As(err, &se) {
				return err
			}
		}
	}
	return nil
}

// vendorRule is one vendor policy entry before it is split into Rules.
type vendorRule struct {
	chain, id, text, comment string
	line                     int
	action                   Action
	logging                  Logging
	profiles                 []string
	src, dst                 addrList
	srcNeg, dstNeg           bool
	terms                    []svcTerm // nil: every protocol
	in, out                  *IfaceMatch
	state                    []StateMatch
}

// addVendorRule adds v to its chain as one Rule, or as consecutive Parts
// when its services are not one product. A rule that uses something not
// modelled is recorded in Skipped; a rule that can match no packet of the
// family (only addresses of the other family) is left out.
func (rs *RuleSet) addVendorRule(v vendorRule) error {
	for _, t := range v.terms {
		if t.unmodelled != "" {
			rs.Skipped = append(rs.Skipped, Skipped{Line: v.line, Reason: "rule " + vendorRuleLabel(v) + ": " + t.unmodelled})
			return nil
		}
	}
	if (v.src.empty() && v.src.other > 0 && !v.srcNeg) || (v.dst.empty() && v.dst.other > 0 && !v.dstNeg) {
		return nil // only addresses of the other family
	}
	base := Rule{
		Chain: v.chain, Line: v.line, Text: v.text, ID: v.id, Logging: v.logging,
		Profiles: v.profiles, Action: v.action, In: v.in, Out: v.out, State: v.state, Comment: v.comment,
	}
	if m, ok := vendorAddrMatch(v.src, v.srcNeg); ok {
		base.Src = []AddrMatch{m}
	}
	if m, ok := vendorAddrMatch(v.dst, v.dstNeg); ok {
		base.Dst = []AddrMatch{m}
	}
	terms := mergeSvcTerms(v.terms)
	for i, t := range terms {
		r := base
		if len(terms) > 1 {
			r.Part = i + 1
		}
		r.Proto = t.proto
		if t.sport != nil {
			r.SrcPort = []PortMatch{{Ranges: t.sport}}
		}
		if t.dport != nil {
			r.DstPort = []PortMatch{{Ranges: t.dport}}
		}
		if err := rs.AddRule(&r); err != nil {
			return err
		}
	}
	return nil
}

func vendorRuleLabel(v vendorRule) string {
	if v.id != "" {
		return strconv.Quote(v.id)
	}
	return "in " + v.chain
}

// addrMatch returns the condition for l, or false when l is every address.
func vendorAddrMatch(l addrList, neg bool) (AddrMatch, bool) {
	if l.all {
		if neg {
			return AddrMatch{}, true // not any: matches nothing
		}
		return AddrMatch{}, false
	}
	return AddrMatch{Prefixes: l.prefixes, Ranges: l.ranges, Negate: neg}, true
}

// mergeSvcTerms folds service terms into as few products as it can: an
// any-protocol term with any ports absorbs all others; terms of one
// protocol and the same source ports share one destination port union.
func mergeSvcTerms(terms []svcTerm) []svcTerm {
	if len(terms) == 0 {
		return []svcTerm{{proto: ProtoMatch{Any: true}}}
	}
	for _, t := range terms {
		if t.proto.Any && !t.proto.Negate && t.sport == nil && t.dport == nil {
			return []svcTerm{t}
		}
	}
	var out []svcTerm
	for _, t := range terms {
		merged := false
		for i := range out {
			o := &out[i]
			if o.proto != t.proto || !slices.Equal(o.sport, t.sport) {
				continue
			}
			if o.dport == nil || t.dport == nil {
				o.dport = nil
			} else {
				o.dport = append(o.dport, t.dport...)
			}
			merged = true
			break
		}
		if !merged {
			t.sport = slices.Clone(t.sport)
			t.dport = slices.Clone(t.dport)
			out = append(out, t)
		}
	}
	return out
}

// vendorLines reads a configuration line by line within the input bounds.
type vendorLines struct {
	sc   *bufio.Scanner
	line int
	size int
	text string
	err  error
}

func newVendorLines(r io.Reader) *vendorLines {
	sc := bufio.NewScanner(io.LimitReader(r, MaxInputBytes+1))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	return &vendorLines{sc: sc}
}

// next advances to the next line, with a trailing CR removed.
func (lr *vendorLines) next() bool {
	if lr.err != nil || !lr.sc.Scan() {
		return false
	}
	lr.line++
	lr.text = strings.TrimSuffix(lr.sc.Text(), "\r")
	lr.size += len(lr.text) + 1
	if lr.size > MaxInputBytes+1 {
		lr.err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxInputBytes)
		return false
	}
	return true
}

// done returns the read error, if any.
func (lr *vendorLines) done() error {
	if lr.err != nil {
		return lr.err
	}
	if err := lr.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%w: line %d longer than %d bytes", ErrTooLarge, lr.line+1, maxLine)
		}
		return fmt.Errorf("policy: read: %w", err)
	}
	return nil
}

// errf is a ParseError at the current line.
func (lr *vendorLines) errf(format string, a ...any) error {
	return &ParseError{Line: max(lr.line, 1), Msg: fmt.Sprintf(format, a...)}
}

// vendorPortNames maps the service names Cisco (ASA and IOS), Huawei and H3C
// configurations accept in port conditions to their well-known numbers.
// The set is the common subset of the vendors' literal tables; a name
// outside it is an error, never a guess.
var vendorPortNames = map[string]uint16{
	"aol": 5190, "bgp": 179, "biff": 512, "bootpc": 68, "bootps": 67, "chargen": 19,
	"cifs": 3020, "citrix-ica": 1494, "cmd": 514, "ctiqbe": 2748, "daytime": 13,
	"discard": 9, "dnsix": 195, "domain": 53, "dns": 53, "echo": 7, "exec": 512,
	"finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70, "h323": 1720,
	"hostname": 101, "http": 80, "https": 443, "ident": 113, "imap4": 143,
	"irc": 194, "isakmp": 500, "kerberos": 750, "klogin": 543, "kshell": 544,
	"ldap": 389, "ldaps": 636, "login": 513, "lotusnotes": 1352, "lpd": 515,
	"mobile-ip": 434, "nameserver": 42, "netbios-dgm": 138, "netbios-ns": 137,
	"netbios-ssn": 139, "nfs": 2049, "nntp": 119, "ntp": 123,
	"pcanywhere-data": 5631, "pcanywhere-status": 5632, "pim-auto-rp": 496,
	"pop2": 109, "pop3": 110, "pptp": 1723, "radius": 1645, "radius-acct": 1646,
	"rip": 520, "rsh": 514, "rtsp": 554, "secureid-udp": 5510, "sip": 5060,
	"smtp": 25, "snmp": 161, "snmptrap": 162, "sqlnet": 1521, "ssh": 22,
	"sunrpc": 111, "syslog": 514, "tacacs": 49, "talk": 517, "telnet": 23,
	"tftp": 69, "time": 37, "uucp": 540, "vxlan": 4789, "who": 513, "whois": 43,
	"www": 80, "xdmcp": 177,
}

// vendorPort parses a port number or a name of vendorPortNames.
func vendorPort(s string) (uint16, error) {
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint16(n), nil
	}
	if p, ok := vendorPortNames[strings.ToLower(s)]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("unknown port %q", s)
}

// vendorPortOp parses a Cisco-style port operator at toks[i] (eq, neq, lt, gt,
// range); it returns the ranges and the number of tokens used, or 0 when
// toks[i] is not an operator.
func vendorPortOp(toks []string, i int) ([]PortRange, int, error) {
	if i >= len(toks) {
		return nil, 0, nil
	}
	op := toks[i]
	arg := func(k int) (uint16, error) {
		if i+k >= len(toks) {
			return 0, fmt.Errorf("%s needs a port", op)
		}
		return vendorPort(toks[i+k])
	}
	switch op {
	case "eq", "neq", "lt", "gt":
		p, err := arg(1)
		if err != nil {
			return nil, 0, err
		}
		switch op {
		case "eq":
			return []PortRange{{p, p}}, 2, nil
		case "neq":
			var r []PortRange
			if p > 0 {
				r = append(r, PortRange{0, p - 1})
			}
			if p < 0xffff {
				r = append(r, PortRange{p + 1, 0xffff})
			}
			return r, 2, nil
		case "lt":
			if p == 0 {
				return []PortRange{}, 2, nil
			}
			return []PortRange{{0, p - 1}}, 2, nil
		default:
			if p == 0xffff {
				return []PortRange{}, 2, nil
			}
			return []PortRange{{p + 1, 0xffff}}, 2, nil
		}
	case "range":
		a, err := arg(1)
		if err != nil {
			return nil, 0, err
		}
		b, err := arg(2)
		if err != nil {
			return nil, 0, err
		}
		if b < a {
			return nil, 0, fmt.Errorf("port range %d %d is reversed", a, b)
		}
		return []PortRange{{a, b}}, 3, nil
	}
	return nil, 0, nil
}

// ciscoProtos maps the protocol names of Cisco, Huawei and H3C rules to
// numbers; "ip" (every protocol) is handled by the callers.
var ciscoProtos = map[string]uint8{
	"icmp": 1, "igmp": 2, "ipinip": 4, "tcp": 6, "udp": 17, "gre": 47, "pptp": 47,
	"esp": 50, "ipsec": 50, "ah": 51, "icmp6": 58, "icmpv6": 58, "eigrp": 88,
	"ospf": 89, "nos": 94, "pim": 103, "pcp": 108, "snp": 109, "sctp": 132,
}

// vendorProto parses a protocol name of ciscoProtos or a number.
func vendorProto(s string) (uint8, error) {
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return uint8(n), nil
	}
	if p, ok := ciscoProtos[strings.ToLower(s)]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("unknown protocol %q", s)
}

// vendorMask turns an address and a dotted netmask into a prefix; a
// non-contiguous mask is an error.
func vendorMask(addr, mask string) (netip.Prefix, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is4() {
		return netip.Prefix{}, fmt.Errorf("bad address %q", addr)
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() {
		return netip.Prefix{}, fmt.Errorf("bad netmask %q", mask)
	}
	mb := m.As4()
	v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
	ones := 0
	for v&0x80000000 != 0 {
		ones++
		v <<= 1
	}
	if v != 0 {
		return netip.Prefix{}, fmt.Errorf("non-contiguous netmask %s", mask)
	}
	return netip.PrefixFrom(a, ones).Masked(), nil
}

// vendorWildcard turns an address and a wildcard (inverse) mask into a
// prefix; a non-contiguous wildcard selects a set that is not one prefix
// and is refused.
func vendorWildcard(addr, wild string) (netip.Prefix, error) {
	w, err := netip.ParseAddr(wild)
	if err != nil || !w.Is4() {
		return netip.Prefix{}, fmt.Errorf("bad wildcard mask %q", wild)
	}
	b := w.As4()
	inv := netip.AddrFrom4([4]byte{^b[0], ^b[1], ^b[2], ^b[3]})
	p, err := vendorMask(addr, inv.String())
	if err != nil {
		if strings.HasPrefix(err.Error(), "non-contiguous") {
			return netip.Prefix{}, fmt.Errorf("non-contiguous wildcard mask %s is not modelled", wild)
		}
		return netip.Prefix{}, err
	}
	return p, nil
}

// vendorPrefix parses "A.B.C.D/len" or a bare address (a host).
func vendorPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad prefix %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// vendorFields splits a line on white space, keeping double-quoted strings
// whole (quotes removed, backslash escapes inside them resolved): the same
// rules as iptables-save's tokenizer.
func vendorFields(s string) ([]string, error) { return tokenize(s) }

// sortNotes orders Skipped and Observations by line, as the parsers may
// record them out of order (rules are built after their bindings are
// read), and drops repeats (an ACL bound in two directions is read twice).
func sortNotes(rs *RuleSet) {
	slices.SortStableFunc(rs.Skipped, func(a, b Skipped) int { return a.Line - b.Line })
	rs.Skipped = slices.Compact(rs.Skipped)
	slices.SortStableFunc(rs.Observations, func(a, b Observation) int { return a.Line - b.Line })
	rs.Observations = slices.Compact(rs.Observations)
}
