package policy

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// asaACE is one access-list entry of an ASA configuration, kept until the
// access-group bindings (which usually follow the ACLs) are known.
type asaACE struct {
	acl     string
	line    int
	text    string
	comment string
	toks    []string // after "extended"
}

// asaBinding is one access-group line.
type asaBinding struct {
	line  int
	dir   string // in, out or global
	iface string
}

// asaParser holds the state of one ASA configuration.
type asaParser struct {
	rs       *RuleSet
	lr       *vendorLines
	objs     *objStore
	cur      *objDef // the object or group whose sub-commands follow
	curKind  string  // "object network", "object-group service", ...
	curProto string  // the protocol of an "object-group service NAME tcp" port group
	aclOrder []string
	aces     map[string][]asaACE
	remarks  map[string][]string
	binds    map[string][]asaBinding
	levels   map[string]int // nameif -> security-level
	ifName   string         // nameif of the interface block being read
	ifLevel  int
	inIface  bool
	admin    []asaAdmin
}

type asaAdmin struct {
	line    int
	service string
	src     netip.Prefix
	iface   string
}

// ParseCiscoASA parses a Cisco ASA running configuration ("show
// running-config"): network and service objects and object-groups,
// extended access-lists and their access-group bindings.
//
// Each access-list becomes a chain with the ASA's implicit deny as policy
// (line of its first entry). An ACL bound "in" on interfaces gets their
// nameifs as the In condition of every rule (several interfaces as
// IfaceMatch.Alt), bound "out" the Out condition; an ACL bound both ways is
// split into chains NAME/in and NAME/out; an unbound ACL is analysed
// without interface conditions. Remarks become the Comment of the next
// entry; inactive entries are Observations ("disabled-rule") and not
// added; "log" sets Logging on, "log disable" off.
//
// The parser is strict inside the filtering sections: an unknown keyword in
// an object, a group or an access-list is an error naming its line. FQDN
// objects, ICMP types, time ranges, user and security-group matches cannot
// be modelled exactly; rules using them are recorded in Skipped. Lines
// about anything else (interfaces apart from nameif and security-level,
// routing, NAT, logging, AAA…) are ignored. ssh, http and telnet management
// access allowed on an interface other than inside or management (or one
// with a security level under 100) from a source of /16 or broader is an
// Observation "admin-access-untrusted".
func ParseCiscoASA(r io.Reader, fam Family) (*RuleSet, error) {
	rs, err := NewRuleSet(fam, "cisco-asa")
	if err != nil {
		return nil, err
	}
	p := &asaParser{
		rs: rs, lr: newVendorLines(r), objs: newObjStore(fam),
		aces: map[string][]asaACE{}, remarks: map[string][]string{},
		binds: map[string][]asaBinding{}, levels: map[string]int{},
	}
	for p.lr.next() {
		if err := p.line(p.lr.text); err != nil {
			return nil, err
		}
	}
	if err := p.lr.done(); err != nil {
		return nil, err
	}
	p.endIface()
	if err := p.objs.checkAll(); err != nil {
		return nil, err
	}
	if err := p.build(); err != nil {
		return nil, err
	}
	p.adminObservations()
	sortNotes(rs)
	if err := rs.Finish(); err != nil {
		return nil, err
	}
	return rs, nil
}

func (p *asaParser) line(raw string) error {
	if strings.TrimSpace(raw) == "" || strings.HasPrefix(strings.TrimSpace(raw), "!") || strings.HasPrefix(raw, ":") {
		return nil
	}
	toks, err := vendorFields(raw)
	if err != nil {
		return p.lr.errf("%v", err)
	}
	if raw[0] == ' ' || raw[0] == '\t' {
		return p.sub(toks)
	}
	p.endIface()
	p.cur, p.curKind, p.curProto = nil, "", ""
	switch toks[0] {
	case "hostname":
		if len(toks) > 1 {
			p.rs.Hostname = toks[1]
		}
	case "interface":
		p.inIface, p.ifName, p.ifLevel = true, "", -1
	case "object":
		return p.object(toks)
	case "object-group":
		return p.objectGroup(toks)
	case "access-list":
		return p.accessList(raw, toks)
	case "access-group":
		return p.accessGroup(toks)
	case "ssh", "http", "telnet":
		return p.adminLine(toks)
	}
	return nil
}

func (p *asaParser) endIface() {
	if p.inIface && p.ifName != "" {
		p.levels[p.ifName] = p.ifLevel
	}
	p.inIface = false
}

