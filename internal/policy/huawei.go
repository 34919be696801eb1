package policy

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// hwRule is a security-policy rule of a Huawei USG or H3C Comware
// configuration, collected before the objects it names are all known.
type hwRule struct {
	line    int
	id      string
	text    string
	comment string
	action  Action
	logging Logging
	disable bool
	src     []string // zones
	dst     []string
	saddr   []hwAddrRef
	daddr   []hwAddrRef
	svcs    []hwSvcRef
	prof    []string
	est     bool // H3C ACL "established"
	skip    string
}

// hwAddrRef is an inline address or a group name.
type hwAddrRef struct {
	line  int
	group string
	list  addrList
}

// hwSvcRef is an inline service or a service name.
type hwSvcRef struct {
	line int
	name string
	term *svcTerm
}

// huaweiServices are the predefined services of Huawei USG and H3C
// security policies (lower case names), used when the configuration does
// not define a service-set of that name.
var huaweiServices = map[string][]svcTerm{
	"any":    {{proto: ProtoMatch{Any: true}}},
	"http":   {fgTerm(6, 80, 80)},
	"https":  {fgTerm(6, 443, 443)},
	"ssh":    {fgTerm(6, 22, 22)},
	"telnet": {fgTerm(6, 23, 23)},
	"ftp":    {fgTerm(6, 21, 21)},
	"dns":    {fgTerm(6, 53, 53), fgTerm(17, 53, 53)},
	"smtp":   {fgTerm(6, 25, 25)},
	"pop3":   {fgTerm(6, 110, 110)},
	"imap":   {fgTerm(6, 143, 143)},
	"ntp":    {fgTerm(17, 123, 123)},
	"snmp":   {fgTerm(17, 161, 162)},
	"rdp":    {fgTerm(6, 3389, 3389)},
	"sqlnet": {fgTerm(6, 1521, 1521)},
	"mysql":  {fgTerm(6, 3306, 3306)},
	"icmp":   {{proto: ProtoMatch{Num: 1}}},
	"tcp":    {{proto: ProtoMatch{Num: 6}}},
	"udp":    {{proto: ProtoMatch{Num: 17}}},
	"gre":    {{proto: ProtoMatch{Num: 47}}},
	"esp":    {{proto: ProtoMatch{Num: 50}}},
}

