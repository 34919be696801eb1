package policy

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// ProposeOptions configures Propose.
type ProposeOptions struct {
	Logger     *slog.Logger
	MaxEntries int // 0 means DefaultMaxEntries
	// Compiled, when it was compiled from the same rule set, saves
	// compiling it again.
	Compiled *Compiled
	// Merge joins adjacent iptables rules (see Propose).
	Merge bool
}

// ProposedChange is one step of the optimisation.
type ProposedChange struct {
	Op    string `json:"op"` // remove
	Chain string `json:"chain"`
	Line  int    `json:"line"`
	ID    string `json:"id,omitempty"`
	Part  int    `json:"part,omitempty"`
	Rule  string `json:"rule"`
	Kind  string `json:"kind"` // shadowed, redundant or merged
	// Merged is the text of the rule that replaces the rule at Related[0]
	// and this one, for a merge.
	Merged  string `json:"merged,omitempty"`
	Reason  string `json:"reason"`
	Related []int  `json:"related_lines,omitempty"`
}

// Proposal is an optimised rule set with the proof that it decides every
// packet as the original does.
type Proposal struct {
	Changes []ProposedChange `json:"changes"`
	// RulesBefore and RulesAfter count rules per chain.
	RulesBefore map[string]int `json:"rules_before"`
	RulesAfter  map[string]int `json:"rules_after"`
	// Proof is the exact diff of the original and proposed rule sets; it
	// must be empty (Proof.Equivalent), or Propose fails.
	Proof *DiffResult `json:"proof"`
	// Proposed is the optimised rule set (the original's rules, minus the
	// removed ones, shared with it).
	Proposed *RuleSet `json:"-"`

	removed  map[*Rule]bool
	replaced map[*Rule]*Rule // a merged rule in place of the first of its pair
}

