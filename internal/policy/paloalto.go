package policy

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// panNode is one element of a PAN-OS XML configuration.
type panNode struct {
	name string
	attr string // the "name" attribute of an <entry>
	text string
	line int
	kids []*panNode
}

func (n *panNode) child(name string) *panNode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// path follows child elements by name.
func (n *panNode) path(names ...string) *panNode {
	for _, s := range names {
		n = n.child(s)
	}
	return n
}

// entries returns the <entry> children.
func (n *panNode) entries() []*panNode {
	if n == nil {
		return nil
	}
	var out []*panNode
	for _, k := range n.kids {
		if k.name == "entry" {
			out = append(out, k)
		}
	}
	return out
}

// members returns the texts of the <member> children.
func (n *panNode) members() []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, k := range n.kids {
		if k.name == "member" {
			out = append(out, strings.TrimSpace(k.text))
		}
	}
	return out
}

func (n *panNode) value() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text)
}

// XML bounds.
const (
	maxPanDepth = 64
	maxPanNodes = 4_000_000
)

// parsePanXML reads the document into a tree, refusing DTDs and entity
// declarations (no XXE) and bounding size, depth and element count.
func parsePanXML(r io.Reader) (*panNode, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read: %w", err)
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxInputBytes)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var (
		root  *panNode
		stack []*panNode
		count int
	)
	line := func() int {
		l, _ := dec.InputPos()
		return max(l, 1)
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &ParseError{Line: line(), Msg: "xml: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, &ParseError{Line: line(), Msg: "DTD and entity declarations are refused"}
		case xml.StartElement:
			count++
			if count > maxPanNodes {
				return nil, fmt.Errorf("%w: more than %d XML elements", ErrTooLarge, maxPanNodes)
			}
			if len(stack) >= maxPanDepth {
				return nil, &ParseError{Line: line(), Msg: fmt.Sprintf("XML nested deeper than %d", maxPanDepth)}
			}
			n := &panNode{name: t.Name.Local, line: line()}
			for _, a := range t.Attr {
				if a.Name.Local == "name" {
					n.attr = a.Value
				}
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, &ParseError{Line: n.line, Msg: "second root element"}
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil || root.name != "config" {
		return nil, &ParseError{Line: 1, Msg: "not a PAN-OS configuration (no <config> root)"}
	}
	return root, nil
}

// panServices are PAN-OS's predefined services.
var panServices = map[string][]svcTerm{
	"service-http":  {{proto: ProtoMatch{Num: 6}, dport: []PortRange{{80, 80}, {8080, 8080}}}},
	"service-https": {fgTerm(6, 443, 443)},
}

// panRuleKeys are the rule elements that do not change what the rule
// matches or does, or that are checked separately.
var panRuleKeys = map[string]bool{
	"from": true, "to": true, "source": true, "destination": true, "service": true, "application": true,
	"action": true, "disabled": true, "log-end": true, "log-start": true, "log-setting": true,
	"profile-setting": true, "description": true, "tag": true, "negate-source": true,
	"negate-destination": true, "rule-type": true, "source-user": true, "category": true,
	"hip-profiles": true, "source-hip": true, "destination-hip": true, "option": true, "group-tag": true,
	"target": true, "schedule": true, "qos": true, "icmp-unreachable": true, "uuid": true,
}

// ParsePaloAltoXML parses a PAN-OS XML configuration export (running or
// candidate config): address objects and groups, service objects and
// groups (vsys and shared) and the security rulebase of each vsys, which
// becomes a chain named after the vsys.
//
// from and to zones are the In and Out conditions; negate-source and
// negate-destination negate the address conditions. allow is Accept, deny
// and drop are Drop, reset-* are Reject. Disabled rules are Observations
// ("disabled-rule"); log-end no sets Logging off and, on allow rules, adds
// an Observation "logging-disabled"; security profiles (or a profile
// group) become Rule.Profiles. After the rules come PAN-OS's default
// rules: intrazone traffic allowed (one rule per zone of the vsys) and
// interzone traffic denied (the chain policy), with their actions as
// overridden under default-security-rules.
//
// App-ID cannot be modelled: a rule whose application is not "any", whose
// service is application-default, or that matches users, URL categories,
// HIP profiles, schedules, FQDN or dynamic addresses is recorded in
// Skipped, never analysed with a weaker match. Rule types intrazone and
// interzone are modelled only where they equal a universal rule. An
// unknown element inside a rule is an error naming its line. DTDs and
// entity declarations are refused.
func ParsePaloAltoXML(r io.Reader, fam Family) (*RuleSet, error) {
	rs, err := NewRuleSet(fam, "paloalto-xml")
	if err != nil {
		return nil, err
	}
	root, err := parsePanXML(r)
	if err != nil {
		return nil, err
	}
	return panBuild(rs, root)
}

// panBuild maps a PAN-OS configuration tree onto rs.
func panBuild(rs *RuleSet, root *panNode) (*RuleSet, error) {
	fam := rs.Family
	shared := newObjStore(fam)
	shared.builtin = func(kind objKind, name string) (*objDef, bool) {
		if t, ok := panServices[name]; ok && kind == objSvc {
			return &objDef{kind: objSvc, name: name, terms: t}, true
		}
		return nil, false
	}
	if err := panObjects(shared, root.child("shared")); err != nil {
		return nil, err
	}
	if err := shared.checkAll(); err != nil {
		return nil, err
	}
	rs.HasProfiles = true
	for _, dev := range root.path("devices").entries() {
		if h := dev.path("deviceconfig", "system", "hostname").value(); h != "" && rs.Hostname == "" {
			rs.Hostname = h
		}
		for _, vsys := range dev.child("vsys").entries() {
			objs := newObjStore(fam)
			objs.builtin = shared.lookup
			if err := panObjects(objs, vsys); err != nil {
				return nil, err
			}
			if err := objs.checkAll(); err != nil {
				return nil, err
			}
			if err := panRulebase(rs, objs, vsys); err != nil {
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

// panObjects reads the address, address-group, service and service-group
// entries under n (a vsys or shared).
func panObjects(objs *objStore, n *panNode) error {
	if n == nil {
		return nil
	}
	for _, e := range n.child("address").entries() {
		d, err := objs.define(objAddr, e.attr, e.line)
		if err != nil {
			return err
		}
		for _, k := range e.kids {
			switch k.name {
			case "ip-netmask":
				pf, err := vendorPrefix(k.value())
				if err != nil {
					return &ParseError{Line: k.line, Msg: fmt.Sprintf("address %s: %v", e.attr, err)}
				}
				d.addrs.addPrefix(pf, objs.fam)
			case "ip-range":
				a, b, ok := strings.Cut(k.value(), "-")
				x, err1 := netip.ParseAddr(a)
				y, err2 := netip.ParseAddr(b)
				if !ok || err1 != nil || err2 != nil {
					return &ParseError{Line: k.line, Msg: fmt.Sprintf("address %s: bad range %q", e.attr, k.value())}
				}
				if err := d.addrs.addRange(x, y, objs.fam); err != nil {
					return &ParseError{Line: k.line, Msg: fmt.Sprintf("address %s: %v", e.attr, err)}
				}
			case "fqdn", "ip-wildcard":
				d.unmodelled = k.name + " " + k.value() + " not modelled"
			case "description", "tag":
			default:
				return &ParseError{Line: k.line, Msg: fmt.Sprintf("address %s: unknown element <%s>", e.attr, k.name)}
			}
		}
	}
	for _, e := range n.child("address-group").entries() {
		d, err := objs.define(objAddr, e.attr, e.line)
		if err != nil {
			return err
		}
		for _, k := range e.kids {
			switch k.name {
			case "static":
				d.members = append(d.members, k.members()...)
			case "dynamic":
				d.unmodelled = "dynamic address group not modelled"
			case "description", "tag":
			default:
				return &ParseError{Line: k.line, Msg: fmt.Sprintf("address-group %s: unknown element <%s>", e.attr, k.name)}
			}
		}
	}
	for _, e := range n.child("external-list").entries() {
		d, err := objs.define(objAddr, e.attr, e.line)
		if err != nil {
			return err
		}
		d.unmodelled = "external dynamic list not modelled"
	}
	for _, e := range n.child("service").entries() {
		d, err := objs.define(objSvc, e.attr, e.line)
		if err != nil {
			return err
		}
		for _, k := range e.kids {
			switch k.name {
			case "protocol":
				for _, pk := range k.kids {
					num := map[string]uint8{"tcp": 6, "udp": 17, "sctp": 132}[pk.name]
					if num == 0 {
						return &ParseError{Line: pk.line, Msg: fmt.Sprintf("service %s: unknown protocol <%s>", e.attr, pk.name)}
					}
					t := svcTerm{proto: ProtoMatch{Num: num}}
					for _, f := range pk.kids {
						switch f.name {
						case "port", "source-port":
							rg, err := panPorts(f.value())
							if err != nil {
								return &ParseError{Line: f.line, Msg: fmt.Sprintf("service %s: %v", e.attr, err)}
							}
							if f.name == "port" {
								t.dport = rg
							} else {
								t.sport = rg
							}
						case "override":
						default:
							return &ParseError{Line: f.line, Msg: fmt.Sprintf("service %s: unknown element <%s>", e.attr, f.name)}
						}
					}
					if t.dport == nil {
						return &ParseError{Line: pk.line, Msg: fmt.Sprintf("service %s: no port", e.attr)}
					}
					d.terms = append(d.terms, t)
				}
			case "description", "tag":
			default:
				return &ParseError{Line: k.line, Msg: fmt.Sprintf("service %s: unknown element <%s>", e.attr, k.name)}
			}
		}
	}
	for _, e := range n.child("service-group").entries() {
		d, err := objs.define(objSvc, e.attr, e.line)
		if err != nil {
			return err
		}
		d.members = append(d.members, e.child("members").members()...)
	}
	return nil
}

// panPorts parses "80,8080,1000-2000".
func panPorts(s string) ([]PortRange, error) {
	var out []PortRange
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("bad port %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("bad port range %q", part)
			}
		}
		out = append(out, PortRange{uint16(a), uint16(b)})
	}
	return out, nil
}

func panRulebase(rs *RuleSet, objs *objStore, vsys *panNode) error {
	rb := vsys.path("rulebase", "security")
	if rb == nil {
		return nil
	}
	rules := rb.child("rules").entries()
	chain := vsys.attr
	if _, err := rs.AddChain(chain, Drop, rb.line); err != nil {
		return err
	}
	intra := Accept
	intraLine := rb.line
	for _, d := range rb.path("default-security-rules", "rules").entries() {
		a, err := panAction(d.child("action"))
		if err != nil {
			return err
		}
		if a == None {
			continue
		}
		switch d.attr {
		case "intrazone-default":
			intra, intraLine = a, d.line
		case "interzone-default":
			rs.Chain(chain).Policy, rs.Chain(chain).PolicyLine = a, d.line
		}
	}
	for _, e := range rules {
		if err := panRule(rs, objs, chain, e); err != nil {
			return err
		}
	}
	zs := vsys.child("zone").entries()
	for i, z := range zs {
		k := rs.IfaceKey(z.attr)
		r := &Rule{Chain: chain, Line: intraLine, Text: "intrazone-default", ID: "intrazone-default",
			Action: intra, Proto: ProtoMatch{Any: true}, In: &IfaceMatch{Name: k}, Out: &IfaceMatch{Name: k}}
		if len(zs) > 1 {
			r.Part = i + 1
		}
		if err := rs.AddRule(r); err != nil {
			return err
		}
	}
	return nil
}

// panAction maps a rule action; None when the element is absent.
func panAction(n *panNode) (Action, error) {
	if n == nil {
		return None, nil
	}
	switch n.value() {
	case "allow":
		return Accept, nil
	case "deny", "drop":
		return Drop, nil
	case "reset-client", "reset-server", "reset-both":
		return Reject, nil
	}
	return None, &ParseError{Line: n.line, Msg: fmt.Sprintf("unknown action %q", n.value())}
}

func panAny(n *panNode) bool {
	m := n.members()
	return n == nil || (len(m) == 1 && m[0] == "any")
}

func panRule(rs *RuleSet, objs *objStore, chain string, e *panNode) error {
	v := vendorRule{chain: chain, id: e.attr, line: e.line, text: "rule " + strconv.Quote(e.attr),
		comment: e.child("description").value(), logging: LogOn}
	skip := func(reason string) error {
		rs.Skipped = append(rs.Skipped, Skipped{Line: e.line, Reason: v.text + ": " + reason})
		return nil
	}
	for _, k := range e.kids {
		if !panRuleKeys[k.name] {
			return &ParseError{Line: k.line, Msg: fmt.Sprintf("rule %s: unknown element <%s>", e.attr, k.name)}
		}
	}
	if e.child("disabled").value() == "yes" {
		rs.Observe(e.line, "disabled-rule", "low", v.text+" is disabled")
		return nil
	}
	a, err := panAction(e.child("action"))
	if err != nil {
		return err
	}
	if a == None {
		return &ParseError{Line: e.line, Msg: fmt.Sprintf("rule %s has no action", e.attr)}
	}
	v.action = a
	for _, k := range []string{"source-user", "category", "hip-profiles", "source-hip", "destination-hip"} {
		if !panAny(e.child(k)) {
			return skip(k + " matches are not modelled")
		}
	}
	if e.child("schedule") != nil {
		return skip("schedules are not modelled")
	}
	if !panAny(e.child("application")) {
		return skip("application matches (App-ID) are not modelled")
	}
	if e.child("log-end").value() == "no" {
		v.logging = LogOff
		if a == Accept {
			rs.Observe(e.line, "logging-disabled", "medium", v.text+" allows traffic without logging it")
		}
	}
	ps := e.child("profile-setting")
	for _, g := range ps.path("group").members() {
		v.profiles = append(v.profiles, "group:"+g)
	}
	if pr := ps.child("profiles"); pr != nil {
		for _, k := range pr.kids {
			for _, m := range k.members() {
				v.profiles = append(v.profiles, k.name+":"+m)
			}
		}
	}
	zones := func(n *panNode) *IfaceMatch {
		if panAny(n) {
			return nil
		}
		var ks []string
		for _, m := range n.members() {
			ks = append(ks, rs.IfaceKey(m))
		}
		return &IfaceMatch{Name: ks[0], Alt: ks[1:]}
	}
	from, to := e.child("from"), e.child("to")
	if len(from.members()) == 0 || len(to.members()) == 0 {
		return &ParseError{Line: e.line, Msg: fmt.Sprintf("rule %s needs from and to zones", e.attr)}
	}
	v.in, v.out = zones(from), zones(to)
	switch rt := e.child("rule-type").value(); rt {
	case "", "universal":
	case "intrazone", "interzone":
		fm, tm := from.members(), to.members()
		same := len(fm) == 1 && len(tm) == 1 && fm[0] == tm[0] && fm[0] != "any"
		if rt == "intrazone" && !(len(fm) == 1 && fm[0] != "any" && (panAny(to) || same)) {
			return skip("intrazone rule over several zones not modelled")
		}
		if rt == "intrazone" {
			v.out = v.in
		}
		if rt == "interzone" {
			for _, x := range fm {
				for _, y := range tm {
					if x == y || x == "any" || y == "any" {
						return skip("interzone rule whose zones overlap not modelled")
					}
				}
			}
		}
	default:
		return &ParseError{Line: e.line, Msg: fmt.Sprintf("rule %s: unknown rule-type %q", e.attr, rt)}
	}
	var se *skipError
	for _, side := range []struct {
		node *panNode
		list *addrList
		neg  *bool
		flag string
	}{{e.child("source"), &v.src, &v.srcNeg, "negate-source"}, {e.child("destination"), &v.dst, &v.dstNeg, "negate-destination"}} {
		ms := side.node.members()
		if len(ms) == 0 {
			return &ParseError{Line: e.line, Msg: fmt.Sprintf("rule %s has no %s", e.attr, side.flag[len("negate-"):])}
		}
		for _, m := range ms {
			if m == "any" {
				side.list.all = true
				continue
			}
			if _, ok := objs.lookup(objAddr, m); !ok {
				if l, ok := panLiteral(m, objs.fam); ok {
					side.list.add(l)
					continue
				}
				return skip(fmt.Sprintf("address %q is neither an object nor an address (a region or list?); not modelled", m))
			}
			l, err := objs.addrs(m, side.node.line)
			if errors.As(err, &se) {
				return skip(se.reason)
			}
			if err != nil {
				return err
			}
			side.list.add(l)
		}
		*side.neg = e.child(side.flag).value() == "yes"
	}
	svc := e.child("service").members()
	if len(svc) == 0 {
		return &ParseError{Line: e.line, Msg: fmt.Sprintf("rule %s has no service", e.attr)}
	}
	for _, s := range svc {
		switch s {
		case "any":
			v.terms = append(v.terms, svcTerm{proto: ProtoMatch{Any: true}})
			continue
		case "application-default":
			return skip("service application-default depends on App-ID; not modelled")
		}
		t, err := objs.services(s, e.child("service").line)
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

// panLiteral parses an address written in a rule: A, A/len or A-B.
func panLiteral(s string, fam Family) (addrList, bool) {
	var l addrList
	if a, b, ok := strings.Cut(s, "-"); ok {
		x, err1 := netip.ParseAddr(a)
		y, err2 := netip.ParseAddr(b)
		if err1 != nil || err2 != nil || l.addRange(x, y, fam) != nil {
			return l, false
		}
		return l, true
	}
	pf, err := vendorPrefix(s)
	if err != nil {
		return l, false
	}
	l.addPrefix(pf, fam)
	return l, true
}

// panEntryLists are the set-format keywords followed by an entry name.
var panEntryLists = map[string]bool{
	"address": true, "address-group": true, "service": true, "service-group": true, "zone": true,
	"external-list": true, "rules": true, "vsys": true,
}

// panMemberLists are the set-format keywords whose values are members
// (written bare when there is one, in "[ … ]" when there are several), by
// the entry list they sit in ("" for any).
var panMemberLists = map[string]string{
	"from": "rules", "to": "rules", "source": "rules", "destination": "rules", "application": "rules",
	"service": "rules", "source-user": "rules", "category": "rules", "hip-profiles": "rules",
	"source-hip": "rules", "destination-hip": "rules", "tag": "", "static": "address-group",
	"members": "service-group", "group": "rules",
}

// ParsePaloAltoSet parses a PAN-OS configuration in set format ("set
// cli config-output-format set", then "show"): each line "set PATH VALUE"
// is placed in the same tree as the XML export (lines without a vsys go
// to vsys1, "set shared …" to the shared objects) and mapped as
// ParsePaloAltoXML does, with the line numbers of the set lines.
func ParsePaloAltoSet(r io.Reader, fam Family) (*RuleSet, error) {
	rs, err := NewRuleSet(fam, "paloalto-set")
	if err != nil {
		return nil, err
	}
	root := &panNode{name: "config", line: 1}
	dev := &panNode{name: "entry", attr: "localhost.localdomain", line: 1}
	root.kids = append(root.kids, &panNode{name: "devices", line: 1, kids: []*panNode{dev}})
	count := 0
	lr := newVendorLines(r)
	for lr.next() {
		line := strings.TrimSpace(lr.text)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		toks, err := vendorFields(line)
		if err != nil {
			return nil, lr.errf("%v", err)
		}
		if toks[0] != "set" {
			return nil, lr.errf("expected a set command, got %q", toks[0])
		}
		toks = toks[1:]
		if len(toks) < 2 {
			return nil, lr.errf("set needs a path and a value")
		}
		count += len(toks)
		if count > maxPanNodes {
			return nil, fmt.Errorf("%w: more than %d set words", ErrTooLarge, maxPanNodes)
		}
		var at *panNode
		switch toks[0] {
		case "shared":
			at = root
		case "deviceconfig", "network", "mgt-config":
			at = dev
		case "vsys":
			at = dev
		default:
			at = panKid(panKid(dev, "vsys", "", lr.line), "entry", "vsys1", lr.line)
		}
		if err := panSetPath(at, toks, lr.line); err != nil {
			return nil, lr.errf("%v", err)
		}
	}
	if err := lr.done(); err != nil {
		return nil, err
	}
	return panBuild(rs, root)
}

// panKid finds or adds the child element name (an entry when attr is set).
func panKid(n *panNode, name, attr string, line int) *panNode {
	for _, k := range n.kids {
		if k.name == name && k.attr == attr {
			return k
		}
	}
	k := &panNode{name: name, attr: attr, line: line}
	n.kids = append(n.kids, k)
	return k
}

// panSetPath places one set command's path and value under n.
func panSetPath(n *panNode, toks []string, line int) error {
	list := ""        // the entry list whose entry the path is in
	profiles := false // inside profile-setting profiles
	members := func(vals []string) error {
		if len(vals) > 1 {
			if vals[0] != "[" || vals[len(vals)-1] != "]" {
				return errors.New("several values need [ ]")
			}
			vals = vals[1 : len(vals)-1]
		}
		for _, m := range vals {
			if m == "[" || m == "]" {
				return errors.New("unbalanced [ ]")
			}
			n.kids = append(n.kids, &panNode{name: "member", text: m, line: line})
		}
		return nil
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if i == len(toks)-1 {
			if n.text != "" {
				return fmt.Errorf("%s set twice", n.name)
			}
			n.text = t
			return nil
		}
		if panEntryLists[t] && !(t == "service" && list == "rules") {
			n = panKid(panKid(n, t, "", line), "entry", toks[i+1], line)
			list = t
			i++
			if i == len(toks)-1 {
				return nil // an empty entry
			}
			continue
		}
		n = panKid(n, t, "", line)
		if profiles {
			return members(toks[i+1:])
		}
		if t == "profiles" {
			profiles = true
			continue
		}
		if under, ok := panMemberLists[t]; ok && (under == "" || under == list) {
			return members(toks[i+1:])
		}
	}
	return nil
}