func huaweiBuiltin(kind objKind, name string) (*objDef, bool) {
	if kind != objSvc {
		return nil, false
	}
	t, ok := huaweiServices[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return &objDef{kind: objSvc, name: name, terms: t}, true
}

// hwParser reads Huawei USG and H3C Comware configurations: blocks start
// at column 0 and their sub-commands are indented.
type hwParser struct {
	rs       *RuleSet
	lr       *vendorLines
	objs     *objStore
	h3c      bool
	block    string  // the top-level block being read
	cur      *objDef // the object group of the block
	rule     *hwRule
	rules    []*hwRule
	policyAt int
	defAct   Action
	defLine  int
	// H3C packet-filter ACLs
	acl      string
	aclOrder []string
	aclRules map[string][]*hwRule
	aclBinds map[string][]asaBinding
	pfDeny   bool
	iface    string
}

// ParseHuaweiUSG parses the security policy of a Huawei USG (USG6000,
// HiSecEngine) configuration: "ip address-set" and "ip service-set"
// objects and "security-policy" rules with source and destination zones,
// addresses (IP with mask or prefix length, ranges, address-sets),
// services (predefined, service-sets, inline "service protocol …"),
// action permit or deny, "disable", "policy logging" and security
// profiles. The rules become one chain "security-policy" whose policy is
// the device's implicit deny, or what a "default action" line sets.
// Zones are In (source-zone) and Out (destination-zone) conditions.
// Users, applications, time ranges and excluded addresses cannot be
// modelled: rules using them are recorded in Skipped. An unknown keyword
// in a rule or object is an error naming its line.
func ParseHuaweiUSG(r io.Reader, fam Family) (*RuleSet, error) {
	return parseHw(r, fam, false)
}

// ParseH3C parses the security policy of an H3C Comware V7 firewall:
// "object-group ip address" and "object-group service" objects,
// "security-policy ip" rules (source-zone, destination-zone, source-ip,
// destination-ip, service, action pass or drop, logging enable, disable)
// as one chain "security-policy" with an implicit deny, and advanced
// ACLs ("acl advanced 3000", "rule 5 permit tcp source … destination-port
// eq 80") bound with "packet-filter N inbound|outbound" under interfaces,
// one chain "acl-N" per ACL whose policy is permit (the packet filter's default)
// unless "packet-filter default deny" is configured. The modelling limits
// are those of ParseHuaweiUSG.
func ParseH3C(r io.Reader, fam Family) (*RuleSet, error) {
	return parseHw(r, fam, true)
}

func parseHw(r io.Reader, fam Family, h3c bool) (*RuleSet, error) {
	format := "huawei-usg"
	if h3c {
		format = "h3c"
	}
	rs, err := NewRuleSet(fam, format)
	if err != nil {
		return nil, err
	}
	p := &hwParser{rs: rs, lr: newVendorLines(r), objs: newObjStore(fam), h3c: h3c, defAct: Drop,
		aclRules: map[string][]*hwRule{}, aclBinds: map[string][]asaBinding{}}
	p.objs.builtin = huaweiBuiltin
	for p.lr.next() {
		if err := p.line(p.lr.text); err != nil {
			return nil, err
		}
	}
	if err := p.lr.done(); err != nil {
		return nil, err
	}
	if err := p.objs.checkAll(); err != nil {
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

func (p *hwParser) line(raw string) error {
	trim := strings.TrimSpace(raw)
	if trim == "" || trim == "#" || trim == "quit" || trim == "return" || strings.HasPrefix(trim, "#") {
		if trim == "#" || trim == "return" {
			p.block, p.cur, p.rule, p.acl, p.iface = "", nil, nil, "", ""
		}
		return nil
	}
	toks, err := vendorFields(trim)
	if err != nil {
		return p.lr.errf("%v", err)
	}
	indent := len(raw) - len(strings.TrimLeft(raw, " \t"))
	if indent == 0 {
		p.block, p.cur, p.rule, p.acl, p.iface = "", nil, nil, "", ""
		return p.top(toks)
	}
	switch p.block {
	case "":
		return p.top(toks) // " sysname X" after a "#" separator
	case "policy":
		return p.policyLine(toks, indent)
	case "addrset":
		return p.addrSetLine(toks)
	case "svcset":
		return p.svcSetLine(toks)
	case "acl":
		return p.aclLine(trim, toks)
	case "iface":
		if len(toks) == 3 && toks[0] == "packet-filter" && (toks[2] == "inbound" || toks[2] == "outbound") {
			p.aclBinds[toks[1]] = append(p.aclBinds[toks[1]], asaBinding{line: p.lr.line, dir: strings.TrimSuffix(toks[2], "bound"), iface: p.iface})
		}
	}
	return nil
}

func (p *hwParser) top(toks []string) error {
	n := len(toks)
	switch {
	case toks[0] == "sysname" && n > 1:
		p.rs.Hostname = toks[1]
	case !p.h3c && toks[0] == "security-policy" && n == 1,
		p.h3c && toks[0] == "security-policy" && n == 2 && toks[1] == "ip":
		p.block = "policy"
		if p.policyAt == 0 {
			p.policyAt = p.lr.line
		}
	case p.h3c && toks[0] == "security-policy":
		p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: p.lr.line, Reason: "security-policy " + strings.Join(toks[1:], " ") + " not modelled"})
	case !p.h3c && n >= 3 && toks[0] == "ip" && toks[1] == "address-set":
		return p.group(objAddr, toks[2], "addrset")
	case !p.h3c && n >= 3 && toks[0] == "ip" && toks[1] == "service-set":
		return p.group(objSvc, toks[2], "svcset")
	case p.h3c && n >= 4 && toks[0] == "object-group" && toks[1] == "ip" && toks[2] == "address":
		return p.group(objAddr, toks[3], "addrset")
	case p.h3c && n >= 3 && toks[0] == "object-group" && toks[1] == "service":
		return p.group(objSvc, toks[2], "svcset")
	case p.h3c && n >= 3 && toks[0] == "acl" && (toks[1] == "advanced" || toks[1] == "number"):
		num, err := strconv.Atoi(toks[2])
		if err != nil || num < 3000 || num > 3999 {
			if toks[2] == "name" && n >= 4 {
				p.startACL(toks[3])
				return nil
			}
			return p.lr.errf("acl %s: only advanced ACLs 3000-3999 are modelled", toks[2])
		}
		p.startACL(toks[2])
	case p.h3c && n >= 2 && toks[0] == "acl" && (toks[1] == "basic" || toks[1] == "mac" || toks[1] == "ipv6"):
		p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: p.lr.line, Reason: "acl " + toks[1] + " not modelled"})
	case p.h3c && n == 3 && toks[0] == "packet-filter" && toks[1] == "default" && toks[2] == "deny":
		p.pfDeny = true
	case toks[0] == "interface" && n > 1:
		p.block, p.iface = "iface", strings.Join(toks[1:], "")
	}
	return nil
}

