package policy

import (
	"fmt"
)

// Decision is the fate of one flow in one built-in chain.
type Decision struct {
	Action Action `json:"action"`
	Chain  string `json:"chain"` // the chain of the deciding rule
	Line   int    `json:"line"`  // the deciding rule, or the policy line
	Rule   string `json:"rule,omitempty"`
	Policy bool   `json:"policy,omitempty"` // decided by the chain policy
	Logged []int  `json:"logged_lines,omitempty"`
}

// Decide runs the flow through the built-in chain in order, following jumps
// and returns, and reports the first terminal rule it meets or the policy.
func (rs *RuleSet) Decide(chain string, f Flow) (Decision, error) {
	c := rs.byName[chain]
	if c == nil || !c.Builtin() {
		return Decision{}, fmt.Errorf("policy: no built-in chain %q", chain)
	}
	p, err := f.point(rs.Family)
	if err != nil {
		return Decision{}, fmt.Errorf("policy: %w", err)
	}
	var d Decision
	ok, err := rs.decideIn(c, &p, &d, 0)
	if err != nil {
		return Decision{}, err
	}
	if !ok {
		d.Action, d.Chain, d.Line, d.Policy = c.Policy, c.Name, c.PolicyLine, true
	}
	return d, nil
}

func (rs *RuleSet) decideIn(c *Chain, p *[nDims]u128, d *Decision, depth int) (bool, error) {
	if depth > len(rs.Chains) {
		return false, fmt.Errorf("%w: through chain %s", ErrLoop, c.Name)
	}
	for _, r := range c.Rules {
		sp := rs.spaces[r]
		if !sp.containsPoint(p) {
			continue
		}
		switch r.Action {
		case Accept, Drop, Reject:
			d.Action, d.Chain, d.Line, d.Rule = r.Action, c.Name, r.Line, r.Text
			return true, nil
		case Return:
			return false, nil
		case Log:
			d.Logged = append(d.Logged, r.Line)
		case Jump:
			ok, err := rs.decideIn(rs.byName[r.Target], p, d, depth+1)
			if ok || err != nil {
				return ok, err
			}
		}
	}
	return false, nil
}