// Propose removes every shadowed rule, then the redundant ACCEPT, DROP and
// REJECT rules one at a time, each checked redundant in the rule set left
// by the removals before it (two identical rules are each redundant alone;
// only one goes). Candidates are taken from the end of each chain
// backwards, so a removal only changes what reaches the rules after it and
// the packets each earlier candidate decides stay as computed; when a rule
// of a user chain sits after a removal in some jump path, the decision
// function is recomputed first. Removing shadowed rules changes no
// packet's path. Finally the proposed set is compared with the original by
// Diff: the proposal is returned only with an empty difference.
//
// With Merge, for iptables-save input, two rules left adjacent in a chain
// with the same action and target are joined when their match spaces
// differ in one of source, destination, source port or destination port,
// their union there is one prefix or one port range, and their texts differ
// only in that option's value: first-match order makes "A then B, both X"
// the same as "A ∪ B, X" exactly when the union is a box. The joined text is
// parsed back and its match space must be the union, and the final proof
// covers the merges too. Other formats get removals only.
func Propose(ctx context.Context, rs *RuleSet, opts ProposeOptions) (*Proposal, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var c *compiled
	if opts.Compiled != nil && opts.Compiled.c.rs == rs {
		c = opts.Compiled.c
	} else {
		var err error
		if c, err = compile(ctx, rs, opts.MaxEntries); err != nil {
			return nil, fmt.Errorf("policy: propose: %w", err)
		}
	}
	orig := c
	var err error
	p := &Proposal{removed: map[*Rule]bool{}, replaced: map[*Rule]*Rule{}, RulesBefore: map[string]int{}, RulesAfter: map[string]int{}}
	results := c.results()
	for _, ch := range rs.Chains {
		p.RulesBefore[ch.Name] = len(ch.Rules)
		for _, r := range ch.Rules {
			if reached(results[r]) {
				continue
			}
			p.removed[r] = true
			ch := ProposedChange{Op: "remove", Chain: r.Chain, Line: r.Line, ID: r.ID, Part: r.Part, Rule: r.Text, Kind: KindShadowed,
				Reason: "shadowed: no packet that reaches this rule matches it"}
			if res := results[r]; res != nil {
				for _, in := range res.instances {
					ch.Related = append(ch.Related, coveringLines(c, in)...)
				}
				ch.Related = sortedUnique(ch.Related)
			}
			p.Changes = append(p.Changes, ch)
		}
	}
	// Redundant rules, last first.
	var cands []*Rule
	seen := map[*Rule]bool{}
	for _, name := range c.order {
		seq := c.chains[name].seq
		for k := len(seq) - 2; k >= 0; k-- {
			r := seq[k].rule
			if !seen[r] && !p.removed[r] && r.Action.terminal() {
				seen[r] = true
				cands = append(cands, r)
			}
		}
	}
	minRemoved := map[string]int{}
	recompiles := 0
	for i, r := range cands {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		res := results[r]
		stale := false
		for _, in := range res.instances {
			if m, ok := minRemoved[in.seq[len(in.seq)-1].chain.Name]; ok && m < in.idx {
				stale = true
			}
		}
		if stale {
			cur, err := p.build(rs)
			if err != nil {
				return nil, err
			}
			if c, err = compile(ctx, cur, opts.MaxEntries); err != nil {
				return nil, fmt.Errorf("policy: propose: %w", err)
			}
			results = c.results()
			res = results[r]
			clear(minRemoved)
			recompiles++
		}
		lines, ok := redundantWithout(c, r, res, p.removed)
		if !ok {
			continue
		}
		p.removed[r] = true
		for _, in := range res.instances {
			name := in.seq[len(in.seq)-1].chain.Name
			if m, ok := minRemoved[name]; !ok || in.idx < m {
				minRemoved[name] = in.idx
			}
		}
		p.Changes = append(p.Changes, ProposedChange{Op: "remove", Chain: r.Chain, Line: r.Line, ID: r.ID, Part: r.Part, Rule: r.Text,
			Kind: KindRedundant, Related: lines,
			Reason: "redundant: every packet it decides gets " + string(r.Action) + " from the later rules or policy listed, once the changes before this one are made"})
	}
	if opts.Merge && rs.Format == "iptables-save" {
		p.merge(rs)
	}
	log.DebugContext(ctx, "policy: proposal", "removed", len(p.removed), "recompiles", recompiles)
	if p.Proposed, err = p.build(rs); err != nil {
		return nil, err
	}
	for _, ch := range p.Proposed.Chains {
		p.RulesAfter[ch.Name] = len(ch.Rules)
	}
	after, err := compile(ctx, p.Proposed, opts.MaxEntries)
	if err != nil {
		return nil, fmt.Errorf("policy: propose: %w", err)
	}
	if p.Proof, err = diffCompiled(ctx, orig, after, DiffOptions{}); err != nil {
		return nil, fmt.Errorf("policy: propose: equivalence: %w", err)
	}
	if !p.Proof.Equivalent {
		return nil, fmt.Errorf("policy: propose: the proposed rule set is not equivalent (%d chains differ)", len(p.Proof.Chains))
	}
	return p, nil
}

// coveringLines lists the earlier terminal or RETURN entries whose packets
// overlap the instance's match space.
func coveringLines(c *compiled, in instance) []int {
	e := &in.seq[in.idx]
	ix := c.chains[in.seq[len(in.seq)-1].chain.Name].spaceIdx
	var out []int
	for _, j := range ix.overlapping(&e.space) {
		if j >= in.idx {
			break
		}
		d := &in.seq[j]
		if (d.action.terminal() || (d.action == Return && in.idx < d.scopeEnd)) && region(d.eff).overlaps(&e.space) {
			out = append(out, d.line())
		}
	}
	return out
}

// build copies rs without the removed rules; rules are shared.
func (p *Proposal) build(rs *RuleSet) (*RuleSet, error) {
	out, err := NewRuleSet(rs.Family, rs.Format)
	if err != nil {
		return nil, err
	}
	out.Hostname, out.HasProfiles, out.Names = rs.Hostname, rs.HasProfiles, rs.Names
	out.Skipped, out.Observations = rs.Skipped, rs.Observations
	for _, ch := range rs.Chains {
		if _, err := out.AddChain(ch.Name, ch.Policy, ch.PolicyLine); err != nil {
			return nil, fmt.Errorf("policy: propose: %w", err)
		}
		for _, r := range ch.Rules {
			if p.removed[r] {
				continue
			}
			if m := p.replaced[r]; m != nil {
				r = m
			}
			if err := out.AddRule(r); err != nil {
				return nil, fmt.Errorf("policy: propose: %w", err)
			}
		}
	}
	if err := out.Finish(); err != nil {
		return nil, fmt.Errorf("policy: propose: %w", err)
	}
	return out, nil
}