func (p *hwParser) startACL(name string) {
	p.block, p.acl = "acl", name
	if _, ok := p.aclRules[name]; !ok {
		p.aclOrder = append(p.aclOrder, name)
		p.aclRules[name] = nil
	}
}

func (p *hwParser) group(kind objKind, name, block string) error {
	d, err := p.objs.define(kind, name, p.lr.line)
	if err != nil {
		return err
	}
	p.block, p.cur = block, d
	return nil
}

// addrArgs parses an address in one of the vendors' forms at toks:
// "A mask M", "A mask LEN", "A LEN", "A M", "A/LEN", "A" (host),
// "range A B"; it returns the tokens used.
func (p *hwParser) addrArgs(toks []string) (addrList, int, error) {
	var a addrList
	fam := p.objs.fam
	if len(toks) == 0 {
		return a, 0, p.lr.errf("address missing")
	}
	if toks[0] == "range" {
		if len(toks) < 3 {
			return a, 0, p.lr.errf("range needs two addresses")
		}
		x, err1 := netip.ParseAddr(toks[1])
		y, err2 := netip.ParseAddr(toks[2])
		if err1 != nil || err2 != nil {
			return a, 0, p.lr.errf("bad range %s %s", toks[1], toks[2])
		}
		if err := a.addRange(x, y, fam); err != nil {
			return a, 0, p.lr.errf("%v", err)
		}
		return a, 3, nil
	}
	if strings.Contains(toks[0], "/") {
		pf, err := vendorPrefix(toks[0])
		if err != nil {
			return a, 0, p.lr.errf("%v", err)
		}
		a.addPrefix(pf, fam)
		return a, 1, nil
	}
	addr, err := netip.ParseAddr(toks[0])
	if err != nil {
		return a, 0, p.lr.errf("bad address %q", toks[0])
	}
	i := 1
	if i < len(toks) && toks[i] == "mask" {
		i++
	}
	if i >= len(toks) {
		a.addPrefix(netip.PrefixFrom(addr, addr.BitLen()), fam)
		return a, i, nil
	}
	var pf netip.Prefix
	if bits, err := strconv.Atoi(toks[i]); err == nil {
		pf, err = addr.Prefix(bits)
		if err != nil {
			return a, 0, p.lr.errf("bad prefix length %q", toks[i])
		}
	} else if pf, err = vendorMask(toks[0], toks[i]); err != nil {
		return a, 0, p.lr.errf("%v", err)
	}
	a.addPrefix(pf, fam)
	return a, i + 1, nil
}

func (p *hwParser) addrSetLine(toks []string) error {
	d := p.cur
	if toks[0] == "description" || toks[0] == "type" {
		return nil
	}
	if p.h3c {
		// [ID] network host address A | subnet A M | range A B | group-object N
		if _, err := strconv.Atoi(toks[0]); err == nil {
			toks = toks[1:]
		}
		if len(toks) < 3 || toks[0] != "network" {
			return p.lr.errf("object-group %s: unknown entry %q", d.name, strings.Join(toks, " "))
		}
		switch toks[1] {
		case "host":
			if toks[2] == "name" {
				d.unmodelled = "host names are resolved by the device; not modelled"
				return nil
			}
			if len(toks) != 4 || toks[2] != "address" {
				return p.lr.errf("object-group %s: expected host address A", d.name)
			}
			l, _, err := p.addrArgs(toks[3:])
			if err != nil {
				return err
			}
			d.addrs.add(l)
		case "subnet":
			l, n, err := p.addrArgs(toks[2:])
			if err != nil {
				return err
			}
			if n != len(toks)-2 {
				return p.lr.errf("object-group %s: trailing words", d.name)
			}
			d.addrs.add(l)
		case "range":
			l, _, err := p.addrArgs(toks[1:])
			if err != nil {
				return err
			}
			d.addrs.add(l)
		case "group-object":
			d.members = append(d.members, toks[2])
		default:
			return p.lr.errf("object-group %s: unknown network type %q", d.name, toks[1])
		}
		return nil
	}
	// address ID A mask M | address ID range A B | address ID address-set N
	if toks[0] != "address" || len(toks) < 3 {
		return p.lr.errf("address-set %s: unknown keyword %q", d.name, toks[0])
	}
	rest := toks[1:]
	if _, err := strconv.Atoi(rest[0]); err == nil {
		rest = rest[1:]
	}
	if rest[0] == "address-set" && len(rest) == 2 {
		d.members = append(d.members, rest[1])
		return nil
	}
	l, n, err := p.addrArgs(rest)
	if err != nil {
		return err
	}
	if n != len(rest) {
		return p.lr.errf("address-set %s: trailing words", d.name)
	}
	d.addrs.add(l)
	return nil
}