// sub handles an indented sub-command of the current block.
func (p *asaParser) sub(toks []string) error {
	if p.inIface {
		switch toks[0] {
		case "nameif":
			if len(toks) > 1 {
				p.ifName = toks[1]
			}
		case "security-level":
			if len(toks) > 1 {
				if n, err := strconv.Atoi(toks[1]); err == nil {
					p.ifLevel = n
				}
			}
		}
		return nil
	}
	if p.cur == nil {
		return nil // a block that does not filter (route-map, crypto, …)
	}
	if toks[0] == "description" {
		return nil
	}
	d := p.cur
	line := p.lr.line
	need := func(n int) error {
		if len(toks) < n {
			return p.lr.errf("%s: %q needs more arguments", p.curKind, toks[0])
		}
		return nil
	}
	switch p.curKind {
	case "object network":
		if err := need(2); err != nil {
			return err
		}
		switch toks[0] {
		case "host":
			a, err := vendorPrefix(toks[1])
			if err != nil {
				return p.lr.errf("%v", err)
			}
			d.addrs.addPrefix(a, p.objs.fam)
		case "subnet":
			pf, err := p.addrMask(toks[1:])
			if err != nil {
				return err
			}
			d.addrs.addPrefix(pf, p.objs.fam)
		case "range":
			if err := need(3); err != nil {
				return err
			}
			a, err1 := netip.ParseAddr(toks[1])
			b, err2 := netip.ParseAddr(toks[2])
			if err1 != nil || err2 != nil {
				return p.lr.errf("bad range %s %s", toks[1], toks[2])
			}
			if err := d.addrs.addRange(a, b, p.objs.fam); err != nil {
				return p.lr.errf("%v", err)
			}
		case "fqdn":
			d.unmodelled = "FQDN " + toks[len(toks)-1] + " is resolved by the device at run time; not modelled"
		case "nat":
			// NAT does not filter.
		default:
			return p.lr.errf("object network %s: unknown keyword %q", d.name, toks[0])
		}
	case "object service":
		if toks[0] != "service" {
			return p.lr.errf("object service %s: unknown keyword %q", d.name, toks[0])
		}
		t, err := p.serviceSpec(toks[1:])
		if err != nil {
			return err
		}
		d.terms = append(d.terms, t)
	case "object-group network":
		if err := need(2); err != nil {
			return err
		}
		switch toks[0] {
		case "network-object":
			switch toks[1] {
			case "host":
				if err := need(3); err != nil {
					return err
				}
				a, err := vendorPrefix(toks[2])
				if err != nil {
					return p.lr.errf("%v", err)
				}
				d.addrs.addPrefix(a, p.objs.fam)
			case "object":
				if err := need(3); err != nil {
					return err
				}
				d.members = append(d.members, toks[2])
			default:
				pf, err := p.addrMask(toks[1:])
				if err != nil {
					return err
				}
				d.addrs.addPrefix(pf, p.objs.fam)
			}
		case "group-object":
			d.members = append(d.members, toks[1])
		default:
			return p.lr.errf("object-group network %s: unknown keyword %q", d.name, toks[0])
		}
	case "object-group service":
		if err := need(2); err != nil {
			return err
		}
		switch toks[0] {
		case "port-object":
			if d.kind != objPort {
				return p.lr.errf("port-object in object-group service %s, which has no protocol", d.name)
			}
			rg, n, err := vendorPortOp(toks, 1)
			if err != nil {
				return p.lr.errf("%v", err)
			}
			if n == 0 || n+1 != len(toks) {
				return p.lr.errf("bad port-object %q", strings.Join(toks[1:], " "))
			}
			d.ports = append(d.ports, rg...)
		case "service-object":
			if d.kind != objSvc {
				return p.lr.errf("service-object in port group %s", d.name)
			}
			if toks[1] == "object" {
				if err := need(3); err != nil {
					return err
				}
				d.members = append(d.members, toks[2])
				return nil
			}
			t, err := p.serviceSpec(toks[1:])
			if err != nil {
				return err
			}
			d.terms = append(d.terms, t)
		case "group-object":
			d.members = append(d.members, toks[1])
		default:
			return p.lr.errf("object-group service %s: unknown keyword %q", d.name, toks[0])
		}
	case "object-group protocol":
		if err := need(2); err != nil {
			return err
		}
		switch toks[0] {
		case "protocol-object":
			t, err := ciscoProtoTerm(toks[1])
			if err != nil {
				return p.lr.errf("%v", err)
			}
			d.terms = append(d.terms, t)
		case "group-object":
			d.members = append(d.members, toks[1])
		default:
			return p.lr.errf("object-group protocol %s: unknown keyword %q", d.name, toks[0])
		}
	case "unmodelled":
		// icmp-type, user and security groups: the whole group is
		// unmodelled; its entries need no parsing.
	default:
		return fmt.Errorf("policy: line %d: internal: block %q", line, p.curKind)
	}
	return nil
}

// addrMask parses "A.B.C.D M.M.M.M" or "X::/len" at toks.
func (p *asaParser) addrMask(toks []string) (netip.Prefix, error) {
	if strings.Contains(toks[0], "/") || strings.Contains(toks[0], ":") {
		pf, err := vendorPrefix(toks[0])
		if err != nil {
			return pf, p.lr.errf("%v", err)
		}
		return pf, nil
	}
	if len(toks) < 2 {
		return netip.Prefix{}, p.lr.errf("address %s needs a netmask", toks[0])
	}
	pf, err := vendorMask(toks[0], toks[1])
	if err != nil {
		return pf, p.lr.errf("%v", err)
	}
	return pf, nil
}

