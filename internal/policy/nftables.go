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

// nftables support: ParseNftJSON (nft -j list ruleset) and ParseNftText
// (nft list ruleset) both read the ruleset into the neutral form below
// (tables, sets, chains and rules as lists of statements), and one builder
// maps that form onto the RuleSet model with the same rules for both.
//
// The mapping, shared by both formats:
//
//   - Tables of family ip apply to IPv4, ip6 to IPv6 and inet to both;
//     tables of other families (arp, bridge, netdev) and of the other IP
//     family are recorded in RuleSet.Skipped.
//   - A base chain of type filter on hook input, forward or output becomes
//     the built-in chain INPUT, FORWARD or OUTPUT with its policy (accept
//     when none is given). Other base chains (nat, route, prerouting,
//     postrouting, ingress…) are recorded in Skipped, and so are the
//     regular chains only they reach. When several filter base chains share
//     a hook, those without rules and with policy accept pass every packet
//     on and are skipped; if more than one is left the input is refused,
//     since the kernel runs them all in priority order and a packet must be
//     accepted by each, which one first-match chain cannot express.
//   - Regular chains become user chains named as in nft; a name used in two
//     tables, or equal to a built-in chain's name, is written table/name.
//   - goto C is modelled exactly as two parts of the same rule: a jump to C,
//     then a return under the same match. Packets that come back from C
//     (its end or a return in it) leave the calling chain, which is what
//     goto does. A shadowed finding on such a line means the return part
//     never applies because C decides every packet it is given.
//   - A rule of an inet table that matches only the other family (ip6
//     saddr in an IPv4 analysis, ip protocol or meta nfproto ipv4 in an IPv6
//     one) matches no packet of the analysed family; it is left out and
//     recorded in Skipped.
//   - A protocol condition that allows a few protocols (meta l4proto { tcp,
//     udp }) splits the rule into parts, one per protocol, with the same
//     line; parts match disjoint packets, so first-match order is kept.
//   - reject with tcp reset carries nft's implicit "meta l4proto tcp".
//   - th dport/sport reads the bytes of any transport header; it is only
//     modelled when the rule also restricts the protocol to ones with ports.
//   - counter is ignored; log sets Rule.Logging (a rule that only logs is a
//     LOG rule); comments are kept.
//
// Every other expression or statement (meta mark, fib, limit, vmap, maps,
// concatenations, payload arithmetic, nat statements…) is an error naming the
// rule, never a silently weakened rule.

// Bounds of nftables input besides MaxInputBytes and MaxRules.
const (
	// MaxNftSetElements bounds the elements of all named and anonymous sets.
	MaxNftSetElements = 1_000_000
	// maxNftProtoParts bounds the parts a protocol set splits a rule into.
	maxNftProtoParts = 16
)

// nftVal is a right-hand value: a scalar (a raw word or string from text
// output, a JSON string or number), a prefix, a range, a set of values or
// a reference to a named set.
type nftVal struct {
	kind   nftValKind
	s      string // scalar text, set name, or prefix address
	quoted bool   // a quoted string in text output: never split
	bits   int    // prefix length
	lo, hi string // range bounds
	elems  []nftVal
}

type nftValKind uint8

const (
	valScalar nftValKind = iota
	valPrefix
	valRange
	valSet
	valRef
)

// nftStmt is one statement of a rule: a match, a verdict, or a statement
// that does not decide (counter, log). unsupported names anything else.
type nftStmt struct {
	key         string // match: "ip saddr", "meta iifname", "ct state"…
	neg         bool
	val         nftVal
	verdict     string // accept, drop, reject, return, continue, jump, goto
	target      string // jump and goto
	tcpReset    bool
	log         bool
	counter     bool
	unsupported string
}

type nftRuleSrc struct {
	line    int // text line, or position of the JSON object
	where   string
	id      string
	text    string
	comment string
	stmts   []nftStmt
}

type nftChainSrc struct {
	name, typ, hook, policy string
	base                    bool
	line                    int
	where                   string
	rules                   []*nftRuleSrc
	model                   string // the RuleSet chain name, once chosen
}

type nftSetSrc struct {
	name     string
	unusable string // why the set cannot be used in a match (a map, a concatenation)
	elems    []nftVal
}

type nftTable struct {
	family, name string
	line         int
	sets         map[string]*nftSetSrc
	chains       []*nftChainSrc
	byName       map[string]*nftChainSrc
}

func (t *nftTable) String() string { return t.family + " " + t.name }

type nftDoc struct {
	tables  []*nftTable
	skipped []Skipped
	elems   int
	rules   int
}

func (d *nftDoc) table(family, name string, line int) *nftTable {
	for _, t := range d.tables {
		if t.family == family && t.name == name {
			return t
		}
	}
	t := &nftTable{family: family, name: name, line: line, sets: map[string]*nftSetSrc{}, byName: map[string]*nftChainSrc{}}
	d.tables = append(d.tables, t)
	return t
}

func (d *nftDoc) addChain(t *nftTable, c *nftChainSrc) error {
	if t.byName[c.name] != nil {
		return fmt.Errorf("chain %s declared twice in table %s", c.name, t)
	}
	t.byName[c.name] = c
	t.chains = append(t.chains, c)
	return nil
}