// hwServiceSpec parses "PROTO [source-port …] [destination-port …]"
// (Huawei: "source-port A [to B]", several separated by spaces) or H3C's
// "PROTO [source OP P] [destination OP P]".
func (p *hwParser) hwServiceSpec(toks []string) (svcTerm, error) {
	if len(toks) == 0 {
		return svcTerm{}, p.lr.errf("service needs a protocol")
	}
	t, err := ciscoProtoTerm(toks[0])
	if err != nil {
		return t, p.lr.errf("%v", err)
	}
	rest := toks[1:]
	if t.proto.Num == 1 || t.proto.Num == 58 {
		if len(rest) > 0 && !t.proto.Any {
			t.unmodelled = "ICMP type " + strings.Join(rest, " ") + " not modelled"
		}
		return t, nil
	}
	for i := 0; i < len(rest); {
		which := rest[i]
		i++
		var rg []PortRange
		switch which {
		case "source-port", "destination-port":
			// A [to B] ...
			for i < len(rest) && rest[i] != "source-port" && rest[i] != "destination-port" {
				a, err := vendorPort(rest[i])
				if err != nil {
					return t, p.lr.errf("%v", err)
				}
				b := a
				i++
				if i+1 < len(rest) && rest[i] == "to" {
					if b, err = vendorPort(rest[i+1]); err != nil || b < a {
						return t, p.lr.errf("bad port range %d to %s", a, rest[i+1])
					}
					i += 2
				}
				rg = append(rg, PortRange{a, b})
			}
		case "source", "destination":
			r, n, err := vendorPortOp(rest, i)
			if err != nil {
				return t, p.lr.errf("%v", err)
			}
			if n == 0 {
				return t, p.lr.errf("%s needs eq, lt, gt or range", which)
			}
			rg = r
			i += n
		default:
			return t, p.lr.errf("unknown keyword %q in service", which)
		}
		if t.proto.Any || !portProtos[t.proto.Num] {
			return t, p.lr.errf("ports need tcp, udp or sctp")
		}
		if strings.HasPrefix(which, "source") {
			t.sport = rg
		} else {
			t.dport = rg
		}
	}
	return t, nil
}

func (p *hwParser) svcSetLine(toks []string) error {
	d := p.cur
	if toks[0] == "description" {
		return nil
	}
	if p.h3c {
		if _, err := strconv.Atoi(toks[0]); err == nil {
			toks = toks[1:]
		}
		if len(toks) < 2 || toks[0] != "service" {
			return p.lr.errf("object-group %s: unknown entry %q", d.name, strings.Join(toks, " "))
		}
		if toks[1] == "group-object" && len(toks) == 3 {
			d.members = append(d.members, toks[2])
			return nil
		}
		t, err := p.hwServiceSpec(toks[1:])
		if err != nil {
			return err
		}
		d.terms = append(d.terms, t)
		return nil
	}
	// service [ID] protocol P … | service [ID] service-set N
	if toks[0] != "service" || len(toks) < 3 {
		return p.lr.errf("service-set %s: unknown keyword %q", d.name, toks[0])
	}
	rest := toks[1:]
	if _, err := strconv.Atoi(rest[0]); err == nil {
		rest = rest[1:]
	}
	switch {
	case len(rest) == 2 && rest[0] == "service-set":
		d.members = append(d.members, rest[1])
	case len(rest) >= 2 && rest[0] == "protocol":
		t, err := p.hwServiceSpec(rest[1:])
		if err != nil {
			return err
		}
		d.terms = append(d.terms, t)
	default:
		return p.lr.errf("service-set %s: unknown entry %q", d.name, strings.Join(rest, " "))
	}
	return nil
}

