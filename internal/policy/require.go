package policy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Requirement is one statement of a required policy, checked exactly
// against a chain's decision function.
//
// The text format has one statement per line; "#" starts a comment:
//
//	chain FORWARD
//	allow tcp from 10.1.0.0/24 to 10.2.0.5 port 5432
//	deny any from any to 10.2.0.0/24 port 5432 except from 10.1.0.0/24
//	only tcp from 10.1.0.0/24 to 10.2.0.0/24 port 5432
//
// Verbs: allow (every packet described is accepted), deny (none is
// accepted), only (every packet described is accepted, and no packet that
// differs only by its source is). After the addresses come optional
// clauses, each at most once: port and sport (N, N-M or a comma list), in
// and out (an interface or zone), state (comma list, NEW when absent: the
// statements are about new connections), chain NAME, and except from
// ADDRS (sources taken out of the statement). Addresses are any, or comma
// lists of addresses, CIDR prefixes and FROM-TO ranges. A protocol of any
// with a port clause means tcp, udp and sctp, the protocols with ports. A
// line "chain NAME" on its own sets the chain of the statements after it;
// with none, a statement is checked in every built-in chain.
type Requirement struct {
	Line   int
	Text   string
	Verb   string // allow, deny, only
	Chain  string // empty: every built-in chain
	Protos []uint8
	Src    AddrMatch // no prefixes or ranges: any
	Dst    AddrMatch
	Except *AddrMatch
	Sport  *PortMatch
	Dport  *PortMatch
	In     *IfaceMatch
	Out    *IfaceMatch
	States []ConnState
}

// Limits of a requirements file.
const (
	maxReqBytes      = 1 << 20
	maxReqLine       = 4096
	maxReqStatements = 10_000
	maxReqItems      = 256 // addresses or ports in one list
)

// ParseRequirements reads a required-policy file. Errors name the line.
func ParseRequirements(r io.Reader) ([]Requirement, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxReqBytes+1))
	sc.Buffer(make([]byte, 0, 4096), maxReqLine)
	var (
		out   []Requirement
		chain string
		n     int
		size  int
	)
	for sc.Scan() {
		n++
		size += len(sc.Bytes()) + 1
		if size > maxReqBytes+1 {
			return nil, fmt.Errorf("%w: requirements longer than %d bytes", ErrTooLarge, maxReqBytes)
		}
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		toks := strings.Fields(text)
		if len(toks) == 0 {
			continue
		}
		if toks[0] == "chain" {
			if len(toks) != 2 {
				return nil, &ParseError{Line: n, Msg: "want: chain NAME"}
			}
			chain = toks[1]
			continue
		}
		if len(out) >= maxReqStatements {
			return nil, fmt.Errorf("%w: more than %d statements", ErrTooLarge, maxReqStatements)
		}
		req, err := parseStatement(toks)
		if err != nil {
			return nil, &ParseError{Line: n, Msg: err.Error()}
		}
		req.Line, req.Text = n, strings.Join(toks, " ")
		if req.Chain == "" {
			req.Chain = chain
		}
		out = append(out, req)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line %d longer than %d bytes", ErrTooLarge, n+1, maxReqLine)
		}
		return nil, fmt.Errorf("policy: read requirements: %w", err)
	}
	return out, nil
}

