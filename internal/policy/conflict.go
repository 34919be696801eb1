package policy

import (
	"context"
	"fmt"
	"slices"
)

// Kinds of the extended analyses.
const (
	KindConflict        = "conflict"
	KindUnused          = "unused"
	KindStale           = "stale"
	KindMissing         = "missing"
	KindViolation       = "violation"
	KindLoggingDisabled = "logging-disabled"
	KindNoSecProfile    = "no-security-profile"

	maxEvidenceBoxes    = 8
	maxConflictsPerRule = 5
)

// Evidence backs a finding with the exact packets it is about.
type Evidence struct {
	Boxes   []Region `json:"boxes,omitempty"` // at most 8; More says when there are others
	More    bool     `json:"more,omitempty"`
	Packets float64  `json:"packets,omitempty"` // distinct packet headers in the region
	Example *Example `json:"example,omitempty"`
}

// Detail is a finding with the evidence the extended analyses attach.
type Detail struct {
	Finding
	Evidence *Evidence `json:"evidence,omitempty"`
}

func newEvidence(rs *RuleSet, chain string, r region) *Evidence {
	if len(r) == 0 {
		return nil
	}
	ev := &Evidence{}
	for i := range r {
		ev.Packets += boxSize(&r[i])
		if i < maxEvidenceBoxes {
			ev.Boxes = append(ev.Boxes, renderBox(rs.Family, &r[i]))
		} else {
			ev.More = true
		}
	}
	ev.Example = newExample(rs, chain, exampleFlow(rs.Family, &r[0]))
	return ev
}

// Compiled is a rule set's exact decision function, computed once and shared
// by the conflict, requirement and proposal analyses.
type Compiled struct {
	c *compiled
}

// Compile inlines every built-in chain of rs and computes the packets each
// rule decides. maxEntries bounds the inlined sequences (0: DefaultMaxEntries).
func Compile(ctx context.Context, rs *RuleSet, maxEntries int) (*Compiled, error) {
	c, err := compile(ctx, rs, maxEntries)
	if err != nil {
		return nil, fmt.Errorf("policy: compile: %w", err)
	}
	return &Compiled{c: c}, nil
}

// results gathers each rule's instances, as Analyze does.
func (c *compiled) results() map[*Rule]*ruleResult {
	out := map[*Rule]*ruleResult{}
	for _, name := range c.order {
		seq := c.chains[name].seq
		for k := range seq[:len(seq)-1] {
			e := &seq[k]
			res := out[e.rule]
			if res == nil {
				res = &ruleResult{}
				out[e.rule] = res
			}
			res.instances = append(res.instances, instance{seq: seq, idx: k, effective: e.eff})
		}
	}
	return out
}

func reached(res *ruleResult) bool {
	if res == nil {
		return false
	}
	for _, in := range res.instances {
		if len(in.effective) > 0 {
			return true
		}
	}
	return false
}

// Conflicts reports correlated rules: a terminal rule that is neither
// shadowed nor redundant and whose match space is partly decided first by
// an earlier terminal rule with a different action. Each pair (earlier,
// later) is reported once, on the later rule, with the exact overlap
// region (the packets the later rule matches that the earlier one decides)
// and one example packet from it. At most five earlier rules are reported
// per rule, in chain order; Related lists the earlier rule's line.
//
// Such a pair is not an error by itself (a narrow DROP before a broad
// ACCEPT is the usual way to carve an exception), but reordering either
// rule changes the decision of every packet in the overlap. A later rule
// that matches every packet (a final "-j DROP") is not reported: it plays
// the part of a policy and overlaps everything before it by design.
func (cp *Compiled) Conflicts(ctx context.Context) ([]Detail, error) {
	c := cp.c
	results := c.results()
	type pair struct{ a, b *Rule }
	type acc struct {
		r     region
		chain string
		j, k  *entry
	}
	found := map[pair]*acc{}
	var order []pair
	perRule := map[*Rule]int{}
	all := full(c.rs.Family)
	for _, name := range c.order {
		cc := c.chains[name]
		seq := cc.seq
		for k := range seq[:len(seq)-1] {
			if k%256 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			e := &seq[k]
			if !e.action.terminal() || len(e.eff) == 0 {
				continue
			}
			if sp := c.rs.spaces[e.rule]; sp.containsBox(&all) {
				continue // a catch-all plays the part of a policy
			}
			if _, red := redundantWithout(c, e.rule, results[e.rule], nil); red {
				continue
			}
			for _, i := range cc.dm.idx.overlapping(&e.space) {
				p := &cc.dm.parts[i]
				if p.pos >= k || p.action == e.action || p.entry.rule == e.rule {
					continue
				}
				x, ok := p.b.intersect(&e.space)
				if !ok {
					continue
				}
				key := pair{p.entry.rule, e.rule}
				a := found[key]
				if a == nil {
					if perRule[e.rule] >= maxConflictsPerRule {
						continue
					}
					perRule[e.rule]++
					a = &acc{chain: name, j: p.entry, k: e}
					found[key] = a
					order = append(order, key)
				}
				a.r = append(a.r, x)
			}
		}
	}
	var out []Detail
	for _, key := range order {
		a := found[key]
		ev := newEvidence(c.rs, a.chain, a.r)
		f := Finding{Kind: KindConflict, Chain: key.b.Chain, Line: key.b.Line, Rule: key.b.Text,
			Related: []int{key.a.Line}, Conflicting: true,
			Reason: fmt.Sprintf("partially overlaps line %d: %s packet headers this %s rule matches get %s from line %d first; moving either rule changes their decision",
				key.a.Line, countText(ev.Packets), key.b.Action, key.a.Action, key.a.Line)}
		out = append(out, Detail{Finding: f, Evidence: ev})
	}
	slices.SortStableFunc(out, func(a, b Detail) int { return a.Line - b.Line })
	return out, nil
}
