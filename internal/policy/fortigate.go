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

// fgNode is one "config" block or one "edit" entry of a FortiOS
// configuration.
type fgNode struct {
	line     int
	name     string // the config path, or the edit name
	edit     bool
	sets     map[string]fgSet
	children []*fgNode // edits of a config, nested configs of an edit
}

type fgSet struct {
	line int
	vals []string
}

// maxFgDepth bounds the nesting of config blocks.
const maxFgDepth = 32

// parseFgTree reads the config/edit/set/next/end structure.
func parseFgTree(lr *vendorLines) (*fgNode, error) {
	root := &fgNode{sets: map[string]fgSet{}}
	stack := []*fgNode{root}
	for lr.next() {
		line := strings.TrimSpace(lr.text)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		toks, err := vendorFields(line)
		if err != nil {
			return nil, lr.errf("%v", err)
		}
		top := stack[len(stack)-1]
		switch toks[0] {
		case "config":
			if len(toks) < 2 {
				return nil, lr.errf("config needs a path")
			}
			if len(stack) >= maxFgDepth {
				return nil, lr.errf("config nested deeper than %d", maxFgDepth)
			}
			n := &fgNode{line: lr.line, name: strings.Join(toks[1:], " "), sets: map[string]fgSet{}}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case "edit":
			if len(toks) != 2 || top.edit || top == root {
				return nil, lr.errf("edit outside a config block")
			}
			n := &fgNode{line: lr.line, name: toks[1], edit: true, sets: map[string]fgSet{}}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case "next":
			if !top.edit {
				return nil, lr.errf("next outside an edit")
			}
			stack = stack[:len(stack)-1]
		case "end":
			if top.edit { // "end" closes the edit and its config
				stack = stack[:len(stack)-1]
				top = stack[len(stack)-1]
			}
			if top == root {
				return nil, lr.errf("end outside a config block")
			}
			stack = stack[:len(stack)-1]
		case "set", "append":
			if len(toks) < 2 {
				return nil, lr.errf("%s needs a key", toks[0])
			}
			if top == root {
				return nil, lr.errf("%s outside a config block", toks[0])
			}
			s := top.sets[toks[1]]
			if toks[0] == "set" {
				s.vals = nil
			}
			s.line = lr.line
			s.vals = append(s.vals, toks[2:]...)
			top.sets[toks[1]] = s
		case "unset":
			if len(toks) >= 2 {
				delete(top.sets, toks[1])
			}
		default:
			return nil, lr.errf("unknown FortiOS statement %q", toks[0])
		}
	}
	if err := lr.done(); err != nil {
		return nil, err
	}
	if len(stack) > 1 {
		return nil, &ParseError{Line: max(lr.line, 1), Msg: fmt.Sprintf("config %q (line %d) has no end", stack[1].name, stack[1].line)}
	}
	return root, nil
}

// walk calls fn for every config block, depth first (VDOM configurations
// nest the firewall sections under "config vdom" / "edit NAME").
func (n *fgNode) walk(fn func(c *fgNode) error) error {
	for _, c := range n.children {
		if !c.edit {
			if err := fn(c); err != nil {
				return err
			}
		}
		if err := c.walk(fn); err != nil {
			return err
		}
	}
	return nil
}