// redundantWithout is redundant with the removed rules left out of the
// walk: it follows every packet r decides past r and reports whether the
// first terminal rule (or the policy) each meets has r's action.
func redundantWithout(c *compiled, r *Rule, res *ruleResult, removed map[*Rule]bool) ([]int, bool) {
	var lines []int
	for _, in := range res.instances {
		seq := in.seq
		ix := c.chains[seq[len(seq)-1].chain.Name].spaceIdx
		var work []walk
		for _, b := range in.effective {
			work = append(work, walk{b: b, from: in.idx + 1})
		}
		for len(work) > 0 {
			if len(work) > maxFragments {
				return nil, false
			}
			w := work[len(work)-1]
			work = work[:len(work)-1]
			start := max(w.from, w.skip)
			for _, j := range ix.overlapping(&w.b) {
				if j < start {
					continue
				}
				e := &seq[j]
				if e.rule == r || (e.rule != nil && removed[e.rule]) {
					continue
				}
				if e.action.terminal() {
					if e.action != r.Action {
						return nil, false
					}
					lines = append(lines, e.line())
					for _, piece := range w.b.subtract(&e.space) {
						work = append(work, walk{b: piece, from: j + 1, skip: w.skip})
					}
					break
				}
				if e.action == Return {
					inside, _ := w.b.intersect(&e.space)
					work = append(work, walk{b: inside, from: j + 1, skip: max(w.skip, e.scopeEnd)})
					for _, piece := range w.b.subtract(&e.space) {
						work = append(work, walk{b: piece, from: j + 1, skip: w.skip})
					}
					break
				}
			}
		}
	}
	return sortedUnique(lines), true
}

// Removed lists the lines of the removed rules, sorted.
func (p *Proposal) Removed() []int {
	var out []int
	for r := range p.removed {
		out = append(out, r.Line)
	}
	return sortedUnique(out)
}

// RenderIptablesSave writes the proposed rule set as iptables-save text: the
// original input with the removed rules' lines left out, so comments,
// other tables and counters stay as they were. orig must be the text the
// rule set was parsed from.
func (p *Proposal) RenderIptablesSave(orig []byte) ([]byte, error) {
	if p.Proposed == nil || p.Proposed.Format != "iptables-save" {
		return nil, fmt.Errorf("policy: the proposal is not for an iptables-save rule set")
	}
	drop := map[int]bool{}
	for _, l := range p.Removed() {
		drop[l] = true
	}
	repl := map[int]string{}
	for r, m := range p.replaced {
		repl[r.Line] = m.Text
	}
	var out bytes.Buffer
	for i, line := range bytes.SplitAfter(orig, []byte("\n")) {
		if text, ok := repl[i+1]; ok {
			out.WriteString(text)
			if bytes.HasSuffix(line, []byte("\n")) {
				out.WriteByte('\n')
			}
			continue
		}
		if drop[i+1] {
			if !bytes.Contains(line, []byte("-A ")) {
				return nil, fmt.Errorf("policy: line %d of the input is not a rule: %q", i+1, truncate(string(line)))
			}
			continue
		}
		out.Write(line)
	}
	return out.Bytes(), nil
}

// Plan lists the changes as ordered steps for people.
func (p *Proposal) Plan() []string {
	var out []string
	for i, ch := range p.Changes {
		who := "line " + strconv.Itoa(ch.Line)
		if ch.ID != "" {
			who = "rule " + ch.ID + " (" + who + ")"
		}
		if ch.Part > 0 {
			who += " part " + strconv.Itoa(ch.Part)
		}
		out = append(out, fmt.Sprintf("%d. %s %s in %s: %s", i+1, ch.Op, who, ch.Chain, ch.Reason))
	}
	return out
}

