package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Finding kinds.
const (
	KindShadowed   = "shadowed"
	KindRedundant  = "redundant"
	KindOverBroad  = "over-broad"
	KindNotModeled = "not-analysed"
)

// Finding is one result of the analysis.
type Finding struct {
	Kind        string `json:"kind"`
	Chain       string `json:"chain"`
	Line        int    `json:"line"`
	Rule        string `json:"rule,omitempty"`
	Reason      string `json:"reason"`
	Related     []int  `json:"related_lines,omitempty"`
	Conflicting bool   `json:"conflicting,omitempty"`
}

// ErrLoop reports a cycle of jumps between user chains, which iptables
// itself refuses to load.
var ErrLoop = errors.New("policy: jump loop")

// maxFragments bounds the boxes one rule's region may split into, against
// inputs built to make the exact computation explode.
const maxFragments = 1 << 16

// DefaultMaxEntries bounds the size of the rule sequence after user chains
// are inlined.
const DefaultMaxEntries = 2_000_000

// Options configures Analyze.
type Options struct {
	Logger     *slog.Logger
	MaxEntries int // 0 means DefaultMaxEntries
}

// entry is one rule instance in the inlined sequence of a built-in chain.
// User chains are inlined at every jump that reaches them, with the jump's
// match space intersected into each of their rules; the chain policy is the
// last entry, with the whole space.
type entry struct {
	rule   *Rule // nil for the policy
	chain  *Chain
	space  box
	action Action
	// scopeEnd applies to RETURN: packets it matches skip the entries
	// before scopeEnd (the rest of the inlined chain instance).
	scopeEnd int
	// eff is the set of packets that reach the entry and match it.
	eff region
}

func (e *entry) line() int {
	if e.rule == nil {
		return e.chain.PolicyLine
	}
	return e.rule.Line
}

type flattener struct {
	rs    *RuleSet
	seq   []entry
	max   int
	stack []*Chain
}

func (f *flattener) flatten(c *Chain, ctx box) error {
	var returns []int
	for _, r := range c.Rules {
		sp := f.rs.spaces[r]
		b, ok := sp.intersect(&ctx)
		if !ok {
			continue // the rule can match nothing that reaches it here
		}
		if len(f.seq) >= f.max {
			return fmt.Errorf("%w: more than %d rules after inlining user chains", ErrTooLarge, f.max)
		}
		f.seq = append(f.seq, entry{rule: r, chain: c, space: b, action: r.Action})
		switch r.Action {
		case Return:
			returns = append(returns, len(f.seq)-1)
		case Jump:
			t := f.rs.byName[r.Target]
			if slices.Contains(f.stack, t) {
				return fmt.Errorf("%w: line %d jumps back to chain %s", ErrLoop, r.Line, t.Name)
			}
			f.stack = append(f.stack, t)
			if err := f.flatten(t, b); err != nil {
				return err
			}
			f.stack = f.stack[:len(f.stack)-1]
		}
	}
	for _, i := range returns {
		f.seq[i].scopeEnd = len(f.seq)
	}
	return nil
}

// instance is where one rule sits in one inlined sequence, and the packets
// it decides there (its match space minus everything decided or returned
// by the entries before it).
type instance struct {
	seq       []entry
	idx       int
	effective region
}

type ruleResult struct {
	instances []instance
	related   []int
}