// fortiServices are FortiOS's predefined services, used when the
// configuration does not define them itself (it usually writes them out
// under "config firewall service custom"). Entries with an ICMP type
// are not modelled.
var fortiServices = map[string][]svcTerm{
	"ALL":      {{proto: ProtoMatch{Any: true}}},
	"ALL_TCP":  {fgTerm(6, 1, 65535)},
	"ALL_UDP":  {fgTerm(17, 1, 65535)},
	"ALL_ICMP": {{proto: ProtoMatch{Num: 1}}},
	"HTTP":     {fgTerm(6, 80, 80)},
	"HTTPS":    {fgTerm(6, 443, 443)},
	"SSH":      {fgTerm(6, 22, 22)},
	"TELNET":   {fgTerm(6, 23, 23)},
	"FTP":      {fgTerm(6, 21, 21)},
	"DNS":      {fgTerm(6, 53, 53), fgTerm(17, 53, 53)},
	"SMTP":     {fgTerm(6, 25, 25)},
	"SMTPS":    {fgTerm(6, 465, 465)},
	"POP3":     {fgTerm(6, 110, 110)},
	"IMAP":     {fgTerm(6, 143, 143)},
	"NTP":      {fgTerm(6, 123, 123), fgTerm(17, 123, 123)},
	"SNMP":     {fgTerm(6, 161, 162), fgTerm(17, 161, 162)},
	"RDP":      {fgTerm(6, 3389, 3389)},
	"SAMBA":    {fgTerm(6, 139, 139)},
	"SMB":      {fgTerm(6, 445, 445)},
	"MYSQL":    {fgTerm(6, 3306, 3306)},
	"MS-SQL":   {fgTerm(6, 1433, 1434)},
	"LDAP":     {fgTerm(6, 389, 389)},
	"SYSLOG":   {fgTerm(17, 514, 514)},
	"BGP":      {fgTerm(6, 179, 179)},
	"PING":     {{proto: ProtoMatch{Num: 1}, unmodelled: "ICMP type 8 (echo request) not modelled"}},
}

func fgTerm(proto uint8, from, to uint16) svcTerm {
	return svcTerm{proto: ProtoMatch{Num: proto}, dport: []PortRange{{from, to}}}
}

// fortiProfileKeys are the policy settings that attach a security profile.
var fortiProfileKeys = map[string]string{
	"av-profile": "av", "ips-sensor": "ips", "webfilter-profile": "webfilter",
	"application-list": "app", "dnsfilter-profile": "dnsfilter", "emailfilter-profile": "emailfilter",
	"dlp-sensor": "dlp", "dlp-profile": "dlp", "file-filter-profile": "file-filter", "waf-profile": "waf",
	"voip-profile": "voip", "icap-profile": "icap", "ssh-filter-profile": "ssh-filter",
	"videofilter-profile": "videofilter", "casb-profile": "casb", "profile-group": "profile-group",
}

// fortiIgnoredPolicyKeys do not change which packets a policy matches or
// what it does with them.
var fortiIgnoredPolicyKeys = map[string]bool{
	"name": true, "uuid": true, "comments": true, "nat": true, "ippool": true, "poolname": true,
	"inspection-mode": true, "ssl-ssh-profile": true, "profile-type": true, "profile-protocol-options": true,
	"logtraffic-start": true, "match-vip": true, "global-label": true, "label": true, "tcp-session-without-syn": true,
	"auto-asic-offload": true, "np-acceleration": true, "natip": true, "fixedport": true, "permit-any-host": true,
	"capture-packet": true, "srcaddr6": true, "dstaddr6": true, "srcaddr": true, "dstaddr": true,
	"srcintf": true, "dstintf": true, "service": true, "action": true, "status": true, "schedule": true,
	"logtraffic": true, "utm-status": true, "srcaddr-negate": true, "dstaddr-negate": true, "policyid": true,
	"anti-replay": true, "block-notification": true, "timeout-send-rst": true, "send-deny-packet": true,
}