// countElems charges n set elements against MaxNftSetElements.
func (d *nftDoc) countElems(n int) error {
	d.elems += n
	if d.elems > MaxNftSetElements {
		return fmt.Errorf("%w: more than %d set elements", ErrTooLarge, MaxNftSetElements)
	}
	return nil
}

func (d *nftDoc) countRule() error {
	d.rules++
	if d.rules > MaxRules {
		return fmt.Errorf("%w: more than %d rules", ErrTooLarge, MaxRules)
	}
	return nil
}

// nftBuilder maps a parsed document onto a RuleSet. fail makes the error
// for one rule or chain in the format's own terms (a line or a handle).
type nftBuilder struct {
	doc  *nftDoc
	rs   *RuleSet
	fail func(line int, where, msg string) error
}

var nftHooks = map[string]string{"input": "INPUT", "forward": "FORWARD", "output": "OUTPUT"}

func nftFamilyApplies(family string, fam Family) (bool, string) {
	switch family {
	case "inet":
		return true, ""
	case "ip":
		return fam == IPv4, "family ip applies to IPv4 only"
	case "ip6":
		return fam == IPv6, "family ip6 applies to IPv6 only"
	}
	return false, "family " + family + " does not filter IP packets at the input, forward or output hooks"
}

func buildNft(doc *nftDoc, fam Family, format string, fail func(line int, where, msg string) error) (*RuleSet, error) {
	rs, err := NewRuleSet(fam, format)
	if err != nil {
		return nil, err
	}
	b := &nftBuilder{doc: doc, rs: rs, fail: fail}
	rs.Skipped = append(rs.Skipped, doc.skipped...)
	var tables []*nftTable
	for _, t := range doc.tables {
		if ok, why := nftFamilyApplies(t.family, fam); !ok {
			rs.Skipped = append(rs.Skipped, Skipped{Line: t.line, Reason: "table " + t.String() + ": " + why + "; not analysed"})
			continue
		}
		tables = append(tables, t)
	}
	// Pick the base chain of each hook.
	byHook := map[string][]*nftChainSrc{}
	var kept, skippedBase []*nftChainSrc
	for _, t := range tables {
		for _, c := range t.chains {
			if !c.base {
				continue
			}
			if c.typ == "filter" && nftHooks[c.hook] != "" {
				byHook[c.hook] = append(byHook[c.hook], c)
				continue
			}
			skippedBase = append(skippedBase, c)
			rs.Skipped = append(rs.Skipped, Skipped{Line: c.line, Reason: fmt.Sprintf("%s (type %s hook %s) is not analysed: only filter chains on the input, forward and output hooks are", c.where, c.typ, c.hook)})
		}
	}
	for _, hook := range []string{"input", "forward", "output"} {
		cs := byHook[hook]
		if len(cs) > 1 {
			var busy []*nftChainSrc
			first := len(rs.Skipped)
			for _, c := range cs {
				if len(c.rules) == 0 && c.policy == "accept" {
					rs.Skipped = append(rs.Skipped, Skipped{Line: c.line, Reason: c.where + " has no rules and policy accept: it passes every packet on to the other " + hook + " chains"})
					continue
				}
				busy = append(busy, c)
			}
			if len(busy) == 0 {
				// All pass every packet: keep the first as the built-in chain.
				busy = cs[:1]
				rs.Skipped = slices.Delete(rs.Skipped, first, first+1)
			}
			if len(busy) > 1 {
				names := make([]string, len(busy))
				for i, c := range busy {
					names[i] = c.where
				}
				return nil, b.fail(busy[1].line, busy[1].where, fmt.Sprintf("several filter base chains on hook %s (%s): a packet must pass each of them, which is not modelled", hook, strings.Join(names, ", ")))
			}
			cs = busy
		}
		for _, c := range cs {
			c.model = nftHooks[hook]
			kept = append(kept, c)
		}
	}
	// Regular chains reached only from skipped base chains are skipped too.
	reach := func(from []*nftChainSrc) map[*nftChainSrc]bool {
		seen := map[*nftChainSrc]bool{}
		var visit func(t *nftTable, c *nftChainSrc)
		visit = func(t *nftTable, c *nftChainSrc) {
			if seen[c] {
				return
			}
			seen[c] = true
			for _, r := range c.rules {
				for _, s := range r.stmts {
					if s.target != "" {
						if tc := t.byName[s.target]; tc != nil && !tc.base {
							visit(t, tc)
						}
					}
				}
			}
		}
		for _, t := range tables {
			for _, c := range t.chains {
				if slices.Contains(from, c) {
					visit(t, c)
				}
			}
		}
		return seen
	}
	live, dead := reach(kept), reach(skippedBase)
	// Name the user chains.
	count := map[string]int{"INPUT": 1, "FORWARD": 1, "OUTPUT": 1}
	for _, t := range tables {
		for _, c := range t.chains {
			if !c.base {
				count[c.name]++
			}
		}
	}
	type placed struct {
		t *nftTable
		c *nftChainSrc
	}
	var order []placed
	for _, t := range tables {
		for _, c := range t.chains {
			switch {
			case c.base && c.model == "":
				continue // skipped above
			case c.base:
			case dead[c] && !live[c]:
				rs.Skipped = append(rs.Skipped, Skipped{Line: c.line, Reason: c.where + " is reached only from chains that are not analysed"})
				continue
			case count[c.name] > 1:
				c.model = t.name + "/" + c.name
			default:
				c.model = c.name
			}
			pol := None
			if c.base {
				switch c.policy {
				case "", "accept":
					pol = Accept
				case "drop":
					pol = Drop
				default:
					return nil, b.fail(c.line, c.where, fmt.Sprintf("unsupported chain policy %q", c.policy))
				}
			}
			if _, err := rs.AddChain(c.model, pol, c.line); err != nil {
				return nil, b.fail(c.line, c.where, err.Error())
			}
			order = append(order, placed{t, c})
		}
	}
	for _, p := range order {
		for _, r := range p.c.rules {
			if err := b.addRule(p.t, p.c, r); err != nil {
				return nil, err
			}
		}
	}
	if err := rs.Finish(); err != nil {
		return nil, fmt.Errorf("policy: %s: %w", format, err)
	}
	return rs, nil
}