func parseStatement(toks []string) (Requirement, error) {
	var q Requirement
	if len(toks) < 6 {
		return q, errors.New("want: allow|deny|only PROTO from ADDRS to ADDRS [clauses]")
	}
	switch toks[0] {
	case "allow", "deny", "only":
		q.Verb = toks[0]
	default:
		return q, fmt.Errorf("unknown verb %q (allow, deny, only)", truncate(toks[0]))
	}
	if toks[1] != "any" && toks[1] != "all" {
		p, err := protoNum(toks[1])
		if err != nil {
			return q, err
		}
		q.Protos = []uint8{p}
	}
	if toks[2] != "from" || toks[4] != "to" {
		return q, errors.New("want: VERB PROTO from ADDRS to ADDRS")
	}
	var err error
	if q.Src, err = parseReqAddrs(toks[3]); err != nil {
		return q, err
	}
	if q.Dst, err = parseReqAddrs(toks[5]); err != nil {
		return q, err
	}
	seen := map[string]bool{}
	rest := toks[6:]
	for len(rest) > 0 {
		kw := rest[0]
		if seen[kw] {
			return q, fmt.Errorf("clause %q given twice", kw)
		}
		seen[kw] = true
		need := 2
		if kw == "except" {
			if len(rest) < 2 || rest[1] != "from" {
				return q, errors.New("want: except from ADDRS")
			}
			need = 3
		}
		if len(rest) < need {
			return q, fmt.Errorf("clause %q needs a value", truncate(kw))
		}
		v := rest[need-1]
		switch kw {
		case "port", "sport":
			pm, err := parseReqPorts(v)
			if err != nil {
				return q, err
			}
			if kw == "port" {
				q.Dport = pm
			} else {
				q.Sport = pm
			}
		case "in", "out":
			if len(v) > maxIfaceLen && !strings.HasSuffix(v, "+") || len(v) > maxIfaceLen+1 {
				return q, fmt.Errorf("interface %q longer than %d bytes", truncate(v), maxIfaceLen)
			}
			m := &IfaceMatch{Name: v}
			if kw == "in" {
				q.In = m
			} else {
				q.Out = m
			}
		case "state":
			for _, s := range strings.Split(v, ",") {
				st, ok := ParseConnState(s)
				if !ok {
					return q, fmt.Errorf("unknown state %q", truncate(s))
				}
				q.States = append(q.States, st)
			}
		case "chain":
			q.Chain = v
		case "except":
			a, err := parseReqAddrs(v)
			if err != nil {
				return q, err
			}
			q.Except = &a
		default:
			return q, fmt.Errorf("unknown clause %q (port, sport, in, out, state, chain, except from)", truncate(kw))
		}
		rest = rest[need:]
	}
	if q.Dport != nil || q.Sport != nil {
		if q.Protos == nil {
			q.Protos = []uint8{6, 17, 132}
		} else if p := q.Protos[0]; p != 6 && p != 17 && p != 132 {
			return q, fmt.Errorf("protocol %s has no ports", protoName(p))
		}
	}
	if q.States == nil {
		q.States = []ConnState{StateNew}
	}
	return q, nil
}

func protoNum(s string) (uint8, error) {
	for n, name := range protoNames {
		if strings.EqualFold(name, s) {
			return n, nil
		}
	}
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown protocol %q", truncate(s))
	}
	return uint8(v), nil
}