// ciscoProtoTerm parses a protocol name or number; "ip" is every protocol.
func ciscoProtoTerm(name string) (svcTerm, error) {
	if name == "ip" {
		return svcTerm{proto: ProtoMatch{Any: true}}, nil
	}
	n, err := vendorProto(name)
	if err != nil {
		return svcTerm{}, err
	}
	return svcTerm{proto: ProtoMatch{Num: n}}, nil
}

// serviceSpec parses "PROTO [source OP] [destination OP]" (object service,
// service-object); "PROTO OP" without a keyword is the older destination
// form. tcp-udp gives two terms, returned as the first with the second
// appended to the current object.
func (p *asaParser) serviceSpec(toks []string) (svcTerm, error) {
	if len(toks) == 0 {
		return svcTerm{}, p.lr.errf("service needs a protocol")
	}
	proto := toks[0]
	rest := toks[1:]
	both := proto == "tcp-udp"
	if both {
		proto = "tcp"
	}
	t, err := ciscoProtoTerm(proto)
	if err != nil {
		return t, p.lr.errf("%v", err)
	}
	if t.proto.Num == 1 || t.proto.Num == 58 {
		if len(rest) > 0 {
			t.unmodelled = "ICMP type " + strings.Join(rest, " ") + " not modelled"
		}
		return t, nil
	}
	for i := 0; i < len(rest); {
		which := "destination"
		if rest[i] == "source" || rest[i] == "destination" {
			which = rest[i]
			i++
		}
		rg, n, err := vendorPortOp(rest, i)
		if err != nil {
			return t, p.lr.errf("%v", err)
		}
		if n == 0 {
			return t, p.lr.errf("unknown keyword %q in service", rest[min(i, len(rest)-1)])
		}
		if !portProtos[t.proto.Num] || t.proto.Any {
			return t, p.lr.errf("ports need tcp, udp or sctp")
		}
		if which == "source" {
			t.sport = rg
		} else {
			t.dport = rg
		}
		i += n
	}
	if both {
		u := t
		u.proto.Num = 17
		p.cur.terms = append(p.cur.terms, u)
	}
	return t, nil
}

func (p *asaParser) object(toks []string) error {
	if len(toks) < 3 {
		return p.lr.errf("object needs a type and a name")
	}
	var kind objKind
	switch toks[1] {
	case "network":
		kind = objAddr
	case "service":
		kind = objSvc
	default:
		return p.lr.errf("unknown object type %q", toks[1])
	}
	d, err := p.objs.define(kind, toks[2], p.lr.line)
	if err != nil {
		return err
	}
	p.cur, p.curKind = d, "object "+toks[1]
	return nil
}

func (p *asaParser) objectGroup(toks []string) error {
	if len(toks) < 3 {
		return p.lr.errf("object-group needs a type and a name")
	}
	name := toks[2]
	var (
		kind objKind
		d    *objDef
		err  error
	)
	p.curKind = "object-group " + toks[1]
	switch toks[1] {
	case "network":
		kind = objAddr
	case "service":
		kind = objSvc
		if len(toks) > 3 {
			switch toks[3] {
			case "tcp", "udp", "tcp-udp":
				kind = objPort
				p.curProto = toks[3]
			default:
				return p.lr.errf("unknown object-group service protocol %q", toks[3])
			}
		}
	case "protocol":
		kind = objSvc
	case "icmp-type", "user", "security":
		d, err = p.objs.define(objAddr, name, p.lr.line)
		if toks[1] == "icmp-type" {
			d, err = p.objs.define(objSvc, name, p.lr.line)
		}
		if err != nil {
			return err
		}
		d.unmodelled = "object-group " + toks[1] + " is not modelled"
		p.cur, p.curKind = d, "unmodelled"
		return nil
	default:
		return p.lr.errf("unknown object-group type %q", toks[1])
	}
	if d, err = p.objs.define(kind, name, p.lr.line); err != nil {
		return err
	}
	p.cur = d
	return nil
}

func (p *asaParser) accessList(raw string, toks []string) error {
	if len(toks) < 3 {
		return p.lr.errf("access-list needs a name and a type")
	}
	name := toks[1]
	rest := toks[2:]
	if rest[0] == "line" {
		if len(rest) < 3 {
			return p.lr.errf("access-list line needs a number")
		}
		rest = rest[2:]
	}
	if _, ok := p.aces[name]; !ok {
		p.aclOrder = append(p.aclOrder, name)
		p.aces[name] = nil
	}
	switch rest[0] {
	case "remark":
		p.remarks[name] = append(p.remarks[name], strings.Join(rest[1:], " "))
		return nil
	case "extended":
	case "standard", "webtype", "ethertype":
		p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: p.lr.line, Reason: "access-list " + name + ": " + rest[0] + " entries are not modelled"})
		return nil
	default:
		return p.lr.errf("access-list %s: unknown type %q", name, rest[0])
	}
	if len(p.aces[name]) >= MaxRules {
		return fmt.Errorf("%w: more than %d rules", ErrTooLarge, MaxRules)
	}
	p.aces[name] = append(p.aces[name], asaACE{
		acl: name, line: p.lr.line, text: strings.TrimSpace(raw), toks: rest[1:],
		comment: strings.Join(p.remarks[name], "; "),
	})
	p.remarks[name] = nil
	return nil
}