// nftRule collects the conditions of one rule before it is split.
type nftRule struct {
	r         Rule
	protos    [256]bool
	ports     bool // a th port match needs the protocol restricted
	otherFam  string
	logAt     int // index of the log statement, -1 when none
	verdictAt int
	isGoto    bool
}

func (b *nftBuilder) addRule(t *nftTable, c *nftChainSrc, src *nftRuleSrc) error {
	fam := b.rs.Family
	fail := func(format string, a ...any) error {
		return b.fail(src.line, src.where, fmt.Sprintf(format, a...))
	}
	nr := &nftRule{logAt: -1, verdictAt: -1}
	for i := range nr.protos {
		nr.protos[i] = true
	}
	nr.r = Rule{Chain: c.model, Line: src.line, Text: src.text, ID: src.id, Comment: src.comment, Proto: ProtoMatch{Any: true}, Logging: LogOff}
	for i, s := range src.stmts {
		if nr.verdictAt >= 0 {
			return fail("statement after the verdict")
		}
		switch {
		case s.unsupported != "":
			return fail("unsupported %s", s.unsupported)
		case s.counter:
		case s.log:
			nr.logAt = i
			nr.r.Logging = LogOn
		case s.verdict != "":
			nr.verdictAt = i
			if err := b.verdict(t, nr, s); err != nil {
				return fail("%v", err)
			}
		default:
			if nr.logAt >= 0 {
				return fail("log before a match (%s) logs packets the rule does not match; not modelled", s.key)
			}
			if err := b.match(t, nr, s); err != nil {
				return fail("%s: %v", s.key, err)
			}
		}
	}
	if nr.verdictAt < 0 {
		if nr.logAt >= 0 {
			nr.r.Action, nr.r.Target = Log, "log"
		} else {
			nr.r.Action = None
		}
	}
	if nr.r.Action == Reject && nr.r.Target == "tcp reset" {
		for p := range nr.protos {
			nr.protos[p] = nr.protos[p] && p == 6
		}
	}
	if nr.otherFam != "" {
		b.rs.Skipped = append(b.rs.Skipped, Skipped{Line: src.line, Reason: fmt.Sprintf("rule %s matches %s packets only; not part of the IPv%d rule set", src.where, nr.otherFam, fam)})
		return nil
	}
	var protos []uint8
	for p, ok := range nr.protos {
		if ok {
			protos = append(protos, uint8(p))
		}
	}
	if nr.ports {
		for _, p := range protos {
			if !portProtos[p] && p != 33 {
				return fail("th port match without a protocol restriction to tcp, udp, sctp, dccp or udplite: for other protocols it reads other header bytes; not modelled")
			}
		}
	}
	var variants []ProtoMatch
	switch {
	case len(protos) == 0:
		return fail("the protocol conditions exclude each other: the rule matches nothing")
	case len(protos) == 256:
		variants = []ProtoMatch{{Any: true}}
	case len(protos) == 255:
		for p, ok := range nr.protos {
			if !ok {
				variants = []ProtoMatch{{Num: uint8(p), Negate: true}}
			}
		}
	case len(protos) <= maxNftProtoParts:
		for _, p := range protos {
			variants = append(variants, ProtoMatch{Num: p})
		}
	default:
		return fail("protocol condition allowing %d protocols is not modelled", len(protos))
	}
	var parts []*Rule
	for _, pm := range variants {
		r := nr.r
		r.Proto = pm
		if nr.isGoto {
			ret := r
			ret.Action, ret.Target = Return, ""
			parts = append(parts, &r, &ret)
			continue
		}
		parts = append(parts, &r)
	}
	for i, r := range parts {
		if len(parts) > 1 {
			r.Part = i + 1
		}
		if err := b.rs.AddRule(r); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return fail("%s", pe.Msg)
			}
			return err
		}
	}
	return nil
}