// hwSkipKeys are rule conditions that cannot be modelled; a rule with one
// is recorded in Skipped.
var hwSkipKeys = map[string]string{
	"user": "user matches", "user-group": "user matches", "application": "application matches",
	"time-range": "time ranges", "source-address-exclude": "excluded addresses",
	"destination-address-exclude": "excluded addresses", "vlan": "VLAN matches", "app-group": "application matches",
	"access-authentication": "authentication matches", "url": "URL matches", "terminal": "terminal matches",
}

// hwIgnoredKeys do not change what a rule matches or does.
var hwIgnoredKeys = map[string]bool{
	"description": true, "session": true, "counting": true, "long-link": true, "parent-group": true,
	"session-aging-time": true, "track": true,
}

func (p *hwParser) policyLine(toks []string, indent int) error {
	if p.rule == nil || indent <= 1 && (toks[0] == "rule" || toks[0] == "default") {
		return p.policyHead(toks)
	}
	r := p.rule
	arg := func() (string, error) {
		if len(toks) < 2 {
			return "", p.lr.errf("%s needs an argument", toks[0])
		}
		return toks[1], nil
	}
	key := toks[0]
	switch key {
	case "source-zone", "destination-zone":
		z, err := arg()
		if err != nil {
			return err
		}
		if key == "source-zone" {
			r.src = append(r.src, z)
		} else {
			r.dst = append(r.dst, z)
		}
	case "source-address", "destination-address", "source-ip", "destination-ip",
		"source-ip-host", "destination-ip-host", "source-ip-subnet", "destination-ip-subnet",
		"source-ip-range", "destination-ip-range":
		rest := toks[1:]
		if len(rest) == 0 {
			return p.lr.errf("%s needs an address", key)
		}
		ref := hwAddrRef{line: p.lr.line}
		switch {
		case key == "source-ip" || key == "destination-ip":
			ref.group = rest[0]
		case strings.HasSuffix(key, "-range"):
			l, _, err := p.addrArgs(append([]string{"range"}, rest...))
			if err != nil {
				return err
			}
			ref.list = l
		case rest[0] == "address-set" && len(rest) == 2:
			ref.group = rest[1]
		case rest[0] == "any":
			ref.list.all = true
		case rest[0] == "domain-set" || rest[0] == "geo-location" || rest[0] == "mac-address":
			r.skip = rest[0] + " addresses are not modelled"
			return nil
		default:
			l, n, err := p.addrArgs(rest)
			if err != nil {
				return err
			}
			if n != len(rest) {
				return p.lr.errf("%s: trailing words", key)
			}
			ref.list = l
		}
		if strings.HasPrefix(key, "source") {
			r.saddr = append(r.saddr, ref)
		} else {
			r.daddr = append(r.daddr, ref)
		}
	case "service", "service-port":
		rest := toks[1:]
		if len(rest) == 0 {
			return p.lr.errf("service needs a name")
		}
		ref := hwSvcRef{line: p.lr.line}
		switch {
		case key == "service-port":
			t, err := p.hwServiceSpec(rest)
			if err != nil {
				return err
			}
			ref.term = &t
		case rest[0] == "protocol":
			t, err := p.hwServiceSpec(rest[1:])
			if err != nil {
				return err
			}
			ref.term = &t
		case len(rest) == 1:
			ref.name = rest[0]
		default:
			return p.lr.errf("service: unexpected %q", strings.Join(rest, " "))
		}
		r.svcs = append(r.svcs, ref)
	case "action":
		a, err := arg()
		if err != nil {
			return err
		}
		switch a {
		case "permit", "pass":
			r.action = Accept
		case "deny", "drop":
			r.action = Drop
		default:
			return p.lr.errf("unknown action %q", a)
		}
	case "policy":
		if len(toks) == 2 && toks[1] == "logging" {
			r.logging = LogOn
			return nil
		}
		return p.lr.errf("unknown keyword \"policy %s\"", strings.Join(toks[1:], " "))
	case "logging":
		if len(toks) == 2 && toks[1] == "enable" {
			r.logging = LogOn
			return nil
		}
		r.logging = LogOff
	case "disable":
		r.disable = true
	case "enable":
		r.disable = false
	case "profile":
		if len(toks) == 3 {
			r.prof = append(r.prof, toks[1]+":"+toks[2])
		} else if len(toks) == 2 {
			r.prof = append(r.prof, "profile:"+toks[1])
		} else {
			return p.lr.errf("profile needs a type and a name")
		}
	default:
		if what, ok := hwSkipKeys[key]; ok {
			r.skip = what + " are not modelled"
			return nil
		}
		if hwIgnoredKeys[key] {
			if key == "description" {
				r.comment = strings.Join(toks[1:], " ")
			}
			return nil
		}
		return p.lr.errf("rule %s: unknown keyword %q", r.id, key)
	}
	return nil
}