func (p *asaParser) accessGroup(toks []string) error {
	if len(toks) < 3 {
		return p.lr.errf("access-group needs an ACL and a direction")
	}
	b := asaBinding{line: p.lr.line, dir: toks[2]}
	switch {
	case b.dir == "global" && len(toks) == 3:
	case (b.dir == "in" || b.dir == "out") && len(toks) >= 5 && toks[3] == "interface":
		b.iface = toks[4]
		for _, extra := range toks[5:] {
			switch extra {
			case "per-user-override":
			case "control-plane":
				p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: p.lr.line, Reason: "control-plane access-group filters traffic to the device; not modelled"})
				return nil
			default:
				return p.lr.errf("access-group: unknown keyword %q", extra)
			}
		}
	default:
		return p.lr.errf("access-group: expected \"in|out interface NAME\" or \"global\"")
	}
	p.binds[toks[1]] = append(p.binds[toks[1]], b)
	return nil
}

// adminLine reads "ssh|http|telnet ADDR MASK IFACE" (IPv6:
// "ssh PREFIX/LEN IFACE") management access.
func (p *asaParser) adminLine(toks []string) error {
	var pf netip.Prefix
	var err error
	switch {
	case len(toks) == 3 && strings.Contains(toks[1], "/"):
		pf, err = vendorPrefix(toks[1])
	case len(toks) == 4 && strings.Count(toks[1], ".") == 3 && strings.Count(toks[2], ".") == 3:
		pf, err = vendorMask(toks[1], toks[2])
	default:
		return nil // ssh version 2, http server enable, telnet timeout 5, …
	}
	if err != nil {
		return p.lr.errf("%s: %v", toks[0], err)
	}
	p.admin = append(p.admin, asaAdmin{line: p.lr.line, service: toks[0], src: pf, iface: toks[len(toks)-1]})
	return nil
}

func (p *asaParser) adminObservations() {
	for _, a := range p.admin {
		lvl, known := p.levels[a.iface]
		trusted := a.iface == "inside" || a.iface == "management" || a.iface == "mgmt" || (known && lvl >= 100)
		if trusted || a.src.Bits() > 16 {
			continue
		}
		sev := "medium"
		if a.service == "telnet" || a.src.Bits() == 0 {
			sev = "high"
		}
		p.rs.Observe(a.line, "admin-access-untrusted", sev,
			fmt.Sprintf("%s management access allowed from %s on interface %s", a.service, a.src, a.iface))
	}
}

// ciscoTarget is one chain an ACL becomes, with its interface condition.
type ciscoTarget struct {
	chain   string
	in, out *IfaceMatch
}