// ParseFortiGate parses a FortiGate (FortiOS) configuration backup:
// firewall addresses and address groups, custom services and service
// groups, and the firewall policy list, which becomes one chain "policy"
// in the order listed with FortiOS's implicit deny as policy.
//
// srcintf and dstintf become the In and Out conditions (several names as
// IfaceMatch.Alt; "any" is no condition); srcaddr-negate and
// dstaddr-negate negate the address conditions. Disabled policies are
// Observations ("disabled-rule") and not added; "logtraffic disable" sets
// Logging off and, on an accept policy, adds an Observation
// "logging-disabled"; security profiles of a policy with utm-status enable
// become Rule.Profiles. Predefined services not written out in the file
// come from a documented table (fortiServices). FQDN, geography and
// wildcard addresses, ICMP types, schedules other than "always", user and
// internet-service matches and negated services cannot be modelled: the
// policies using them are recorded in Skipped. An unknown setting in a
// policy, address or service is an error naming its line. An interface
// with role wan that allows http or telnet administration gives an
// Observation "admin-access-untrusted".
func ParseFortiGate(r io.Reader, fam Family) (*RuleSet, error) {
	rs, err := NewRuleSet(fam, "fortigate")
	if err != nil {
		return nil, err
	}
	root, err := parseFgTree(newVendorLines(r))
	if err != nil {
		return nil, err
	}
	objs := newObjStore(fam)
	objs.builtin = func(kind objKind, name string) (*objDef, bool) {
		if kind == objAddr && name == "all" {
			d := &objDef{kind: objAddr, name: name}
			d.addrs.all = true
			return d, true
		}
		if kind == objSvc {
			if t, ok := fortiServices[name]; ok {
				return &objDef{kind: objSvc, name: name, terms: t}, true
			}
		}
		return nil, false
	}
	addrSect, grpSect := "firewall address", "firewall addrgrp"
	if fam == IPv6 {
		addrSect, grpSect = "firewall address6", "firewall addrgrp6"
	}
	var policies []*fgNode
	err = root.walk(func(c *fgNode) error {
		switch c.name {
		case "system global":
			if s, ok := c.sets["hostname"]; ok && len(s.vals) > 0 {
				rs.Hostname = s.vals[0]
			}
		case "system interface":
			fortiAdmin(rs, c)
		case addrSect:
			return fortiAddresses(objs, c)
		case grpSect:
			return fortiGroups(objs, objAddr, c)
		case "firewall service custom":
			return fortiCustomServices(objs, c)
		case "firewall service group":
			return fortiGroups(objs, objSvc, c)
		case "firewall policy":
			policies = append(policies, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := objs.checkAll(); err != nil {
		return nil, err
	}
	rs.HasProfiles = true
	if len(policies) > 0 {
		if _, err := rs.AddChain("policy", Drop, policies[0].line); err != nil {
			return nil, err
		}
	}
	for _, c := range policies {
		for _, e := range c.children {
			if !e.edit {
				continue
			}
			if err := fortiPolicy(rs, objs, e); err != nil {
				return nil, err
			}
		}
	}
	sortNotes(rs)
	if err := rs.Finish(); err != nil {
		return nil, err
	}
	return rs, nil
}

func fgErr(line int, format string, a ...any) error {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, a...)}
}

// fgKeys returns the settings of e in the order of their lines.
func fgKeys(e *fgNode) []string {
	keys := make([]string, 0, len(e.sets))
	for k := range e.sets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := e.sets[a].line - e.sets[b].line; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return keys
}

// fgOne returns the single value of a setting.
func fgOne(e *fgNode, key string) (string, int, bool) {
	s, ok := e.sets[key]
	if !ok || len(s.vals) == 0 {
		return "", 0, false
	}
	return s.vals[0], s.line, true
}

func fortiAdmin(rs *RuleSet, c *fgNode) {
	for _, e := range c.children {
		role, _, _ := fgOne(e, "role")
		acc, ok := e.sets["allowaccess"]
		if !ok || role != "wan" {
			continue
		}
		var weak []string
		for _, a := range acc.vals {
			if a == "http" || a == "telnet" {
				weak = append(weak, a)
			}
		}
		if len(weak) > 0 {
			rs.Observe(acc.line, "admin-access-untrusted", "high",
				fmt.Sprintf("interface %s (role wan) allows %s administration", e.name, strings.Join(weak, " and ")))
		}
	}
}

func fortiAddresses(objs *objStore, c *fgNode) error {
	for _, e := range c.children {
		if !e.edit {
			continue
		}
		d, err := objs.define(objAddr, e.name, e.line)
		if err != nil {
			return err
		}
		typ, _, _ := fgOne(e, "type")
		for _, key := range fgKeys(e) {
			s := e.sets[key]
			switch key {
			case "uuid", "comment", "color", "allow-routing", "visibility", "fabric-object", "associated-interface",
				"type", "start-ip", "end-ip", "fqdn", "country", "wildcard", "interface", "sub-type", "cache-ttl", "start-mac", "end-mac", "macaddr":
			case "subnet", "ip6":
				if typ != "" && typ != "ipmask" && typ != "interface-subnet" && typ != "ipprefix" {
					return fgErr(s.line, "address %s: %s with type %s", e.name, key, typ)
				}
				var pf netip.Prefix
				switch len(s.vals) {
				case 1:
					pf, err = vendorPrefix(s.vals[0])
				case 2:
					pf, err = vendorMask(s.vals[0], s.vals[1])
				default:
					err = errors.New("expected ADDRESS MASK or ADDRESS/LEN")
				}
				if err != nil {
					return fgErr(s.line, "address %s: %v", e.name, err)
				}
				d.addrs.addPrefix(pf, objs.fam)
			default:
				return fgErr(s.line, "address %s: unknown setting %q", e.name, key)
			}
		}
		switch typ {
		case "", "ipmask", "interface-subnet", "ipprefix":
			if _, ok := e.sets["subnet"]; !ok {
				if _, ok6 := e.sets["ip6"]; !ok6 {
					// FortiOS's default subnet is 0.0.0.0/0.
					d.addrs.all = true
				}
			}
		case "iprange":
			from, l1, ok1 := fgOne(e, "start-ip")
			to, l2, ok2 := fgOne(e, "end-ip")
			if !ok1 || !ok2 {
				return fgErr(e.line, "address %s: iprange needs start-ip and end-ip", e.name)
			}
			a, err1 := netip.ParseAddr(from)
			b, err2 := netip.ParseAddr(to)
			if err1 != nil || err2 != nil {
				return fgErr(max(l1, l2), "address %s: bad range %s-%s", e.name, from, to)
			}
			if err := d.addrs.addRange(a, b, objs.fam); err != nil {
				return fgErr(max(l1, l2), "address %s: %v", e.name, err)
			}
		case "fqdn", "geography", "wildcard", "wildcard-fqdn", "dynamic", "mac", "route-tag":
			d.unmodelled = typ + " addresses are resolved by the device; not modelled"
		default:
			return fgErr(e.line, "address %s: unknown type %q", e.name, typ)
		}
	}
	return nil
}

func fortiGroups(objs *objStore, kind objKind, c *fgNode) error {
	for _, e := range c.children {
		if !e.edit {
			continue
		}
		d, err := objs.define(kind, e.name, e.line)
		if err != nil {
			return err
		}
		for _, key := range fgKeys(e) {
			s := e.sets[key]
			switch key {
			case "member":
				d.members = append(d.members, s.vals...)
			case "exclude":
				if len(s.vals) > 0 && s.vals[0] == "enable" {
					d.unmodelled = "address group with excluded members not modelled"
				}
			case "uuid", "comment", "color", "allow-routing", "visibility", "fabric-object", "proxy", "exclude-member", "category", "type":
			default:
				return fgErr(s.line, "group %s: unknown setting %q", e.name, key)
			}
		}
	}
	return nil
}

func fortiCustomServices(objs *objStore, c *fgNode) error {
	for _, e := range c.children {
		if !e.edit {
			continue
		}
		d, err := objs.define(objSvc, e.name, e.line)
		if err != nil {
			return err
		}
		proto, _, _ := fgOne(e, "protocol")
		for _, key := range fgKeys(e) {
			s := e.sets[key]
			switch key {
			case "uuid", "comment", "color", "category", "visibility", "proxy", "protocol", "app-service-type",
				"session-ttl", "check-reset-range", "tcp-halfclose-timer", "tcp-halfopen-timer", "tcp-timewait-timer",
				"tcp-rst-timer", "udp-idle-timer", "fabric-object", "helper", "icmpcode", "protocol-number", "icmptype":
			case "tcp-portrange", "udp-portrange", "sctp-portrange":
				if proto != "" && proto != "TCP/UDP/SCTP" && proto != "TCP/UDP/UDP-Lite/SCTP" {
					return fgErr(s.line, "service %s: %s with protocol %s", e.name, key, proto)
				}
				num := map[string]uint8{"tcp-portrange": 6, "udp-portrange": 17, "sctp-portrange": 132}[key]
				for _, v := range s.vals {
					t, err := fortiPortRange(num, v)
					if err != nil {
						return fgErr(s.line, "service %s: %v", e.name, err)
					}
					d.terms = append(d.terms, t)
				}
			case "iprange", "fqdn":
				if len(s.vals) > 0 && s.vals[0] != "0.0.0.0" && s.vals[0] != "" {
					d.unmodelled = "service restricted to " + key + " " + s.vals[0] + " not modelled"
				}
			default:
				return fgErr(s.line, "service %s: unknown setting %q", e.name, key)
			}
		}
		switch proto {
		case "", "TCP/UDP/SCTP", "TCP/UDP/UDP-Lite/SCTP":
			if len(d.terms) == 0 {
				return fgErr(e.line, "service %s has no port range", e.name)
			}
		case "ICMP", "ICMP6":
			t := svcTerm{proto: ProtoMatch{Num: 1}}
			if proto == "ICMP6" {
				t.proto.Num = 58
			}
			if v, _, ok := fgOne(e, "icmptype"); ok {
				t.unmodelled = "ICMP type " + v + " not modelled"
			}
			d.terms = append(d.terms, t)
		case "IP":
			t := svcTerm{proto: ProtoMatch{Any: true}}
			if v, l, ok := fgOne(e, "protocol-number"); ok {
				n, err := strconv.ParseUint(v, 10, 8)
				if err != nil {
					return fgErr(l, "service %s: bad protocol-number %q", e.name, v)
				}
				if n != 0 {
					t.proto = ProtoMatch{Num: uint8(n)}
				}
			}
			d.terms = append(d.terms, t)
		case "ALL":
			d.terms = append(d.terms, svcTerm{proto: ProtoMatch{Any: true}})
		default:
			d.unmodelled = "protocol " + proto + " services not modelled"
		}
	}
	return nil
}

// fortiPortRange parses "DLO[-DHI][:SLO[-SHI]]".
func fortiPortRange(proto uint8, v string) (svcTerm, error) {
	dst, src, hasSrc := strings.Cut(v, ":")
	t := svcTerm{proto: ProtoMatch{Num: proto}}
	rg := func(s string) (PortRange, error) {
		lo, hi, isRange := strings.Cut(s, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return PortRange{}, fmt.Errorf("bad port range %q", v)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return PortRange{}, fmt.Errorf("bad port range %q", v)
			}
		}
		return PortRange{uint16(a), uint16(b)}, nil
	}
	d, err := rg(dst)
	if err != nil {
		return t, err
	}
	t.dport = []PortRange{d}
	if hasSrc {
		s, err := rg(src)
		if err != nil {
			return t, err
		}
		t.sport = []PortRange{s}
	}
	return t, nil
}

func fortiPolicy(rs *RuleSet, objs *objStore, e *fgNode) error {
	name, _, _ := fgOne(e, "name")
	v := vendorRule{chain: "policy", id: e.name, line: e.line, text: "policy " + e.name}
	if name != "" {
		v.text += " " + strconv.Quote(name)
	}
	if c, _, ok := fgOne(e, "comments"); ok {
		v.comment = c
	}
	skip := func(reason string) error {
		rs.Skipped = append(rs.Skipped, Skipped{Line: e.line, Reason: v.text + ": " + reason})
		return nil
	}
	keys := fgKeys(e)
	utm, _, _ := fgOne(e, "utm-status")
	for _, k := range keys {
		s := e.sets[k]
		if kind, ok := fortiProfileKeys[k]; ok {
			if utm == "enable" && len(s.vals) > 0 {
				v.profiles = append(v.profiles, kind+":"+s.vals[0])
			}
			continue
		}
		switch k {
		case "groups", "users", "fsso-groups":
			return skip("user-based matches are not modelled")
		case "internet-service", "internet-service-src":
			if len(s.vals) > 0 && s.vals[0] == "enable" {
				return skip("internet-service matches are not modelled")
			}
			continue
		case "service-negate":
			if len(s.vals) > 0 && s.vals[0] == "enable" {
				return skip("negated services are not modelled")
			}
			continue
		}
		if !fortiIgnoredPolicyKeys[k] {
			return fgErr(s.line, "policy %s: unknown setting %q", e.name, k)
		}
	}
	if st, _, _ := fgOne(e, "status"); st == "disable" {
		rs.Observe(e.line, "disabled-rule", "low", v.text+" is disabled")
		return nil
	}
	act, l, _ := fgOne(e, "action")
	switch act {
	case "accept":
		v.action = Accept
	case "deny", "": // FortiOS's default action is deny
		v.action = Drop
	case "ipsec":
		return skip("ipsec policies are not modelled")
	default:
		return fgErr(l, "policy %s: unknown action %q", e.name, act)
	}
	if sch, _, ok := fgOne(e, "schedule"); ok && sch != "always" {
		return skip("schedule " + sch + " not modelled")
	}
	switch lt, _, _ := fgOne(e, "logtraffic"); lt {
	case "all", "utm":
		v.logging = LogOn
	case "disable":
		v.logging = LogOff
		if v.action == Accept {
			rs.Observe(e.line, "logging-disabled", "medium", v.text+" accepts traffic without logging it")
		}
	}
	var err error
	if v.in, err = fortiIfaces(rs, e, "srcintf"); err != nil {
		return err
	}
	if v.out, err = fortiIfaces(rs, e, "dstintf"); err != nil {
		return err
	}
	srcKey, dstKey := "srcaddr", "dstaddr"
	if rs.Family == IPv6 {
		srcKey, dstKey = "srcaddr6", "dstaddr6"
	}
	var se *skipError
	for _, side := range []struct {
		key  string
		list *addrList
		neg  *bool
	}{{srcKey, &v.src, &v.srcNeg}, {dstKey, &v.dst, &v.dstNeg}} {
		s, ok := e.sets[side.key]
		if !ok || len(s.vals) == 0 {
			if rs.Family == IPv6 {
				return nil // an IPv4-only policy
			}
			return fgErr(e.line, "policy %s: no %s", e.name, side.key)
		}
		for _, n := range s.vals {
			l, err := objs.addrs(n, s.line)
			if errors.As(err, &se) {
				return skip(se.reason)
			}
			if err != nil {
				return err
			}
			side.list.add(l)
		}
		if neg, _, _ := fgOne(e, strings.TrimSuffix(side.key, "6")+"-negate"); neg == "enable" {
			*side.neg = true
		}
	}
	svc, ok := e.sets["service"]
	if !ok || len(svc.vals) == 0 {
		return fgErr(e.line, "policy %s: no service", e.name)
	}
	for _, n := range svc.vals {
		t, err := objs.services(n, svc.line)
		if errors.As(err, &se) {
			return skip(se.reason)
		}
		if err != nil {
			return err
		}
		v.terms = append(v.terms, t...)
	}
	return rs.addVendorRule(v)
}

func fortiIfaces(rs *RuleSet, e *fgNode, key string) (*IfaceMatch, error) {
	s, ok := e.sets[key]
	if !ok || len(s.vals) == 0 {
		return nil, fgErr(e.line, "policy %s: no %s", e.name, key)
	}
	var names []string
	for _, n := range s.vals {
		if n == "any" {
			return nil, nil
		}
		names = append(names, rs.IfaceKey(n))
	}
	return &IfaceMatch{Name: names[0], Alt: names[1:]}, nil
}