func (b *nftBuilder) verdict(t *nftTable, nr *nftRule, s nftStmt) error {
	r := &nr.r
	switch s.verdict {
	case "accept":
		r.Action = Accept
	case "drop":
		r.Action = Drop
	case "reject":
		r.Action = Reject
		if s.tcpReset {
			r.Target = "tcp reset"
		}
	case "return":
		r.Action = Return
	case "continue":
		r.Action = None
	case "jump", "goto":
		tc := t.byName[s.target]
		if tc == nil {
			return fmt.Errorf("%s to unknown chain %q", s.verdict, s.target)
		}
		if tc.base {
			return fmt.Errorf("%s to base chain %q", s.verdict, s.target)
		}
		r.Action, r.Target = Jump, tc.model
		nr.isGoto = s.verdict == "goto"
	default:
		return fmt.Errorf("unsupported verdict %q", s.verdict)
	}
	return nil
}

// values expands a value into its scalar, prefix and range elements,
// resolving a named set of the table.
func (b *nftBuilder) values(t *nftTable, v nftVal) ([]nftVal, error) {
	switch v.kind {
	case valSet:
		var out []nftVal
		for _, e := range v.elems {
			if e.kind == valSet || e.kind == valRef {
				return nil, errors.New("nested set")
			}
			out = append(out, e)
		}
		return out, nil
	case valRef:
		s := t.sets[v.s]
		if s == nil {
			return nil, fmt.Errorf("unknown set @%s", v.s)
		}
		if s.unusable != "" {
			return nil, fmt.Errorf("set @%s is %s; not modelled", v.s, s.unusable)
		}
		return s.elems, nil
	}
	return []nftVal{v}, nil
}

func (b *nftBuilder) match(t *nftTable, nr *nftRule, s nftStmt) error {
	fam := b.rs.Family
	r := &nr.r
	vals, err := b.values(t, s.val)
	if err != nil {
		return err
	}
	if len(vals) == 0 {
		return errors.New("empty set")
	}
	proto, field, _ := strings.Cut(s.key, " ")
	switch s.key {
	case "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr":
		want := IPv4
		if proto == "ip6" {
			want = IPv6
		}
		if want != fam {
			nr.otherFam = "IPv" + strconv.Itoa(int(want))
			return nil
		}
		m := AddrMatch{Negate: s.neg}
		for _, v := range vals {
			if err := addNftAddr(&m, v, fam); err != nil {
				return err
			}
		}
		if field == "saddr" {
			r.Src = append(r.Src, m)
		} else {
			r.Dst = append(r.Dst, m)
		}
	case "ip protocol", "meta l4proto":
		if proto == "ip" && fam != IPv4 {
			nr.otherFam = "IPv4"
			return nil
		}
		var allow [256]bool
		for _, v := range vals {
			n, err := nftProto(v)
			if err != nil {
				return err
			}
			allow[n] = true
		}
		for p := range nr.protos {
			nr.protos[p] = nr.protos[p] && allow[p] != s.neg
		}
	case "meta nfproto":
		in := false
		for _, v := range vals {
			switch v.s {
			case "ipv4":
				in = in || fam == IPv4
			case "ipv6":
				in = in || fam == IPv6
			default:
				return fmt.Errorf("unsupported value %q", v.s)
			}
		}
		if in == s.neg {
			nr.otherFam = "IPv" + strconv.Itoa(10-int(fam))
		}
	case "tcp dport", "tcp sport", "udp dport", "udp sport", "sctp dport", "sctp sport",
		"udplite dport", "udplite sport", "dccp dport", "dccp sport", "th dport", "th sport":
		if proto == "th" {
			nr.ports = true
		} else {
			n := protoNums[proto]
			if proto == "dccp" {
				n = 33
			}
			for p := range nr.protos {
				nr.protos[p] = nr.protos[p] && p == int(n)
			}
		}
		m := PortMatch{Negate: s.neg}
		for _, v := range vals {
			pr, err := nftPort(v)
			if err != nil {
				return err
			}
			m.Ranges = append(m.Ranges, pr)
		}
		if field == "dport" {
			r.DstPort = append(r.DstPort, m)
		} else {
			r.SrcPort = append(r.SrcPort, m)
		}
	case "meta iifname", "meta oifname", "meta iif", "meta oif":
		m := &IfaceMatch{Negate: s.neg}
		for i, v := range vals {
			name, err := nftIface(v, strings.HasSuffix(field, "name"))
			if err != nil {
				return err
			}
			if i == 0 {
				m.Name = name
			} else {
				m.Alt = append(m.Alt, name)
			}
		}
		if _, err := ifaceSet(m, nil); err != nil {
			return err
		}
		dst := &r.In
		if strings.HasPrefix(field, "o") {
			dst = &r.Out
		}
		if *dst != nil {
			return errors.New("second interface condition in one rule is not modelled")
		}
		*dst = m
	case "ct state":
		m := StateMatch{Negate: s.neg}
		for _, v := range vals {
			st, ok := ParseConnState(v.s)
			if v.kind != valScalar || !ok {
				return fmt.Errorf("unsupported conntrack state %q", v.s)
			}
			m.States = append(m.States, st)
		}
		r.State = append(r.State, m)
	default:
		return errors.New("unsupported match")
	}
	return nil
}

