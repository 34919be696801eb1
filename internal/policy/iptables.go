package policy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Input bounds.
const (
	// MaxInputBytes bounds the size of a configuration file.
	MaxInputBytes = 64 << 20
	// MaxRules bounds the number of rules in a rule set.
	MaxRules = 200_000
	maxLine  = 1 << 20
)

// ErrTooLarge reports input beyond MaxInputBytes, MaxRules or line length.
var ErrTooLarge = errors.New("policy: input too large")

// ParseError is a syntax error at a line of the input.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ParseIptablesSave parses the filter table of iptables-save (fam IPv4) or
// ip6tables-save (fam IPv6) output.
//
// The parser is strict: an option, match module or target it does not model
// is an error naming the line, so no rule is ever silently weakened or
// dropped. Other tables (nat, mangle, raw, security) do not decide whether a
// packet is filtered; they are recorded in RuleSet.Skipped with their header
// line and not parsed further.
func ParseIptablesSave(r io.Reader, fam Family) (*RuleSet, error) {
	if fam != IPv4 && fam != IPv6 {
		return nil, fmt.Errorf("policy: unknown family %d", fam)
	}
	rs := &RuleSet{Family: fam, Format: "iptables-save", byName: map[string]*Chain{}, spaces: map[*Rule]box{}}
	sc := bufio.NewScanner(io.LimitReader(r, MaxInputBytes+1))
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var (
		lineNo, size int
		table        string
		skipping     bool
		sawFilter    bool
		committed    bool
	)
	perr := func(format string, a ...any) error {
		return &ParseError{Line: lineNo, Msg: fmt.Sprintf(format, a...)}
	}
	for sc.Scan() {
		lineNo++
		raw := sc.Text()
		size += len(raw) + 1
		if size > MaxInputBytes+1 {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxInputBytes)
		}
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		switch {
		case strings.HasPrefix(line, "*"):
			if table != "" {
				return nil, perr("table %q starts before COMMIT of %q", line[1:], table)
			}
			table = line[1:]
			skipping = table != "filter"
			if skipping {
				rs.Skipped = append(rs.Skipped, Skipped{Line: lineNo, Reason: "table " + table + " does not filter packets; not analysed"})
			} else {
				if sawFilter {
					return nil, perr("second filter table")
				}
				sawFilter = true
			}
			continue
		case line == "COMMIT":
			if table == "" {
				return nil, perr("COMMIT outside a table")
			}
			if !skipping {
				committed = true
			}
			table = ""
			continue
		}
		if table == "" {
			return nil, perr("line outside a table: %q", truncate(line))
		}
		if skipping {
			continue
		}
		if strings.HasPrefix(line, ":") {
			if err := rs.parseChainHeader(line[1:], lineNo); err != nil {
				return nil, perr("%v", err)
			}
			continue
		}
		if strings.HasPrefix(line, "[") {
			// Counters from iptables-save -c: "[packets:bytes] -A ...".
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, perr("unterminated counters")
			}
			line = strings.TrimSpace(line[end+1:])
		}
		toks, err := tokenize(line)
		if err != nil {
			return nil, perr("%v", err)
		}
		if len(toks) < 2 || toks[0] != "-A" {
			return nil, perr("unsupported line %q (only -A rules and :CHAIN headers)", truncate(line))
		}
		c := rs.byName[toks[1]]
		if c == nil {
			return nil, perr("rule for undeclared chain %q", toks[1])
		}
		if rs.NumRules() >= MaxRules {
			return nil, fmt.Errorf("%w: more than %d rules", ErrTooLarge, MaxRules)
		}
		rule := &Rule{Chain: c.Name, Line: lineNo, Text: line, Proto: ProtoMatch{Any: true}}
		if err := parseRuleArgs(rule, toks[2:]); err != nil {
			return nil, perr("%v", err)
		}
		sp, err := rule.space(fam)
		if err != nil {
			return nil, perr("%v", err)
		}
		rs.spaces[rule] = sp
		c.Rules = append(c.Rules, rule)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line %d longer than %d bytes", ErrTooLarge, lineNo+1, maxLine)
		}
		return nil, fmt.Errorf("policy: read: %w", err)
	}
	lineNo = max(lineNo, 1) // errors at the end of input name its last line
	if table != "" {
		return nil, &ParseError{Line: lineNo, Msg: fmt.Sprintf("table %q has no COMMIT", table)}
	}
	if !sawFilter || !committed {
		return nil, &ParseError{Line: lineNo, Msg: "no *filter table"}
	}
	if err := rs.Finish(); err != nil {
		return nil, err
	}
	return rs, nil
}