// ciscoTargets maps an ACL's bindings to chains: one per direction it is
// bound in (named NAME, or NAME/in and NAME/out when bound both ways), the
// interfaces of that direction as the In or Out condition.
func ciscoTargets(rs *RuleSet, name string, binds []asaBinding) []ciscoTarget {
	groups := map[string][]string{}
	for _, b := range binds {
		groups[b.dir] = append(groups[b.dir], rs.IfaceKey(b.iface))
	}
	dirs := make([]string, 0, len(groups))
	for d := range groups {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	if len(dirs) == 0 {
		dirs = []string{""}
	}
	var out []ciscoTarget
	for _, dir := range dirs {
		tg := ciscoTarget{chain: name}
		if len(dirs) > 1 {
			tg.chain = name + "/" + dir
		}
		if ifs := groups[dir]; len(ifs) > 0 {
			slices.Sort(ifs)
			ifs = slices.Compact(ifs)
			m := &IfaceMatch{Name: ifs[0], Alt: ifs[1:]}
			if dir == "in" {
				tg.in = m
			} else if dir == "out" {
				tg.out = m
			}
		}
		out = append(out, tg)
	}
	return out
}

// build turns the collected entries into chains once bindings are known.
func (p *asaParser) build() error {
	names := make([]string, 0, len(p.binds))
	for name := range p.binds {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := p.aces[name]; !ok {
			return &ParseError{Line: p.binds[name][0].line, Msg: fmt.Sprintf("access-group binds unknown access-list %q", name)}
		}
	}
	for _, name := range p.aclOrder {
		aces := p.aces[name]
		if len(aces) == 0 {
			continue
		}
		for _, tg := range ciscoTargets(p.rs, name, p.binds[name]) {
			if _, err := p.rs.AddChain(tg.chain, Drop, aces[0].line); err != nil {
				return err
			}
			chain, in, out := tg.chain, tg.in, tg.out
			for _, ace := range aces {
				if err := p.ace(chain, ace, in, out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ace parses one extended entry:
// permit|deny PROTO SRC [SPORT] DST [DPORT] [log …] [time-range N] [inactive].
func (p *asaParser) ace(chain string, ace asaACE, in, out *IfaceMatch) error {
	toks := ace.toks
	perr := func(format string, a ...any) error {
		return &ParseError{Line: ace.line, Msg: fmt.Sprintf(format, a...)}
	}
	skip := func(reason string) error {
		p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: ace.line, Reason: "access-list " + ace.acl + ": " + reason})
		return nil
	}
	if len(toks) < 4 {
		return perr("access-list %s: incomplete entry", ace.acl)
	}
	v := vendorRule{chain: chain, text: ace.text, line: ace.line, comment: ace.comment, in: in, out: out}
	switch toks[0] {
	case "permit":
		v.action = Accept
	case "deny":
		v.action = Drop
	default:
		return perr("access-list %s: expected permit or deny, got %q", ace.acl, toks[0])
	}
	i := 1
	// Protocol: a name or number, or a service / protocol object.
	var portProto uint8 // the protocol port conditions apply to; 0 for none
	var protoIsService bool
	switch toks[i] {
	case "object", "object-group":
		if i+1 >= len(toks) {
			return perr("%s needs a name", toks[i])
		}
		terms, err := p.objs.services(toks[i+1], ace.line)
		if err != nil {
			if se := (*skipError)(nil); errors.As(err, &se) {
				return skip(se.reason)
			}
			return err
		}
		v.terms = terms
		protoIsService = true
		i += 2
	default:
		t, err := ciscoProtoTerm(toks[i])
		if err != nil {
			return perr("%v", err)
		}
		if !t.proto.Any {
			v.terms = []svcTerm{t}
			if portProtos[t.proto.Num] {
				portProto = t.proto.Num
			}
		}
		i++
	}
	var err error
	var se *skipError
	if v.src, i, err = p.aclAddr(toks, i, ace.line); err != nil {
		if errors.As(err, &se) {
			return skip(se.reason)
		}
		return err
	}
	var sport, dport []PortRange
	var sawSport, sawDport bool
	if sport, sawSport, i, err = p.aclPorts(toks, i, ace.line); err != nil {
		return err
	}
	if v.dst, i, err = p.aclAddr(toks, i, ace.line); err != nil {
		if errors.As(err, &se) {
			return skip(se.reason)
		}
		return err
	}
	if dport, sawDport, i, err = p.aclPorts(toks, i, ace.line); err != nil {
		return err
	}
	if sawSport || sawDport {
		// Ports apply to a protocol, or to every protocol of a protocol
		// object-group when all of them carry ports.
		ok := len(v.terms) > 0 && (portProto != 0 || protoIsService)
		for _, t := range v.terms {
			if t.proto.Any || !portProtos[t.proto.Num] || t.sport != nil || t.dport != nil {
				ok = false
			}
		}
		if !ok {
			return perr("port conditions need protocol tcp, udp or sctp")
		}
		for k := range v.terms {
			if sawSport {
				v.terms[k].sport = sport
			}
			if sawDport {
				v.terms[k].dport = dport
			}
		}
	}
	inactive := false
	for ; i < len(toks); i++ {
		switch toks[i] {
		case "log":
			v.logging = LogOn
			for i+1 < len(toks) {
				nx := toks[i+1]
				if nx == "disable" {
					v.logging = LogOff
					i++
					continue
				}
				if nx == "default" || nx == "interval" || isLogLevel(nx) {
					i++
					if nx == "interval" {
						i++
					}
					continue
				}
				break
			}
		case "inactive":
			inactive = true
		case "time-range":
			return skip("time-range rules are active only at some times; not modelled")
		default:
			if len(v.terms) == 1 && (v.terms[0].proto.Num == 1 || v.terms[0].proto.Num == 58) && !v.terms[0].proto.Any && !sawDport {
				return skip("ICMP type " + toks[i] + " not modelled")
			}
			return perr("access-list %s: unknown keyword %q", ace.acl, toks[i])
		}
	}
	if inactive {
		p.rs.Observe(ace.line, "disabled-rule", "low", "inactive access-list entry in "+ace.acl+": "+truncate(ace.text))
		return nil
	}
	return p.rs.addVendorRule(v)
}

func isLogLevel(s string) bool {
	switch s {
	case "emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging":
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 7
}

// aclAddr parses one address of an entry at toks[i].
func (p *asaParser) aclAddr(toks []string, i, line int) (addrList, int, error) {
	var a addrList
	perr := func(format string, args ...any) (addrList, int, error) {
		return a, i, &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if i >= len(toks) {
		return perr("address missing")
	}
	arg := func() (string, error) {
		if i+1 >= len(toks) {
			return "", &ParseError{Line: line, Msg: toks[i] + " needs an argument"}
		}
		return toks[i+1], nil
	}
	fam := p.objs.fam
	switch toks[i] {
	case "any":
		a.all = true
		return a, i + 1, nil
	case "any4":
		if fam == IPv4 {
			a.all = true
		} else {
			a.other++
		}
		return a, i + 1, nil
	case "any6":
		if fam == IPv6 {
			a.all = true
		} else {
			a.other++
		}
		return a, i + 1, nil
	case "host":
		s, err := arg()
		if err != nil {
			return a, i, err
		}
		pf, err := vendorPrefix(s)
		if err != nil {
			return perr("%v", err)
		}
		a.addPrefix(pf, fam)
		return a, i + 2, nil
	case "object", "object-group":
		s, err := arg()
		if err != nil {
			return a, i, err
		}
		if _, ok := p.objs.lookup(objAddr, s); !ok {
			return perr("unknown network object %q", s)
		}
		l, err := p.objs.addrs(s, line)
		var se *skipError
		if errors.As(err, &se) {
			return a, i, err
		}
		return l, i + 2, err
	case "interface", "object-group-user", "user", "user-group", "security-group", "object-group-security":
		return a, i, &skipError{reason: toks[i] + " matches are not modelled"}
	}
	if strings.Contains(toks[i], ":") {
		pf, err := vendorPrefix(toks[i])
		if err != nil {
			return perr("%v", err)
		}
		a.addPrefix(pf, fam)
		return a, i + 1, nil
	}
	if i+1 >= len(toks) {
		return perr("address %q needs a netmask", toks[i])
	}
	pf, err := vendorMask(toks[i], toks[i+1])
	if err != nil {
		return perr("%v", err)
	}
	a.addPrefix(pf, fam)
	return a, i + 2, nil
}

// aclPorts parses an optional port condition at toks[i]: an operator or a
// port object-group.
func (p *asaParser) aclPorts(toks []string, i, line int) ([]PortRange, bool, int, error) {
	if i >= len(toks) {
		return nil, false, i, nil
	}
	if toks[i] == "object-group" && i+1 < len(toks) {
		if _, ok := p.objs.lookup(objPort, toks[i+1]); ok {
			rg, err := p.objs.portList(toks[i+1], line)
			return rg, true, i + 2, err
		}
		return nil, false, i, nil
	}
	rg, n, err := vendorPortOp(toks, i)
	if err != nil {
		return nil, false, i, &ParseError{Line: line, Msg: err.Error()}
	}
	if n == 0 {
		return nil, false, i, nil
	}
	return rg, true, i + n, nil
}

// iosEntry is one permit or deny entry of an IOS ACL.
type iosEntry struct {
	line     int
	text     string
	comment  string
	toks     []string // from permit|deny on
	standard bool
}

// iosParser holds the state of one IOS configuration.
type iosParser struct {
	rs       *RuleSet
	lr       *vendorLines
	order    []string
	entries  map[string][]iosEntry
	remarks  map[string][]string
	standard map[string]bool
	binds    map[string][]asaBinding
	acl      string // the named ACL whose entries follow
	iface    string // the interface block being read
}

// ParseCiscoIOS parses the ACLs of a Cisco IOS or IOS-XE running
// configuration: numbered ACLs ("access-list 101 …"; 1-99 and 1300-1999
// standard, source only), named ACLs ("ip access-list extended|standard
// NAME" with optional sequence numbers) and their "ip access-group NAME
// in|out" bindings under interfaces. Chains, bindings, remarks and the
// implicit deny are as in ParseCiscoASA.
//
// Addresses take wildcard masks; a non-contiguous wildcard (which selects
// no single prefix) is refused with an error. The "established" keyword
// (TCP segments with ACK or RST set) is modelled as conntrack state
// ESTABLISHED: it excludes the opening SYN as the device does, and the
// analysis treats such entries as admitting no new connection. ICMP types,
// time ranges, DSCP, precedence, TTL, fragments and option matches are
// recorded in Skipped; any other keyword inside an ACL is an error.
func ParseCiscoIOS(r io.Reader, fam Family) (*RuleSet, error) {
	rs, err := NewRuleSet(fam, "cisco-ios")
	if err != nil {
		return nil, err
	}
	p := &iosParser{
		rs: rs, lr: newVendorLines(r), entries: map[string][]iosEntry{},
		remarks: map[string][]string{}, standard: map[string]bool{}, binds: map[string][]asaBinding{},
	}
	for p.lr.next() {
		if err := p.line(p.lr.text); err != nil {
			return nil, err
		}
	}
	if err := p.lr.done(); err != nil {
		return nil, err
	}
	if err := p.build(); err != nil {
		return nil, err
	}
	sortNotes(rs)
	if err := rs.Finish(); err != nil {
		return nil, err
	}
	return rs, nil
}

func (p *iosParser) line(raw string) error {
	trim := strings.TrimSpace(raw)
	if trim == "" || strings.HasPrefix(trim, "!") {
		return nil
	}
	toks, err := vendorFields(trim)
	if err != nil {
		return p.lr.errf("%v", err)
	}
	if raw[0] == ' ' || raw[0] == '\t' {
		switch {
		case p.acl != "":
			return p.namedEntry(trim, toks)
		case p.iface != "" && len(toks) >= 3 && toks[0] == "ip" && toks[1] == "access-group":
			if len(toks) != 4 || (toks[3] != "in" && toks[3] != "out") {
				return p.lr.errf("ip access-group: expected NAME in|out")
			}
			p.binds[toks[2]] = append(p.binds[toks[2]], asaBinding{line: p.lr.line, dir: toks[3], iface: p.iface})
		}
		return nil
	}
	p.acl, p.iface = "", ""
	switch {
	case toks[0] == "hostname" && len(toks) > 1:
		p.rs.Hostname = toks[1]
	case toks[0] == "interface" && len(toks) > 1:
		p.iface = strings.Join(toks[1:], "")
	case toks[0] == "access-list":
		return p.numbered(trim, toks)
	case len(toks) >= 2 && toks[0] == "ip" && toks[1] == "access-list":
		if len(toks) != 4 {
			return p.lr.errf("ip access-list needs a type and a name")
		}
		switch toks[2] {
		case "extended", "standard":
			p.acl = toks[3]
			p.declare(toks[3], toks[2] == "standard")
		case "resequence", "logging":
		default:
			return p.lr.errf("ip access-list: unknown type %q", toks[2])
		}
	case len(toks) >= 2 && toks[0] == "ipv6" && toks[1] == "access-list":
		p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: p.lr.line, Reason: "IPv6 access-lists are not modelled"})
	}
	return nil
}

func (p *iosParser) declare(name string, standard bool) {
	if _, ok := p.entries[name]; !ok {
		p.order = append(p.order, name)
		p.entries[name] = nil
		p.standard[name] = standard
	}
}

// numbered reads "access-list N permit|deny|remark …".
func (p *iosParser) numbered(text string, toks []string) error {
	if len(toks) < 3 {
		return p.lr.errf("access-list needs a number and an action")
	}
	n, err := strconv.Atoi(toks[1])
	if err != nil {
		return p.lr.errf("access-list %q: not a number", toks[1])
	}
	var standard bool
	switch {
	case n >= 1 && n <= 99, n >= 1300 && n <= 1999:
		standard = true
	case n >= 100 && n <= 199, n >= 2000 && n <= 2699:
	default:
		p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: p.lr.line, Reason: fmt.Sprintf("access-list %d is not an IP ACL; not modelled", n)})
		return nil
	}
	p.declare(toks[1], standard)
	if p.standard[toks[1]] != standard {
		return p.lr.errf("access-list %d mixes standard and extended entries", n)
	}
	return p.add(toks[1], text, toks[2:])
}

// namedEntry reads "[SEQ] permit|deny|remark …" under ip access-list.
func (p *iosParser) namedEntry(text string, toks []string) error {
	if _, err := strconv.Atoi(toks[0]); err == nil {
		toks = toks[1:]
		if len(toks) == 0 {
			return p.lr.errf("sequence number without an entry")
		}
	}
	return p.add(p.acl, text, toks)
}

func (p *iosParser) add(acl, text string, toks []string) error {
	switch toks[0] {
	case "remark":
		p.remarks[acl] = append(p.remarks[acl], strings.Join(toks[1:], " "))
		return nil
	case "permit", "deny":
	case "evaluate", "dynamic":
		p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: p.lr.line, Reason: "access-list " + acl + ": " + toks[0] + " entries are not modelled"})
		return nil
	default:
		return p.lr.errf("access-list %s: unknown keyword %q", acl, toks[0])
	}
	if len(p.entries[acl]) >= MaxRules {
		return fmt.Errorf("%w: more than %d rules", ErrTooLarge, MaxRules)
	}
	p.entries[acl] = append(p.entries[acl], iosEntry{
		line: p.lr.line, text: text, toks: toks, standard: p.standard[acl],
		comment: strings.Join(p.remarks[acl], "; "),
	})
	p.remarks[acl] = nil
	return nil
}