func addNftAddr(m *AddrMatch, v nftVal, fam Family) error {
	parse := func(s string) (netip.Addr, error) {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Is4() != (fam == IPv4) || a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("bad IPv%d address %q", fam, s)
		}
		return a, nil
	}
	switch v.kind {
	case valPrefix:
		a, err := parse(v.s)
		if err != nil {
			return err
		}
		p, err := a.Prefix(v.bits)
		if err != nil || v.bits < 0 {
			return fmt.Errorf("bad prefix %s/%d", v.s, v.bits)
		}
		m.Prefixes = append(m.Prefixes, p)
		return nil
	case valRange:
		a, err1 := parse(v.lo)
		z, err2 := parse(v.hi)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if z.Less(a) {
			return fmt.Errorf("reversed range %s-%s", v.lo, v.hi)
		}
		m.Ranges = append(m.Ranges, AddrRange{a, z})
		return nil
	case valScalar:
		if !v.quoted {
			if a, l, ok := strings.Cut(v.s, "/"); ok {
				n, err := strconv.Atoi(l)
				if err != nil {
					return fmt.Errorf("bad prefix %q", v.s)
				}
				return addNftAddr(m, nftVal{kind: valPrefix, s: a, bits: n}, fam)
			}
			// An IPv6 address has no '-', so a dash is always a range.
			if a, z, ok := strings.Cut(v.s, "-"); ok {
				return addNftAddr(m, nftVal{kind: valRange, lo: a, hi: z}, fam)
			}
		}
		a, err := parse(v.s)
		if err != nil {
			return err
		}
		m.Prefixes = append(m.Prefixes, netip.PrefixFrom(a, a.BitLen()))
		return nil
	}
	return errors.New("unsupported address value")
}

func nftPort(v nftVal) (PortRange, error) {
	num := func(s string) (uint16, error) {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("bad port %q (service names are not resolved)", s)
		}
		return uint16(n), nil
	}
	lo, hi := v.s, v.s
	switch v.kind {
	case valRange:
		lo, hi = v.lo, v.hi
	case valScalar:
		if a, z, ok := strings.Cut(v.s, "-"); ok && !v.quoted {
			lo, hi = a, z
		}
	default:
		return PortRange{}, errors.New("unsupported port value")
	}
	a, err := num(lo)
	if err != nil {
		return PortRange{}, err
	}
	z, err := num(hi)
	if err != nil {
		return PortRange{}, err
	}
	if z < a {
		return PortRange{}, fmt.Errorf("reversed port range %d-%d", a, z)
	}
	return PortRange{a, z}, nil
}

func nftProto(v nftVal) (uint8, error) {
	if v.kind != valScalar {
		return 0, errors.New("unsupported protocol value")
	}
	name := strings.ToLower(v.s)
	if n, ok := protoNums[name]; ok {
		return n, nil
	}
	if name == "dccp" {
		return 33, nil
	}
	n, err := strconv.ParseUint(name, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown protocol %q", v.s)
	}
	return uint8(n), nil
}

// nftIface maps an nft interface name to the model's: a trailing "*" in
// iifname/oifname is a prefix wildcard (the model's "+"); a literal "+"
// at the end or a "*" elsewhere cannot be represented.
func nftIface(v nftVal, wildcard bool) (string, error) {
	if v.kind != valScalar {
		return "", errors.New("unsupported interface value")
	}
	name := v.s
	if !wildcard && !v.quoted && name != "" && strings.Trim(name, "0123456789") == "" {
		return "", fmt.Errorf("interface index %s is not resolved to a name", name)
	}
	if strings.ContainsAny(name, "\\") || strings.HasSuffix(name, "+") {
		return "", fmt.Errorf("interface name %q not modelled", name)
	}
	if p, ok := strings.CutSuffix(name, "*"); ok && wildcard {
		name = p + "+"
	}
	if strings.Contains(strings.TrimSuffix(name, "+"), "*") {
		return "", fmt.Errorf("interface pattern %q not modelled", v.s)
	}
	if name == "+" {
		return "", fmt.Errorf("interface pattern %q matches every name", v.s)
	}
	return name, nil
}

// ParseNftText parses the output of "nft list ruleset" (with or without -a,
// whose handles become Rule.ID) for the family fam. Tables, chains and rules
// are mapped as described in the notes at the top of this file, the same way
// as ParseNftJSON; every expression the model cannot represent exactly is a
// ParseError naming the line.
func ParseNftText(r io.Reader, fam Family) (*RuleSet, error) {
	if fam != IPv4 && fam != IPv6 {
		return nil, fmt.Errorf("policy: unknown family %d", fam)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read: %w", err)
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxInputBytes)
	}
	p := &nftTextParser{lines: strings.Split(string(data), "\n"), doc: &nftDoc{}}
	if err := p.tokenize(string(data)); err != nil {
		return nil, err
	}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return buildNft(p.doc, fam, "nft", func(line int, _ string, msg string) error {
		return &ParseError{Line: line, Msg: msg}
	})
}

type nftTokKind uint8

const (
	tokWord nftTokKind = iota
	tokString
	tokPunct // { } ; ,
	tokNL
	tokHandle // "# handle N"
)

type nftTok struct {
	kind nftTokKind
	s    string
	line int
}