// mergeOpts are the options whose value a merge may change, by dimension.
var mergeOpts = map[string]int{
	"-s": dimSrc, "--source": dimSrc, "-d": dimDst, "--destination": dimDst,
	"--sport": dimSport, "--source-port": dimSport, "--dport": dimDport, "--destination-port": dimDport,
}

// merge joins adjacent surviving rules (see Propose).
func (p *Proposal) merge(rs *RuleSet) {
	for _, ch := range rs.Chains {
		var prev *Rule // the surviving rule before, possibly a merged one
		var first *Rule
		for _, r := range ch.Rules {
			if p.removed[r] {
				continue
			}
			if prev != nil {
				if m := mergeRules(rs, prev, r); m != nil {
					p.replaced[first] = m
					p.removed[r] = true
					p.Changes = append(p.Changes, ProposedChange{Op: "merge", Chain: r.Chain, Line: r.Line, Rule: r.Text, Kind: "merged",
						Related: []int{first.Line}, Merged: m.Text,
						Reason: fmt.Sprintf("merged into line %d: adjacent, same action, and the union of the two rules is one rule", first.Line)})
					prev = m
					continue
				}
			}
			prev, first = r, r
		}
	}
}

// mergeRules returns the rule matching a ∪ b when it is one iptables rule
// that differs from a in one option value, or nil.
func mergeRules(rs *RuleSet, a, b *Rule) *Rule {
	if !a.Action.terminal() || a.Action != b.Action || a.Target != b.Target {
		return nil
	}
	sa, sb := rs.spaces[a], rs.spaces[b]
	if m, ok := rs.spaces[a]; !ok || m[0] == nil {
		sa = mustSpace(rs.Family, a)
	}
	diff := -1
	var u set // the union in the differing dimension
	for d := range sa {
		if slices.Equal(sa[d], sb[d]) {
			continue
		}
		if diff >= 0 {
			return nil
		}
		diff, u = d, union(sa[d], sb[d])
	}
	if diff < 0 || len(u) != 1 {
		return nil // identical rules are redundant, not merged here
	}
	ta, err1 := tokenize(a.Text)
	tb, err2 := tokenize(b.Text)
	if err1 != nil || err2 != nil || len(ta) != len(tb) {
		return nil
	}
	at := -1
	for i := range ta {
		if ta[i] == tb[i] {
			continue
		}
		if at >= 0 || i == 0 || mergeOpts[ta[i-1]] != diff || (i >= 2 && ta[i-2] == "!") {
			return nil
		}
		if _, ok := mergeOpts[ta[i-1]]; !ok {
			return nil
		}
		at = i
	}
	if at < 0 {
		return nil
	}
	sp := u[0]
	var val string
	switch diff {
	case dimSport, dimDport:
		val = fmt.Sprintf("%d:%d", sp.lo.lo, sp.hi.lo)
	default:
		cidrs := spanCIDRs(rs.Family, sp)
		if len(cidrs) != 1 || strings.Contains(cidrs[0], "-") {
			return nil
		}
		val = cidrs[0]
	}
	toks := slices.Clone(ta)
	toks[at] = val
	m := &Rule{Chain: a.Chain, Line: a.Line, Text: joinTokens(toks), Proto: ProtoMatch{Any: true}}
	if len(toks) < 2 || parseRuleArgs(m, toks[2:]) != nil {
		return nil
	}
	msp, err := m.space(rs.Family)
	if err != nil {
		return nil
	}
	want := sa
	for d := range want {
		if d == diff {
			want[d] = u
		}
	}
	if !msp.containsBox(&want) || !want.containsBox(&msp) {
		return nil
	}
	return m
}

func mustSpace(fam Family, r *Rule) box {
	b, _ := r.space(fam)
	return b
}

// joinTokens writes tokens back as one rule line, quoting those that need it.
func joinTokens(toks []string) string {
	out := make([]string, len(toks))
	for i, t := range toks {
		if t == "" || strings.ContainsAny(t, " \t\"\\") {
			t = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(t) + `"`
		}
		out[i] = t
	}
	return strings.Join(out, " ")
}
