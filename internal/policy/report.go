package policy

import "slices"

// ChainCount is a chain's rule count before and after the proposal.
type ChainCount struct {
	Chain  string `json:"chain"`
	Before int    `json:"before"`
	After  int    `json:"after"`
}

// Summary is the structured before/after report of one policy review,
// ready to be rendered and stored: per chain counts, findings by kind, the
// proposed changes, whether the proposal is proven equivalent, and the work
// plan as ordered steps.
type Summary struct {
	Format     string           `json:"format"`
	Hostname   string           `json:"hostname,omitempty"`
	Family     Family           `json:"family"`
	Chains     []ChainCount     `json:"chains"`
	ByKind     map[string]int   `json:"findings_by_kind"`
	Findings   int              `json:"findings"`
	Changes    []ProposedChange `json:"changes,omitempty"`
	Equivalent *bool            `json:"equivalent,omitempty"` // nil without a proposal
	Plan       []string         `json:"plan,omitempty"`
}

// Summarize builds the report of rs from its findings and, when p is not
// nil, its proposal.
func Summarize(rs *RuleSet, findings []Detail, p *Proposal) *Summary {
	s := &Summary{Format: rs.Format, Hostname: rs.Hostname, Family: rs.Family, ByKind: map[string]int{}, Findings: len(findings)}
	for _, c := range rs.Chains {
		cc := ChainCount{Chain: c.Name, Before: len(c.Rules), After: len(c.Rules)}
		if p != nil {
			cc.After = p.RulesAfter[c.Name]
		}
		s.Chains = append(s.Chains, cc)
	}
	for _, f := range findings {
		s.ByKind[f.Kind]++
	}
	if p != nil {
		s.Changes = slices.Clone(p.Changes)
		eq := p.Proof != nil && p.Proof.Equivalent
		s.Equivalent = &eq
		s.Plan = p.Plan()
	}
	return s
}