type nftTextParser struct {
	lines []string
	toks  []nftTok
	pos   int
	doc   *nftDoc
}

func (p *nftTextParser) tokenize(s string) error {
	line := 1
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == '\n':
			p.toks = append(p.toks, nftTok{tokNL, "", line})
			line++
			i++
		case ch == ' ' || ch == '\t' || ch == '\r':
			i++
		case ch == '#':
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s) - i
			}
			if h, ok := strings.CutPrefix(strings.TrimSpace(s[i+1:i+end]), "handle "); ok {
				p.toks = append(p.toks, nftTok{tokHandle, h, line})
			}
			i += end
		case ch == '"':
			var sb strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\n' {
					return &ParseError{Line: line, Msg: "unterminated string"}
				}
				if s[j] == '\\' && j+1 < len(s) && s[j+1] != '\n' {
					sb.WriteByte('\\')
					j++
				}
				sb.WriteByte(s[j])
			}
			if j >= len(s) {
				return &ParseError{Line: line, Msg: "unterminated string"}
			}
			p.toks = append(p.toks, nftTok{tokString, sb.String(), line})
			i = j + 1
		case strings.IndexByte("{};,", ch) >= 0:
			p.toks = append(p.toks, nftTok{tokPunct, string(ch), line})
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n{};,\"#", s[j]) < 0 {
				j++
			}
			p.toks = append(p.toks, nftTok{tokWord, s[i:j], line})
			i = j
		}
		if len(p.toks) > MaxInputBytes/2 {
			return fmt.Errorf("%w: too many tokens", ErrTooLarge)
		}
	}
	return nil
}

func (p *nftTextParser) errf(line int, format string, a ...any) error {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, a...)}
}

func (p *nftTextParser) peek() (nftTok, bool) {
	if p.pos >= len(p.toks) {
		return nftTok{}, false
	}
	return p.toks[p.pos], true
}

func (p *nftTextParser) lastLine() int {
	if len(p.toks) == 0 {
		return 1
	}
	return p.toks[len(p.toks)-1].line
}

// word reads the next word or string on the current statement.
func (p *nftTextParser) word(what string) (nftTok, error) {
	t, ok := p.peek()
	if !ok || (t.kind != tokWord && t.kind != tokString) {
		line := p.lastLine()
		if ok {
			line = t.line
		}
		return t, p.errf(line, "expected %s", what)
	}
	p.pos++
	return t, nil
}

func (p *nftTextParser) punct(s string) bool {
	if t, ok := p.peek(); ok && t.kind == tokPunct && t.s == s {
		p.pos++
		return true
	}
	return false
}

func (p *nftTextParser) skipSeparators() {
	for {
		t, ok := p.peek()
		if !ok || !(t.kind == tokNL || t.kind == tokHandle || (t.kind == tokPunct && t.s == ";")) {
			return
		}
		p.pos++
	}
}

// statement returns the tokens up to the end of the line, a handle comment
// or a ';' or '}' outside braces; newlines inside braces are skipped.
func (p *nftTextParser) statement() []nftTok {
	var out []nftTok
	depth := 0
	for {
		t, ok := p.peek()
		if !ok {
			return out
		}
		if depth == 0 && (t.kind == tokNL || t.kind == tokHandle || (t.kind == tokPunct && (t.s == ";" || t.s == "}"))) {
			return out
		}
		p.pos++
		if t.kind == tokHandle {
			continue
		}
		if t.kind == tokPunct && t.s == "{" {
			depth++
		}
		if t.kind == tokPunct && t.s == "}" {
			depth--
		}
		if t.kind == tokNL {
			continue
		}
		out = append(out, t)
	}
}

func (p *nftTextParser) parse() error {
	for {
		p.skipSeparators()
		t, ok := p.peek()
		if !ok {
			return nil
		}
		if t.kind != tokWord || t.s != "table" {
			return p.errf(t.line, "expected table, got %q", truncate(t.s))
		}
		p.pos++
		fam, err := p.word("table family")
		if err != nil {
			return err
		}
		name, err := p.word("table name")
		if err != nil {
			return err
		}
		if !p.punct("{") {
			return p.errf(name.line, "expected { after table %s", name.s)
		}
		tbl := p.doc.table(fam.s, name.s, t.line)
		if err := p.tableBody(tbl); err != nil {
			return err
		}
	}
}

func (p *nftTextParser) tableBody(tbl *nftTable) error {
	for {
		p.skipSeparators()
		t, ok := p.peek()
		if !ok {
			return p.errf(p.lastLine(), "table %s has no closing }", tbl)
		}
		if p.punct("}") {
			return nil
		}
		if t.kind != tokWord {
			return p.errf(t.line, "unexpected %q in table %s", truncate(t.s), tbl)
		}
		p.pos++
		switch t.s {
		case "chain":
			if err := p.chain(tbl, t.line); err != nil {
				return err
			}
		case "set", "map":
			if err := p.set(tbl, t.s, t.line); err != nil {
				return err
			}
		case "flags", "comment":
			p.statement()
		default:
			// Stateful objects, flowtables, ct helpers…: not filter rules.
			p.statement()
			if p.punct("{") {
				if err := p.skipBlock(); err != nil {
					return err
				}
			}
			p.doc.skipped = append(p.doc.skipped, Skipped{Line: t.line, Reason: fmt.Sprintf("%s object in table %s is not analysed", t.s, tbl)})
		}
	}
}