// Analyze reports shadowed, redundant and over-broad rules of rs.
//
// What the findings prove, for every packet of the match space (not samples):
//
//   - shadowed: no packet that reaches the rule matches it, because entries
//     before it (in every built-in chain and jump path that reaches it)
//     already decided or returned every packet of its space. Related lines
//     are the earlier rules that take part of its space; Conflicting is set
//     when one of them has a different action.
//   - redundant: an ACCEPT, DROP or REJECT rule whose removal changes no
//     packet's decision. Exactly the packets the rule decides can change
//     when it is removed; each is followed through the entries after it
//     (RETURN sends it past the rest of its chain instance, other instances
//     of the same rule are removed too) and the first terminal entry or the
//     chain policy it reaches must have the same action. A finding holds
//     for removing that one rule; removing two redundant rules together may
//     not be safe (two identical rules are each redundant alone). A rule
//     whose follow-up splits into more than maxFragments parts is not
//     reported, so the finding stays a proof.
//   - over-broad: an ACCEPT reachable from any source address that admits
//     new connections to a risky TCP service, or any/any traffic.
//
// Interface names are modelled as 16-byte strings, a superset of the names
// a kernel accepts; coverage proven on the superset holds for real names,
// so findings are sound, but a rule covered only on real names is missed.
func Analyze(ctx context.Context, rs *RuleSet, opts Options) ([]Finding, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	max := opts.MaxEntries
	if max <= 0 {
		max = DefaultMaxEntries
	}
	results := map[*Rule]*ruleResult{}
	var findings []Finding
	for _, c := range rs.Chains {
		if !c.Builtin() {
			continue
		}
		f := &flattener{rs: rs, max: max, stack: []*Chain{c}}
		if err := f.flatten(c, full(rs.Family)); err != nil {
			return nil, err
		}
		f.seq = append(f.seq, entry{chain: c, space: full(rs.Family), action: c.Policy})
		seq := f.seq
		log.DebugContext(ctx, "policy: chain inlined", "chain", c.Name, "entries", len(seq))
		for k := range seq[:len(seq)-1] {
			if k%256 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			e := &seq[k]
			eff := region{e.space}
			var related []int
			for j := 0; j < k && len(eff) > 0; j++ {
				// Packets that reached an earlier terminal entry and matched
				// it are decided there; those that matched a RETURN whose
				// chain instance encloses k skip k. Both sets are that
				// entry's exact eff, so what is left of eff is exactly the
				// packets that reach k and match it.
				d := &seq[j]
				removes := d.action.terminal() || (d.action == Return && k < d.scopeEnd)
				if !removes || !eff.overlaps(&d.space) {
					continue
				}
				before := len(related)
				for bi := range d.eff {
					if eff.overlaps(&d.eff[bi]) {
						eff = eff.minus(&d.eff[bi])
						if len(related) == before {
							related = append(related, j)
						}
					}
				}
			}
			if len(eff) > maxFragments {
				return nil, fmt.Errorf("%w: match space of line %d splits into more than %d parts", ErrTooLarge, e.line(), maxFragments)
			}
			e.eff = eff
			res := results[e.rule]
			if res == nil {
				res = &ruleResult{}
				results[e.rule] = res
			}
			res.instances = append(res.instances, instance{seq: seq, idx: k, effective: eff})
			if len(eff) == 0 {
				for _, j := range related {
					res.related = append(res.related, seq[j].line())
				}
			}
		}
	}
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if f, ok := analyzeRule(rs, r, results[r]); ok {
				findings = append(findings, f...)
			}
		}
	}
	for _, s := range rs.Skipped {
		findings = append(findings, Finding{Kind: KindNotModeled, Line: s.Line, Reason: s.Reason})
	}
	slices.SortStableFunc(findings, func(a, b Finding) int { return a.Line - b.Line })
	return findings, nil
}

func analyzeRule(rs *RuleSet, r *Rule, res *ruleResult) ([]Finding, bool) {
	base := Finding{Chain: r.Chain, Line: r.Line, Rule: r.Text}
	if res == nil {
		f := base
		f.Kind = KindShadowed
		f.Reason = "no packet can reach this rule: its chain is not jumped to from a built-in chain, or every jump to it excludes the rule's match space"
		return []Finding{f}, true
	}
	reached := false
	for _, in := range res.instances {
		if len(in.effective) > 0 {
			reached = true
			break
		}
	}
	if !reached {
		f := base
		f.Kind = KindShadowed
		f.Related = sortedUnique(res.related)
		f.Reason = "every packet this rule matches is already decided by earlier rules"
		if r.Action.terminal() {
			for _, in := range res.instances {
				for j := 0; j < in.idx; j++ {
					d := &in.seq[j]
					if slices.Contains(f.Related, d.line()) && d.rule != nil && d.action != r.Action {
						f.Conflicting = true
					}
				}
			}
			if f.Conflicting {
				f.Reason += ", some with a different action: this rule's " + string(r.Action) + " never applies"
			}
		}
		return []Finding{f}, true
	}
	var out []Finding
	if r.Action.terminal() {
		if lines, ok := redundant(r, res); ok {
			f := base
			f.Kind = KindRedundant
			f.Related = lines
			f.Reason = "removing this rule changes no decision: every packet it decides gets " + string(r.Action) + " from the later rules or policy listed"
			out = append(out, f)
		}
	}
	if r.Action == Accept {
		if reason := overBroad(rs, r, res); reason != "" {
			f := base
			f.Kind = KindOverBroad
			f.Reason = reason
			out = append(out, f)
		}
	}
	return out, len(out) > 0
}