func parseReqAddrs(s string) (AddrMatch, error) {
	var m AddrMatch
	if s == "any" {
		return m, nil
	}
	items := strings.Split(s, ",")
	if len(items) > maxReqItems {
		return m, fmt.Errorf("more than %d addresses in one list", maxReqItems)
	}
	for _, it := range items {
		if from, to, ok := strings.Cut(it, "-"); ok {
			a, err1 := netip.ParseAddr(from)
			b, err2 := netip.ParseAddr(to)
			if err1 != nil || err2 != nil || a.Is4() != b.Is4() || b.Less(a) || a.Zone() != "" || b.Zone() != "" {
				return m, fmt.Errorf("bad address range %q", truncate(it))
			}
			m.Ranges = append(m.Ranges, AddrRange{a, b})
			continue
		}
		if strings.Contains(it, "/") {
			p, err := netip.ParsePrefix(it)
			if err != nil {
				return m, fmt.Errorf("bad prefix %q", truncate(it))
			}
			m.Prefixes = append(m.Prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(it)
		if err != nil || a.Zone() != "" {
			return m, fmt.Errorf("bad address %q", truncate(it))
		}
		m.Prefixes = append(m.Prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return m, nil
}

func parseReqPorts(s string) (*PortMatch, error) {
	m := &PortMatch{}
	if s == "any" {
		return m, nil
	}
	items := strings.Split(s, ",")
	if len(items) > maxReqItems {
		return nil, fmt.Errorf("more than %d ports in one list", maxReqItems)
	}
	for _, it := range items {
		from, to, ok := strings.Cut(it, "-")
		if !ok {
			from, to, _ = strings.Cut(it, ":")
		}
		if to == "" {
			to = from
		}
		a, err1 := strconv.ParseUint(from, 10, 16)
		b, err2 := strconv.ParseUint(to, 10, 16)
		if err1 != nil || err2 != nil || b < a {
			return nil, fmt.Errorf("bad port %q", truncate(it))
		}
		m.Ranges = append(m.Ranges, PortRange{uint16(a), uint16(b)})
	}
	return m, nil
}

// family reports the address family the statement's addresses name, or 0
// when they are all "any".
func (q *Requirement) family() (Family, error) {
	var fam Family
	for _, m := range []*AddrMatch{&q.Src, &q.Dst, q.Except} {
		if m == nil {
			continue
		}
		var addrs []netip.Addr
		for _, p := range m.Prefixes {
			addrs = append(addrs, p.Addr())
		}
		for _, r := range m.Ranges {
			addrs = append(addrs, r.From)
		}
		for _, a := range addrs {
			f := IPv6
			if a.Is4() {
				f = IPv4
			}
			if fam != 0 && f != fam {
				return 0, errors.New("mixes IPv4 and IPv6 addresses")
			}
			fam = f
		}
	}
	return fam, nil
}

// space returns the packets the statement describes, without its except
// clause; anySrc widens the source to every address.
func (q *Requirement) space(fam Family, anySrc bool) (box, error) {
	r := Rule{Proto: ProtoMatch{Any: true}, In: q.In, Out: q.Out, State: []StateMatch{{States: q.States}}}
	if !anySrc && (len(q.Src.Prefixes) > 0 || len(q.Src.Ranges) > 0) {
		r.Src = []AddrMatch{q.Src}
	}
	if len(q.Dst.Prefixes) > 0 || len(q.Dst.Ranges) > 0 {
		r.Dst = []AddrMatch{q.Dst}
	}
	if q.Dport != nil && len(q.Dport.Ranges) > 0 {
		r.DstPort = []PortMatch{*q.Dport}
	}
	if q.Sport != nil && len(q.Sport.Ranges) > 0 {
		r.SrcPort = []PortMatch{*q.Sport}
	}
	b, err := r.space(fam)
	if err != nil {
		return b, err
	}
	if q.Protos != nil {
		var s set
		for _, p := range q.Protos {
			s = union(s, single(u(uint64(p)), u(uint64(p))))
		}
		b[dimProto] = s
	}
	return b, nil
}

// RequireReport is the outcome of checking a required policy.
type RequireReport struct {
	Statements int      `json:"statements"` // statements checked (per chain)
	Satisfied  int      `json:"satisfied"`
	Skipped    []string `json:"skipped,omitempty"` // statements of the other family or for absent chains
	Findings   []Detail `json:"findings,omitempty"`
}

// Check verifies each statement over the chain's decision function: the
// region the chain accepts is the union of the packets its ACCEPT rules
// decide (and what its policy decides when that is ACCEPT), and each verb is
// a set comparison with it. A failed statement is a finding (missing: a
// packet it requires accepted is not; violation: a packet it requires not
// accepted is) with the exact region that fails and an example packet,
// replayed with Decide to name the rule that decides it. The finding's
// Line and Rule are that deciding rule's (or the policy's); the reason
// quotes the statement and its line in the requirements file.
func (cp *Compiled) Check(ctx context.Context, reqs []Requirement) (*RequireReport, error) {
	c := cp.c
	rs := c.rs
	rep := &RequireReport{}
	accepted := func(a Action) bool { return a == Accept }
	notAccepted := func(a Action) bool { return a != Accept }
	for _, q := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fam, err := q.family()
		if err != nil {
			return nil, fmt.Errorf("policy: requirement line %d: %w", q.Line, err)
		}
		if fam != 0 && fam != rs.Family {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("line %d: IPv%d statement, IPv%d rule set", q.Line, fam, rs.Family))
			continue
		}
		chains := c.order
		if q.Chain != "" {
			if c.chains[q.Chain] == nil {
				rep.Skipped = append(rep.Skipped, fmt.Sprintf("line %d: no built-in chain %s", q.Line, q.Chain))
				continue
			}
			chains = []string{q.Chain}
		}
		want, err := q.space(rs.Family, false)
		if err != nil {
			return nil, fmt.Errorf("policy: requirement line %d: %w", q.Line, err)
		}
		wantR := region{want}
		if q.Except != nil {
			ex := Rule{Proto: ProtoMatch{Any: true}, Src: []AddrMatch{*q.Except}}
			eb, err := ex.space(rs.Family)
			if err != nil {
				return nil, fmt.Errorf("policy: requirement line %d: %w", q.Line, err)
			}
			wantR = wantR.minus(&eb)
		}
		for _, name := range chains {
			dm := c.chains[name].dm
			rep.Statements++
			type failure struct {
				kind string
				bad  region
			}
			var fails []failure
			check := func(kind string, r region, want func(Action) bool) {
				if err != nil {
					return
				}
				var bad region
				if bad, err = regionWhere(dm, r, want); err == nil && len(bad) > 0 {
					fails = append(fails, failure{kind, bad})
				}
			}
			switch q.Verb {
			case "allow":
				check(KindMissing, wantR, notAccepted)
			case "deny":
				check(KindViolation, wantR, accepted)
			case "only":
				check(KindMissing, wantR, notAccepted)
				var others box
				if others, err = q.space(rs.Family, true); err == nil {
					check(KindViolation, region{others}.minus(&want), accepted)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("policy: requirement line %d, chain %s: %w", q.Line, name, err)
			}
			if len(fails) == 0 {
				rep.Satisfied++
			}
			for _, fl := range fails {
				ev := newEvidence(rs, name, fl.bad)
				f := Finding{Kind: fl.kind, Chain: name, Reason: requireReason(q, fl.kind, ev)}
				if d := ev.Example.Decision; d != nil {
					f.Line, f.Rule = d.Line, d.Rule
				}
				rep.Findings = append(rep.Findings, Detail{Finding: f, Evidence: ev})
			}
		}
	}
	slices.SortStableFunc(rep.Findings, func(a, b Detail) int { return strings.Compare(a.Chain, b.Chain) })
	return rep, nil
}

func regionWhere(dm *decisionMap, r region, want func(Action) bool) (region, error) {
	var out region
	for i := range r {
		x, err := dm.where(&r[i], want)
		if err != nil {
			return nil, err
		}
		out = append(out, x...)
		if len(out) > maxFragments {
			return nil, fmt.Errorf("%w: region splits into more than %d parts", ErrTooLarge, maxFragments)
		}
	}
	return out, nil
}

func requireReason(q Requirement, kind string, ev *Evidence) string {
	what := "accepted"
	if kind == KindMissing {
		what = "not accepted"
	}
	s := fmt.Sprintf("requirement line %d %q fails: %s packet headers are %s", q.Line, q.Text, countText(ev.Packets), what)
	if d := ev.Example.Decision; d != nil {
		if d.Policy {
			s += fmt.Sprintf(", e.g. %s %s:%d -> %s:%d gets %s from the %s policy", ev.Example.Proto, ev.Example.Src, ev.Example.SrcPort,
				ev.Example.Dst, ev.Example.DstPort, d.Action, d.Chain)
		} else {
			s += fmt.Sprintf(", e.g. %s %s:%d -> %s:%d gets %s from line %d", ev.Example.Proto, ev.Example.Src, ev.Example.SrcPort,
				ev.Example.Dst, ev.Example.DstPort, d.Action, d.Line)
		}
	}
	return s
}