func (p *nftTextParser) skipBlock() error {
	start := p.lastLine()
	depth := 1
	for depth > 0 {
		t, ok := p.peek()
		if !ok {
			return p.errf(start, "unclosed {")
		}
		p.pos++
		if t.kind == tokPunct && t.s == "{" {
			depth++
		} else if t.kind == tokPunct && t.s == "}" {
			depth--
		}
	}
	return nil
}

func (p *nftTextParser) set(tbl *nftTable, kind string, line int) error {
	name, err := p.word(kind + " name")
	if err != nil {
		return err
	}
	if !p.punct("{") {
		return p.errf(line, "expected { after %s %s", kind, name.s)
	}
	s := &nftSetSrc{name: name.s}
	if kind == "map" {
		s.unusable = "a map"
	}
	if tbl.sets[s.name] != nil {
		return p.errf(line, "set %s declared twice in table %s", s.name, tbl)
	}
	tbl.sets[s.name] = s
	for {
		p.skipSeparators()
		t, ok := p.peek()
		if !ok {
			return p.errf(line, "%s %s has no closing }", kind, name.s)
		}
		if p.punct("}") {
			return nil
		}
		st := p.statement()
		if len(st) == 0 {
			return p.errf(t.line, "unexpected %q in %s %s", truncate(t.s), kind, name.s)
		}
		switch st[0].s {
		case "type", "typeof":
			for _, w := range st[1:] {
				if w.s == "." {
					s.unusable = "a concatenation"
				}
			}
		case "elements":
			if s.unusable != "" {
				continue
			}
			if len(st) < 3 || st[1].s != "=" || st[2].s != "{" {
				return p.errf(st[0].line, "expected elements = { ... }")
			}
			v, _, err := p.value(st[2:], 0)
			if err != nil {
				return err
			}
			if err := p.doc.countElems(len(v.elems)); err != nil {
				return err
			}
			s.elems = append(s.elems, v.elems...)
		}
	}
}

func (p *nftTextParser) chain(tbl *nftTable, line int) error {
	name, err := p.word("chain name")
	if err != nil {
		return err
	}
	if !p.punct("{") {
		return p.errf(line, "expected { after chain %s", name.s)
	}
	c := &nftChainSrc{name: name.s, line: line, where: fmt.Sprintf("chain %s %s", tbl, name.s)}
	if err := p.doc.addChain(tbl, c); err != nil {
		return p.errf(line, "%v", err)
	}
	for {
		p.skipSeparators()
		t, ok := p.peek()
		if !ok {
			return p.errf(line, "chain %s has no closing }", name.s)
		}
		if p.punct("}") {
			return nil
		}
		st := p.statement()
		var handle string
		if h, ok := p.peek(); ok && h.kind == tokHandle {
			handle = h.s
		}
		if len(st) == 0 {
			return p.errf(t.line, "unexpected %q in chain %s", truncate(t.s), name.s)
		}
		switch st[0].s {
		case "type":
			// type T hook H [device D] priority P ; policy X ;
			if len(st) < 4 || st[2].s != "hook" {
				return p.errf(st[0].line, "bad base chain declaration")
			}
			c.base, c.typ, c.hook, c.line = true, st[1].s, st[3].s, st[0].line
			continue
		case "policy":
			if len(st) != 2 {
				return p.errf(st[0].line, "bad policy")
			}
			c.policy = st[1].s
			continue
		case "comment", "devices":
			continue
		}
		if err := p.doc.countRule(); err != nil {
			return err
		}
		r := &nftRuleSrc{line: st[0].line, where: fmt.Sprintf("at line %d", st[0].line)}
		if handle != "" {
			r.id = "handle " + handle
		}
		if ln := st[0].line; ln-1 < len(p.lines) {
			r.text = strings.TrimSpace(p.lines[ln-1])
			if i := strings.Index(r.text, " # handle "); i >= 0 {
				r.text = r.text[:i]
			}
		}
		if r.stmts, r.comment, err = p.rule(st); err != nil {
			return err
		}
		c.rules = append(c.rules, r)
	}
}

