package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/traffic"
)

// Policy is a list of flow rules; see policy.example.yaml for the format.
type Policy struct {
	Rules []Rule `yaml:"rules"`
}

// Rule matches flows; with Action "deny" a matching flow is a violation.
type Rule struct {
	Name     string   `yaml:"name"`
	Action   string   `yaml:"action"`
	Severity float64  `yaml:"severity"` // score of its findings, default 0.5
	Src      Endpoint `yaml:"src"`
	Dst      Endpoint `yaml:"dst"`
	Proto    string   `yaml:"proto"`
	Ports    []string `yaml:"ports"`
	Services []string `yaml:"services"`

	ports    []portRange
	srcNets  []netip.Prefix
	dstNets  []netip.Prefix
	services map[string]bool
}

// Endpoint selects addresses by zone and/or prefixes.
type Endpoint struct {
	Zone  string   `yaml:"zone"` // "internal", "external" or ""
	CIDRs []string `yaml:"cidrs"`
}

type portRange struct{ lo, hi uint16 }

// Policy limits.
const (
	maxPolicyBytes = 1 << 20
	maxPolicyRules = 1000
)

// ParsePolicy reads and validates a YAML policy.
func ParsePolicy(r io.Reader) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if len(data) > maxPolicyBytes {
		return nil, fmt.Errorf("policy: larger than %d bytes", maxPolicyBytes)
	}
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if len(p.Rules) > maxPolicyRules {
		return nil, fmt.Errorf("policy: %d rules, at most %d", len(p.Rules), maxPolicyRules)
	}
	lines := ruleLines(data)
	var errs []error
	for i := range p.Rules {
		if err := p.Rules[i].compile(); err != nil {
			at := ""
			if i < len(lines) {
				at = fmt.Sprintf("line %d: ", lines[i])
			}
			errs = append(errs, fmt.Errorf("policy %srule %d (%q): %w", at, i+1, p.Rules[i].Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &p, nil
}

// ruleLines returns the line where each rule of a policy starts, so that
// errors point at the rule in the editor.
func ruleLines(data []byte) []int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "rules" && doc.Content[i+1].Kind == yaml.SequenceNode {
			out := make([]int, 0, len(doc.Content[i+1].Content))
			for _, n := range doc.Content[i+1].Content {
				out = append(out, n.Line)
			}
			return out
		}
	}
	return nil
}

func (r *Rule) compile() error {
	if strings.TrimSpace(r.Name) == "" {
		return errors.New("name is required")
	}
	if r.Action != "deny" {
		return fmt.Errorf("action %q: only \"deny\" is supported", r.Action)
	}
	if r.Severity == 0 {
		r.Severity = 0.5
	}
	if r.Severity < 0 || r.Severity > 1 {
		return fmt.Errorf("severity %v: must be within 0..1", r.Severity)
	}
	switch r.Proto {
	case "", "tcp", "udp", "icmp":
	default:
		return fmt.Errorf("proto %q: want tcp, udp or icmp", r.Proto)
	}
	var err error
	if r.srcNets, err = r.Src.compile("src"); err != nil {
		return err
	}
	if r.dstNets, err = r.Dst.compile("dst"); err != nil {
		return err
	}
	for _, p := range r.Ports {
		lo, hi, isRange := strings.Cut(p, "-")
		a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		}
		if err1 != nil || err2 != nil || b < a {
			return fmt.Errorf("port %q: want a port or a range lo-hi within 0-65535", p)
		}
		r.ports = append(r.ports, portRange{uint16(a), uint16(b)})
	}
	if len(r.Services) > 0 {
		r.services = map[string]bool{}
		for _, s := range r.Services {
			r.services[strings.ToLower(s)] = true
		}
	}
	if r.Src.Zone == "" && len(r.srcNets) == 0 && r.Dst.Zone == "" && len(r.dstNets) == 0 &&
		len(r.ports) == 0 && r.services == nil && r.Proto == "" {
		return errors.New("matches every flow; give at least one condition")
	}
	return nil
}

func (e Endpoint) compile(side string) ([]netip.Prefix, error) {
	switch e.Zone {
	case "", "internal", "external":
	default:
		return nil, fmt.Errorf("%s zone %q: want internal or external", side, e.Zone)
	}
	var out []netip.Prefix
	for _, c := range e.CIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%s cidr %q: %w", side, c, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func endpointMatch(zone string, nets []netip.Prefix, a netip.Addr, internal bool) bool {
	switch zone {
	case "internal":
		if !internal {
			return false
		}
	case "external":
		if internal {
			return false
		}
	}
	if len(nets) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Match reports whether the rule matches a flow.
func (r *Rule) Match(c *traffic.Conn, srcIn, dstIn bool) bool {
	if r.Proto != "" && r.Proto != c.Proto {
		return false
	}
	if !endpointMatch(r.Src.Zone, r.srcNets, c.Src, srcIn) || !endpointMatch(r.Dst.Zone, r.dstNets, c.Dst, dstIn) {
		return false
	}
	if len(r.ports) == 0 && r.services == nil {
		return true
	}
	for _, p := range r.ports {
		if c.DstPort >= p.lo && c.DstPort <= p.hi {
			return true
		}
	}
	if r.services != nil && c.Service != "" {
		for _, s := range strings.Split(c.Service, ",") {
			if r.services[strings.ToLower(s)] {
				return true
			}
		}
	}
	return false
}

type violKey struct {
	rule     int
	src, dst netip.Addr
	port     uint16
}

type violAgg struct {
	n           int64
	bytes       int64
	first, last time.Time
	proto       string
	service     string
}

type violations struct {
	aggs  *table[violKey, violAgg]
	rules []Rule
}

func newViolations(maxPairs int) *violations {
	return &violations{aggs: newTable[violKey](maxPairs, func(g *violAgg) int64 { return g.n })}
}

func (v *violations) add(p *Policy, _ *Zones, c *traffic.Conn, srcIn, dstIn bool) {
	v.rules = p.Rules
	for i := range p.Rules {
		if !p.Rules[i].Match(c, srcIn, dstIn) {
			continue
		}
		k := violKey{i, c.Src, c.Dst, c.DstPort}
		g, added := v.aggs.getOrAdd(k)
		if added {
			*g = violAgg{first: c.TS, last: c.TS, proto: c.Proto, service: c.Service}
		}
		g.n++
		g.bytes += c.OrigBytes + c.RespBytes
		if c.TS.Before(g.first) {
			g.first = c.TS
		}
		if c.TS.After(g.last) {
			g.last = c.TS
		}
	}
}

func (v *violations) findings(*scoreCtx) []Finding {
	var out []Finding
	v.aggs.each(func(k violKey, g *violAgg) {
		r := v.rules[k.rule]
		sub := []SubScore{{Name: "rule severity", Value: r.Severity, Detail: r.Name}}
		svc := ""
		if g.service != "" {
			svc = " (" + g.service + ")"
		}
		out = append(out, Finding{Class: ClassViolation, Src: k.src, Dst: k.dst, DstPort: k.port, Proto: g.proto, Rule: r.Name,
			Score: r.Severity, First: g.first.UTC(), Last: g.last.UTC(), Count: g.n, Bytes: g.bytes, SubScores: sub,
			Explanation: fmt.Sprintf("%d %s flows from %s to %s port %d%s break the rule %q", g.n, g.proto, k.src, k.dst, k.port, svc, r.Name)})
	})
	return out
}