func (p *iosParser) build() error {
	for _, name := range p.order {
		es := p.entries[name]
		if len(es) == 0 {
			continue
		}
		for _, tg := range ciscoTargets(p.rs, name, p.binds[name]) {
			if _, err := p.rs.AddChain(tg.chain, Drop, es[0].line); err != nil {
				return err
			}
			for _, e := range es {
				if err := p.entry(name, tg, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// iosSkipKeywords are IOS entry options that narrow a match in a way the
// model cannot represent; an entry with one is recorded in Skipped.
var iosSkipKeywords = map[string]bool{
	"time-range": true, "dscp": true, "precedence": true, "tos": true, "ttl": true,
	"fragments": true, "option": true, "match-all": true, "match-any": true, "reflect": true,
}

func (p *iosParser) entry(acl string, tg ciscoTarget, e iosEntry) error {
	perr := func(format string, a ...any) error {
		return &ParseError{Line: e.line, Msg: "access-list " + acl + ": " + fmt.Sprintf(format, a...)}
	}
	skip := func(reason string) error {
		p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: e.line, Reason: "access-list " + acl + ": " + reason})
		return nil
	}
	toks := e.toks
	v := vendorRule{chain: tg.chain, text: e.text, line: e.line, comment: e.comment, in: tg.in, out: tg.out, action: Accept}
	if toks[0] == "deny" {
		v.action = Drop
	}
	if len(toks) < 2 {
		return perr("incomplete entry")
	}
	fam := p.rs.Family
	i := 1
	var proto svcTerm
	if !e.standard {
		if toks[1] == "object-group" {
			return perr("object-group matches are not modelled for IOS")
		}
		t, err := ciscoProtoTerm(toks[1])
		if err != nil {
			return perr("%v", err)
		}
		proto = t
		i = 2
	}
	addr := func() (addrList, error) {
		var a addrList
		if i >= len(toks) {
			return a, perr("address missing")
		}
		switch toks[i] {
		case "any":
			a.all = true
			i++
			return a, nil
		case "host":
			if i+1 >= len(toks) {
				return a, perr("host needs an address")
			}
			pf, err := vendorPrefix(toks[i+1])
			if err != nil || !pf.Addr().Is4() {
				return a, perr("bad host %q", toks[i+1])
			}
			a.addPrefix(pf, fam)
			i += 2
			return a, nil
		case "object-group":
			return a, perr("object-group matches are not modelled for IOS")
		}
		if _, err := netip.ParseAddr(toks[i]); err != nil {
			return a, perr("bad address %q", toks[i])
		}
		var wild string
		switch {
		case i+1 < len(toks) && strings.Count(toks[i+1], ".") == 3:
			wild = toks[i+1]
		case e.standard:
			wild = "0.0.0.0" // a standard entry may give a bare host address
		default:
			return a, perr("address %s needs a wildcard mask", toks[i])
		}
		pf, err := vendorWildcard(toks[i], wild)
		if err != nil {
			return a, perr("%v", err)
		}
		a.addPrefix(pf, fam)
		i++
		if wild != "0.0.0.0" || (i < len(toks) && toks[i] == wild) {
			i++
		}
		return a, nil
	}
	ports := func() ([]PortRange, bool, error) {
		rg, n, err := vendorPortOp(toks, i)
		if err != nil {
			return nil, false, perr("%v", err)
		}
		if n == 0 {
			return nil, false, nil
		}
		i += n
		// IOS accepts several ports after eq and neq: "eq www 443".
		if op := toks[i-n]; op == "eq" || op == "neq" {
			for i < len(toks) {
				pn, err := vendorPort(toks[i])
				if err != nil {
					break
				}
				if op == "eq" {
					rg = append(rg, PortRange{pn, pn})
				} else {
					rg = subtractPorts(rg, pn)
				}
				i++
			}
		}
		if proto.proto.Any || !portProtos[proto.proto.Num] {
			return nil, false, perr("port conditions need protocol tcp, udp or sctp")
		}
		return rg, true, nil
	}
	var err error
	if v.src, err = addr(); err != nil {
		return err
	}
	if !e.standard {
		sport, sawS, err := ports()
		if err != nil {
			return err
		}
		if v.dst, err = addr(); err != nil {
			return err
		}
		dport, sawD, err := ports()
		if err != nil {
			return err
		}
		if !proto.proto.Any {
			if sawS {
				proto.sport = sport
			}
			if sawD {
				proto.dport = dport
			}
			v.terms = []svcTerm{proto}
		}
	} else {
		v.dst.all = true
	}
	for ; i < len(toks); i++ {
		switch t := toks[i]; {
		case t == "log" || t == "log-input":
			v.logging = LogOn
			if i+1 < len(toks) && !iosKeyword(toks[i+1]) {
				i++ // a log cookie
			}
		case t == "established" && !e.standard:
			if proto.proto.Any || proto.proto.Num != 6 {
				return perr("established needs protocol tcp")
			}
			v.state = []StateMatch{{States: []ConnState{StateEstablished}}}
		case iosSkipKeywords[t]:
			return skip(t + " matches are not modelled")
		case !e.standard && !proto.proto.Any && (proto.proto.Num == 1 || proto.proto.Num == 58):
			return skip("ICMP type " + t + " not modelled")
		default:
			return perr("unknown keyword %q", t)
		}
	}
	return p.rs.addVendorRule(v)
}

func iosKeyword(s string) bool {
	return s == "log" || s == "log-input" || s == "established" || iosSkipKeywords[s]
}

// subtractPorts removes port p from the ranges.
func subtractPorts(rg []PortRange, p uint16) []PortRange {
	var out []PortRange
	for _, r := range rg {
		if p < r.From || p > r.To {
			out = append(out, r)
			continue
		}
		if p > r.From {
			out = append(out, PortRange{r.From, p - 1})
		}
		if p < r.To {
			out = append(out, PortRange{p + 1, r.To})
		}
	}
	return out
}