// value reads a value starting at st[i]: a word or string, a comma list
// (ct state established,related) or a { } set. It returns the index after it.
func (p *nftTextParser) value(st []nftTok, i int) (nftVal, int, error) {
	scalar := func(t nftTok) (nftVal, error) {
		if t.kind == tokString {
			return nftVal{kind: valScalar, s: t.s, quoted: true}, nil
		}
		if t.kind != tokWord {
			return nftVal{}, p.errf(t.line, "expected a value, got %q", t.s)
		}
		if name, ok := strings.CutPrefix(t.s, "@"); ok {
			return nftVal{kind: valRef, s: name}, nil
		}
		return nftVal{kind: valScalar, s: t.s}, nil
	}
	if i >= len(st) {
		return nftVal{}, i, p.errf(st[len(st)-1].line, "missing value")
	}
	if st[i].kind == tokPunct && st[i].s == "{" {
		set := nftVal{kind: valSet}
		i++
		for i < len(st) && !(st[i].kind == tokPunct && st[i].s == "}") {
			if st[i].kind == tokPunct && st[i].s == "," {
				i++
				continue
			}
			v, err := scalar(st[i])
			if err != nil {
				return v, i, err
			}
			set.elems = append(set.elems, v)
			i++
			// Element options (timeout, expires, counter, comment) up to the next comma.
			for i < len(st) && st[i].kind != tokPunct {
				i++
			}
		}
		if i >= len(st) {
			return set, i, p.errf(st[len(st)-1].line, "unclosed {")
		}
		return set, i + 1, p.doc.countElems(len(set.elems))
	}
	v, err := scalar(st[i])
	if err != nil {
		return v, i, err
	}
	i++
	if i < len(st) && st[i].kind == tokPunct && st[i].s == "," {
		set := nftVal{kind: valSet, elems: []nftVal{v}}
		for i+1 < len(st) && st[i].kind == tokPunct && st[i].s == "," {
			e, err := scalar(st[i+1])
			if err != nil {
				return e, i, err
			}
			set.elems = append(set.elems, e)
			i += 2
		}
		return set, i, p.doc.countElems(len(set.elems))
	}
	return v, i, nil
}

var nftMetaShort = map[string]bool{"iifname": true, "oifname": true, "iif": true, "oif": true, "l4proto": true, "nfproto": true}

// rule turns the tokens of one rule line into statements.
func (p *nftTextParser) rule(st []nftTok) ([]nftStmt, string, error) {
	var (
		out     []nftStmt
		comment string
	)
	line := st[0].line
	word := func(i int) string {
		if i < len(st) && (st[i].kind == tokWord || st[i].kind == tokString) {
			return st[i].s
		}
		return ""
	}
	for i := 0; i < len(st); {
		w := word(i)
		var key string
		switch {
		case w == "ip" || w == "ip6" || w == "tcp" || w == "udp" || w == "sctp" || w == "udplite" || w == "dccp" || w == "th" || w == "ct":
			key = w + " " + word(i+1)
			i += 2
		case w == "meta":
			key = "meta " + word(i+1)
			i += 2
		case nftMetaShort[w]:
			key = "meta " + w
			i++
		case w == "counter":
			out = append(out, nftStmt{counter: true})
			i++
			if word(i) == "packets" && word(i+2) == "bytes" {
				i += 4
			}
			continue
		case w == "log":
			out = append(out, nftStmt{log: true})
			i++
			for i < len(st) {
				switch word(i) {
				case "prefix", "level", "group", "snaplen", "queue-threshold":
					i += 2
				case "flags":
					i++
					for i < len(st) && (st[i].kind == tokPunct && st[i].s == "," || nftLogFlags[word(i)]) {
						i++
					}
				default:
					goto next
				}
			}
		next:
			continue
		case w == "comment":
			if i+1 >= len(st) || st[i+1].kind != tokString {
				return nil, "", p.errf(line, "comment needs a quoted string")
			}
			comment = st[i+1].s
			i += 2
			continue
		case w == "accept" || w == "drop" || w == "return" || w == "continue":
			out = append(out, nftStmt{verdict: w})
			i++
			continue
		case w == "jump" || w == "goto":
			t := word(i + 1)
			if t == "" {
				return nil, "", p.errf(line, "%s needs a chain", w)
			}
			out = append(out, nftStmt{verdict: w, target: t})
			i += 2
			continue
		case w == "reject":
			s := nftStmt{verdict: "reject"}
			i++
			if word(i) == "with" {
				switch word(i + 1) {
				case "tcp":
					if word(i+2) != "reset" {
						return nil, "", p.errf(line, "bad reject type")
					}
					s.tcpReset = true
					i += 3
				case "icmp", "icmpx", "icmpv6":
					i += 2
					if word(i) == "type" {
						i++
					}
					i++
				default:
					return nil, "", p.errf(line, "bad reject type %q", word(i+1))
				}
			}
			out = append(out, s)
			continue
		default:
			tok := st[i]
			out = append(out, nftStmt{unsupported: fmt.Sprintf("expression %q", truncate(tok.s))})
			return out, comment, nil
		}
		s := nftStmt{key: key}
		switch word(i) {
		case "!=", "ne":
			s.neg = true
			i++
		case "==", "eq":
			i++
		case "<", ">", "<=", ">=", "lt", "gt", "le", "ge", "&", "|", "^", "and", "or", "xor", "map", "vmap", ".", "<<", ">>":
			out = append(out, nftStmt{unsupported: fmt.Sprintf("operator %q after %s", word(i), key)})
			return out, comment, nil
		}
		v, next, err := p.value(st, i)
		if err != nil {
			return nil, "", err
		}
		if word(next) == "." || word(next) == "map" || word(next) == "vmap" {
			out = append(out, nftStmt{unsupported: fmt.Sprintf("%q after %s", word(next), key)})
			return out, comment, nil
		}
		s.val = v
		out = append(out, s)
		i = next
	}
	return out, comment, nil
}

var nftLogFlags = map[string]bool{"tcp": true, "ip": true, "skuid": true, "ether": true, "all": true, "sequence": true, "options": true}