func (p *hwParser) policyHead(toks []string) error {
	switch {
	case toks[0] == "default" && len(toks) == 3 && toks[1] == "action":
		switch toks[2] {
		case "permit":
			p.defAct = Accept
		case "deny":
			p.defAct = Drop
		default:
			return p.lr.errf("unknown default action %q", toks[2])
		}
		p.defLine = p.lr.line
		return nil
	case toks[0] == "default":
		return nil // default packet-filter logging and the like
	case toks[0] == "rule":
		r := &hwRule{line: p.lr.line, text: strings.Join(toks, " "), action: Drop}
		switch {
		case !p.h3c && len(toks) >= 3 && toks[1] == "name":
			r.id = toks[2]
		case p.h3c && len(toks) >= 2:
			r.id = toks[1]
			if len(toks) >= 4 && toks[2] == "name" {
				r.id = toks[3]
			}
		default:
			return p.lr.errf("rule needs a name")
		}
		if len(p.rules) >= MaxRules {
			return fmt.Errorf("%w: more than %d rules", ErrTooLarge, MaxRules)
		}
		p.rule = r
		p.rules = append(p.rules, r)
		return nil
	}
	return p.lr.errf("security-policy: unknown keyword %q", toks[0])
}

// aclLine reads an H3C advanced ACL rule:
// rule ID permit|deny PROTO [source A W|any] [source-port OP …]
// [destination A W|any] [destination-port OP …] [logging] [counting].
func (p *hwParser) aclLine(text string, toks []string) error {
	if toks[0] == "description" || toks[0] == "step" {
		return nil
	}
	if toks[0] != "rule" || len(toks) < 4 {
		return p.lr.errf("acl %s: unknown keyword %q", p.acl, toks[0])
	}
	r := &hwRule{line: p.lr.line, id: toks[1], text: text}
	switch toks[2] {
	case "permit":
		r.action = Accept
	case "deny":
		r.action = Drop
	default:
		return p.lr.errf("acl %s: expected permit or deny, got %q", p.acl, toks[2])
	}
	t, err := ciscoProtoTerm(toks[3])
	if err != nil {
		return p.lr.errf("%v", err)
	}
	for i := 4; i < len(toks); {
		k := toks[i]
		i++
		switch k {
		case "source", "destination":
			if i >= len(toks) {
				return p.lr.errf("%s needs an address", k)
			}
			ref := hwAddrRef{line: p.lr.line}
			if toks[i] == "any" {
				ref.list.all = true
				i++
			} else {
				if i+1 >= len(toks) {
					return p.lr.errf("%s needs an address and a wildcard", k)
				}
				w := toks[i+1]
				if w == "0" {
					w = "0.0.0.0"
				}
				pf, err := vendorWildcard(toks[i], w)
				if err != nil {
					return p.lr.errf("%v", err)
				}
				ref.list.addPrefix(pf, p.objs.fam)
				i += 2
			}
			if k == "source" {
				r.saddr = append(r.saddr, ref)
			} else {
				r.daddr = append(r.daddr, ref)
			}
		case "source-port", "destination-port":
			if t.proto.Any || !portProtos[t.proto.Num] {
				return p.lr.errf("ports need tcp, udp or sctp")
			}
			rg, n, err := vendorPortOp(toks, i)
			if err != nil {
				return p.lr.errf("%v", err)
			}
			if n == 0 {
				return p.lr.errf("%s needs eq, lt, gt, neq or range", k)
			}
			i += n
			if k == "source-port" {
				t.sport = rg
			} else {
				t.dport = rg
			}
		case "logging":
			r.logging = LogOn
		case "counting":
		case "established":
			if t.proto.Num != 6 || t.proto.Any {
				return p.lr.errf("established needs tcp")
			}
			r.est = true
		case "time-range", "vpn-instance", "dscp", "precedence", "tos", "fragment", "icmp-type", "source-mac", "user":
			r.skip = k + " matches are not modelled"
			i = len(toks)
		default:
			return p.lr.errf("acl %s: unknown keyword %q", p.acl, k)
		}
	}
	if !t.proto.Any {
		r.svcs = []hwSvcRef{{line: p.lr.line, term: &t}}
	}
	if len(p.aclRules[p.acl]) >= MaxRules {
		return fmt.Errorf("%w: more than %d rules", ErrTooLarge, MaxRules)
	}
	p.aclRules[p.acl] = append(p.aclRules[p.acl], r)
	return nil
}