type walk struct {
	b    box
	from int
	skip int
}

// redundant follows every packet the rule decides past the rule, with all
// its instances removed, and reports whether each meets the same action
// first, with the lines that decide them.
func redundant(r *Rule, res *ruleResult) ([]int, bool) {
	var lines []int
	for _, in := range res.instances {
		seq := in.seq
		var work []walk
		for _, b := range in.effective {
			work = append(work, walk{b: b, from: in.idx + 1})
		}
		for len(work) > 0 {
			if len(work) > maxFragments {
				return nil, false // too fragmented to decide: not reported
			}
			w := work[len(work)-1]
			work = work[:len(work)-1]
			j := max(w.from, w.skip)
			for ; j < len(seq); j++ {
				e := &seq[j]
				if e.rule == r || !e.space.overlaps(&w.b) {
					continue
				}
				if e.action.terminal() {
					if e.action != r.Action {
						return nil, false
					}
					lines = append(lines, e.line())
					for _, p := range w.b.subtract(&e.space) {
						work = append(work, walk{b: p, from: j + 1, skip: w.skip})
					}
					break
				}
				if e.action == Return {
					inside, _ := w.b.intersect(&e.space)
					work = append(work, walk{b: inside, from: j + 1, skip: max(w.skip, e.scopeEnd)})
					for _, p := range w.b.subtract(&e.space) {
						work = append(work, walk{b: p, from: j + 1, skip: w.skip})
					}
					break
				}
			}
		}
	}
	return sortedUnique(lines), true
}

// riskyPorts are TCP services that should not be open to any source.
var riskyPorts = []struct {
	port uint16
	name string
}{
	{23, "telnet"}, {445, "SMB"}, {3389, "RDP"}, {1433, "MS SQL"}, {1521, "Oracle"},
	{3306, "MySQL"}, {5432, "PostgreSQL"}, {6379, "Redis"}, {27017, "MongoDB"},
}

func overBroad(rs *RuleSet, r *Rule, res *ruleResult) string {
	if r.In != nil && !r.In.Negate && r.In.Name == "lo" {
		return ""
	}
	all := full(rs.Family)
	for _, in := range res.instances {
		if len(in.effective) == 0 {
			continue
		}
		b := &in.seq[in.idx].space
		if !all[dimSrc].subsetOf(b[dimSrc]) || !b[dimState].contains(u(uint64(StateNew))) {
			continue
		}
		if all[dimDst].subsetOf(b[dimDst]) && all[dimProto].subsetOf(b[dimProto]) && all[dimDport].subsetOf(b[dimDport]) {
			return "accepts new connections from any source to any destination, protocol and port"
		}
		if !b[dimProto].contains(u(6)) {
			continue
		}
		var exposed []string
		for _, p := range riskyPorts {
			if b[dimDport].contains(u(uint64(p.port))) {
				exposed = append(exposed, fmt.Sprintf("%s (tcp/%d)", p.name, p.port))
			}
		}
		if len(exposed) > 0 {
			return "accepts new connections from any source to " + strings.Join(exposed, ", ")
		}
	}
	return ""
}

func sortedUnique(v []int) []int {
	slices.Sort(v)
	return slices.Compact(v)
}