// checkLoops rejects jump cycles between user chains, as iptables-restore
// does.
func (rs *RuleSet) checkLoops() error {
	const (
		unseen = iota
		active
		done
	)
	state := map[*Chain]int{}
	var visit func(c *Chain) error
	visit = func(c *Chain) error {
		state[c] = active
		for _, r := range c.Rules {
			if r.Action != Jump {
				continue
			}
			t := rs.byName[r.Target]
			switch state[t] {
			case active:
				return &ParseError{Line: r.Line, Msg: fmt.Sprintf("%v: chain %s jumps back to %s", ErrLoop, c.Name, t.Name)}
			case unseen:
				if err := visit(t); err != nil {
					return err
				}
			}
		}
		state[c] = done
		return nil
	}
	for _, c := range rs.Chains {
		if state[c] == unseen {
			if err := visit(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

var builtinChains = map[string]bool{"INPUT": true, "FORWARD": true, "OUTPUT": true}

func (rs *RuleSet) parseChainHeader(s string, lineNo int) error {
	f := strings.Fields(s)
	if len(f) < 2 || len(f) > 3 {
		return fmt.Errorf("bad chain header %q", truncate(s))
	}
	name, pol := f[0], f[1]
	if rs.byName[name] != nil {
		return fmt.Errorf("chain %q declared twice", name)
	}
	c := &Chain{Name: name, PolicyLine: lineNo}
	switch {
	case builtinChains[name]:
		switch Action(pol) {
		case Accept, Drop:
			c.Policy = Action(pol)
		default:
			return fmt.Errorf("bad policy %q for built-in chain %s", pol, name)
		}
	case pol == "-":
		c.PolicyLine = 0
	default:
		return fmt.Errorf("user chain %s with policy %q", name, pol)
	}
	if strings.HasPrefix(name, "-") || name == "" || len(name) > 28 {
		return fmt.Errorf("bad chain name %q", name)
	}
	rs.Chains = append(rs.Chains, c)
	rs.byName[name] = c
	return nil
}

// tokenize splits a rule line into words; double quotes group words and a
// backslash escapes the next character inside them, as iptables-save writes.
func tokenize(s string) ([]string, error) {
	var (
		toks []string
		cur  strings.Builder
		in   bool // inside a word
		q    bool // inside quotes
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case q && ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case ch == '"':
			q = !q
			in = true
		case !q && (ch == ' ' || ch == '\t'):
			if in {
				toks = append(toks, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if q {
		return nil, errors.New("unterminated quote")
	}
	if in {
		toks = append(toks, cur.String())
	}
	return toks, nil
}

var protoNums = map[string]uint8{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
	"icmpv6": 58, "ipv6-icmp": 58, "sctp": 132, "udplite": 136,
}

// portProtos are the protocols whose packets carry ports.
var portProtos = map[uint8]bool{6: true, 17: true, 132: true, 136: true}

func parseRuleArgs(r *Rule, toks []string) error {
	var (
		neg     bool
		modules = map[string]bool{}
		sawJ    bool
	)
	next := func(i *int, opt string) (string, error) {
		*i++
		if *i >= len(toks) {
			return "", fmt.Errorf("%s needs an argument", opt)
		}
		return toks[*i], nil
	}
	needPorts := func(opt string) error {
		if r.Proto.Any || r.Proto.Negate || !portProtos[r.Proto.Num] {
			return fmt.Errorf("%s needs -p tcp, udp, sctp or udplite", opt)
		}
		return nil
	}
	needModule := func(opt string, mods ...string) error {
		for _, m := range mods {
			if modules[m] {
				return nil
			}
		}
		return fmt.Errorf("%s needs -m %s", opt, mods[0])
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t == "!" {
			if neg {
				return errors.New("double negation")
			}
			neg = true
			continue
		}
		wasNeg := neg
		neg = false
		noNeg := func() error {
			if wasNeg {
				return fmt.Errorf("%s cannot be negated", t)
			}
			return nil
		}
		switch t {
		case "-s", "--source", "-d", "--destination":
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			m := AddrMatch{Negate: wasNeg}
			for _, a := range strings.Split(v, ",") {
				p, err := parseAddr(a)
				if err != nil {
					return err
				}
				m.Prefixes = append(m.Prefixes, p)
			}
			if t == "-s" || t == "--source" {
				r.Src = append(r.Src, m)
			} else {
				r.Dst = append(r.Dst, m)
			}
		case "-p", "--protocol":
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			if !r.Proto.Any {
				return errors.New("-p given twice")
			}
			v = strings.ToLower(v)
			if v == "all" || v == "0" {
				if wasNeg {
					return errors.New("! -p all matches nothing")
				}
				continue
			}
			n, ok := protoNums[v]
			if !ok {
				x, err := strconv.ParseUint(v, 10, 8)
				if err != nil {
					return fmt.Errorf("unknown protocol %q", v)
				}
				n = uint8(x)
			}
			r.Proto = ProtoMatch{Num: n, Negate: wasNeg}
		case "-i", "--in-interface", "-o", "--out-interface":
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			m := &IfaceMatch{Name: v, Negate: wasNeg}
			if _, err := ifaceSet(m, nil); err != nil {
				return err
			}
			if t == "-i" || t == "--in-interface" {
				if r.In != nil {
					return errors.New("-i given twice")
				}
				r.In = m
			} else {
				if r.Out != nil {
					return errors.New("-o given twice")
				}
				r.Out = m
			}
		case "-m", "--match":
			if err := noNeg(); err != nil {
				return err
			}
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			switch v {
			case "tcp", "udp", "sctp", "udplite":
				if r.Proto.Any || r.Proto.Negate || r.Proto.Num != protoNums[v] {
					return fmt.Errorf("-m %s needs -p %s", v, v)
				}
			case "multiport", "iprange", "conntrack", "state", "comment":
			default:
				return fmt.Errorf("unsupported match module %q", v)
			}
			modules[v] = true
		case "--dport", "--destination-port", "--sport", "--source-port":
			if err := needPorts(t); err != nil {
				return err
			}
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			pr, err := parsePortRange(v)
			if err != nil {
				return err
			}
			m := PortMatch{Ranges: []PortRange{pr}, Negate: wasNeg}
			if strings.HasPrefix(t, "--d") {
				r.DstPort = append(r.DstPort, m)
			} else {
				r.SrcPort = append(r.SrcPort, m)
			}
		case "--dports", "--destination-ports", "--sports", "--source-ports", "--ports":
			if err := needModule(t, "multiport"); err != nil {
				return err
			}
			if err := needPorts(t); err != nil {
				return err
			}
			if t == "--ports" {
				return errors.New("multiport --ports (either direction) is unsupported")
			}
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			m := PortMatch{Negate: wasNeg}
			parts := strings.Split(v, ",")
			if len(parts) > 15 {
				return errors.New("multiport takes at most 15 ports")
			}
			for _, p := range parts {
				pr, err := parsePortRange(p)
				if err != nil {
					return err
				}
				m.Ranges = append(m.Ranges, pr)
			}
			if strings.HasPrefix(t, "--d") {
				r.DstPort = append(r.DstPort, m)
			} else {
				r.SrcPort = append(r.SrcPort, m)
			}
		case "--src-range", "--dst-range":
			if err := needModule(t, "iprange"); err != nil {
				return err
			}
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			from, to, ok := strings.Cut(v, "-")
			if !ok {
				to = from
			}
			a, err1 := netip.ParseAddr(from)
			b, err2 := netip.ParseAddr(to)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("bad address range %q", v)
			}
			m := AddrMatch{Ranges: []AddrRange{{a, b}}, Negate: wasNeg}
			if t == "--src-range" {
				r.Src = append(r.Src, m)
			} else {
				r.Dst = append(r.Dst, m)
			}
		case "--ctstate", "--state":
			if t == "--ctstate" {
				if err := needModule(t, "conntrack"); err != nil {
					return err
				}
			} else if err := needModule(t, "state"); err != nil {
				return err
			}
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			m := StateMatch{Negate: wasNeg}
			for _, name := range strings.Split(v, ",") {
				st, ok := ParseConnState(name)
				if !ok {
					return fmt.Errorf("unsupported conntrack state %q", name)
				}
				m.States = append(m.States, st)
			}
			r.State = append(r.State, m)
		case "--comment":
			if err := needModule(t, "comment"); err != nil {
				return err
			}
			if err := noNeg(); err != nil {
				return err
			}
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			r.Comment = v
		case "-j", "--jump":
			if err := noNeg(); err != nil {
				return err
			}
			if sawJ {
				return errors.New("-j given twice")
			}
			sawJ = true
			v, err := next(&i, t)
			if err != nil {
				return err
			}
			r.Target = v
			switch Action(v) {
			case Accept, Drop, Return:
				r.Action = Action(v)
			case Reject:
				r.Action = Reject
				if i+2 < len(toks) && toks[i+1] == "--reject-with" {
					i += 2
				}
			case Log:
				r.Action = Log
				for i+2 < len(toks) && strings.HasPrefix(toks[i+1], "--log-") {
					switch toks[i+1] {
					case "--log-prefix", "--log-level":
						i += 2
					default:
						return fmt.Errorf("unsupported LOG option %q", toks[i+1])
					}
				}
			default:
				if !isUserChainName(v) {
					return fmt.Errorf("unsupported target %q", v)
				}
				r.Action = Jump
			}
		case "-g", "--goto":
			return errors.New("-g (goto) is unsupported")
		default:
			return fmt.Errorf("unsupported option %q", t)
		}
	}
	if neg {
		return errors.New("! with nothing after it")
	}
	return nil
}

// isUserChainName reports whether a target can name a user chain rather than
// a known extension target the model does not cover. Anything else is taken as
// a jump and checked against the declared chains once the table is read.
func isUserChainName(v string) bool {
	switch v {
	case "MARK", "CONNMARK", "NFLOG", "NFQUEUE", "TCPMSS", "CT", "NOTRACK", "SNAT", "DNAT",
		"MASQUERADE", "REDIRECT", "TPROXY", "AUDIT", "CHECKSUM", "CLASSIFY", "SET", "TRACE",
		"TEE", "ULOG", "CLUSTERIP", "SECMARK", "CONNSECMARK", "DSCP", "TOS", "TTL", "HL", "QUEUE":
		return false
	}
	return true
}

func parseAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			// iptables also accepts a dotted netmask.
			a, m, _ := strings.Cut(s, "/")
			addr, err1 := netip.ParseAddr(a)
			mask, err2 := netip.ParseAddr(m)
			if err1 != nil || err2 != nil || !addr.Is4() || !mask.Is4() {
				return netip.Prefix{}, fmt.Errorf("bad address %q", s)
			}
			mb := mask.As4()
			v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
			ones := 0
			for v&0x80000000 != 0 {
				ones++
				v <<= 1
			}
			if v != 0 {
				return netip.Prefix{}, fmt.Errorf("non-contiguous netmask in %q", s)
			}
			return netip.PrefixFrom(addr, ones).Masked(), nil
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q (host names are not resolved)", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parsePortRange(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(s, ":")
	parse := func(v string, def uint16) (uint16, error) {
		if v == "" {
			return def, nil
		}
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("bad port %q (service names are not resolved)", v)
		}
		return uint16(n), nil
	}
	a, err := parse(lo, 0)
	if err != nil {
		return PortRange{}, err
	}
	if !isRange {
		if lo == "" {
			return PortRange{}, errors.New("empty port")
		}
		return PortRange{a, a}, nil
	}
	b, err := parse(hi, 65535)
	if err != nil {
		return PortRange{}, err
	}
	if b < a {
		return PortRange{}, fmt.Errorf("port range %q is reversed", s)
	}
	return PortRange{a, b}, nil
}