// resolve turns a collected rule into a vendorRule.
func (p *hwParser) resolve(r *hwRule, chain string) (vendorRule, error) {
	v := vendorRule{chain: chain, id: r.id, text: r.text, line: r.line, comment: r.comment,
		action: r.action, logging: r.logging}
	v.profiles = r.prof
	if r.est {
		// "established" matches TCP segments with ACK or RST set; as for
		// IOS it is modelled as conntrack state ESTABLISHED.
		v.state = []StateMatch{{States: []ConnState{StateEstablished}}}
	}
	zones := func(z []string) *IfaceMatch {
		var names []string
		for _, n := range z {
			if n == "any" {
				return nil
			}
			names = append(names, p.rs.IfaceKey(n))
		}
		if len(names) == 0 {
			return nil
		}
		return &IfaceMatch{Name: names[0], Alt: names[1:]}
	}
	v.in, v.out = zones(r.src), zones(r.dst)
	for _, side := range []struct {
		refs []hwAddrRef
		list *addrList
	}{{r.saddr, &v.src}, {r.daddr, &v.dst}} {
		if len(side.refs) == 0 {
			side.list.all = true
		}
		for _, ref := range side.refs {
			if ref.group == "" {
				side.list.add(ref.list)
				continue
			}
			l, err := p.objs.addrs(ref.group, ref.line)
			if err != nil {
				return v, err
			}
			side.list.add(l)
		}
	}
	for _, s := range r.svcs {
		if s.term != nil {
			v.terms = append(v.terms, *s.term)
			continue
		}
		t, err := p.objs.services(s.name, s.line)
		if err != nil {
			return v, err
		}
		v.terms = append(v.terms, t...)
	}
	return v, nil
}

func (p *hwParser) add(r *hwRule, chain string) error {
	skip := func(reason string) error {
		p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: r.line, Reason: "rule " + r.id + ": " + reason})
		return nil
	}
	if r.skip != "" {
		return skip(r.skip)
	}
	if r.disable {
		p.rs.Observe(r.line, "disabled-rule", "low", "rule "+r.id+" is disabled")
		return nil
	}
	v, err := p.resolve(r, chain)
	var se *skipError
	if errors.As(err, &se) {
		return skip(se.reason)
	}
	if err != nil {
		return err
	}
	return p.rs.addVendorRule(v)
}

func (p *hwParser) build() error {
	if len(p.rules) > 0 || p.policyAt > 0 {
		chain := "security-policy"
		line := p.policyAt
		if p.defLine > 0 {
			line = p.defLine
		}
		if _, err := p.rs.AddChain(chain, p.defAct, line); err != nil {
			return err
		}
		for _, r := range p.rules {
			if err := p.add(r, chain); err != nil {
				return err
			}
		}
	}
	pol := Accept
	if p.pfDeny {
		pol = Drop
	}
	for _, name := range p.aclOrder {
		rules := p.aclRules[name]
		if len(rules) == 0 {
			continue
		}
		for _, tg := range ciscoTargets(p.rs, "acl-"+name, p.aclBinds[name]) {
			if _, err := p.rs.AddChain(tg.chain, pol, rules[0].line); err != nil {
				return err
			}
			for _, r := range rules {
				if r.skip != "" {
					p.rs.Skipped = append(p.rs.Skipped, Skipped{Line: r.line, Reason: "acl " + name + " rule " + r.id + ": " + r.skip})
					continue
				}
				v, err := p.resolve(r, tg.chain)
				if err != nil {
					return err
				}
				v.in, v.out = tg.in, tg.out
				if err := p.rs.addVendorRule(v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
