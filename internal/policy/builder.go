package policy

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// NewRuleSet starts an empty rule set for a parser of another format than
// iptables-save: add chains with AddChain, rules with AddRule, and call
// Finish before analysing it.
func NewRuleSet(fam Family, format string) (*RuleSet, error) {
	if fam != IPv4 && fam != IPv6 {
		return nil, fmt.Errorf("policy: unknown family %d", fam)
	}
	return &RuleSet{Family: fam, Format: format, byName: map[string]*Chain{}, spaces: map[*Rule]box{}}, nil
}

// AddChain declares a chain. A built-in chain (an ACL or a policy list that
// packets enter) has the device's implicit final action as policy (Accept or
// Drop) and the line that declares it; a user chain, reached only by jumps,
// has policy None.
func (rs *RuleSet) AddChain(name string, policy Action, line int) (*Chain, error) {
	if name == "" {
		return nil, &ParseError{Line: line, Msg: "empty chain name"}
	}
	if rs.byName[name] != nil {
		return nil, &ParseError{Line: line, Msg: fmt.Sprintf("chain %q declared twice", name)}
	}
	switch policy {
	case Accept, Drop, Reject, None:
	default:
		return nil, &ParseError{Line: line, Msg: fmt.Sprintf("bad policy %q for chain %s", policy, name)}
	}
	c := &Chain{Name: name, Policy: policy, PolicyLine: line}
	rs.Chains = append(rs.Chains, c)
	rs.byName[name] = c
	return c, nil
}

// AddRule appends r to its chain (r.Chain) after computing its match space;
// a rule whose conditions cannot be represented is an error naming its line.
// A rule with no Proto condition must have Proto.Any set.
func (rs *RuleSet) AddRule(r *Rule) error {
	c := rs.byName[r.Chain]
	if c == nil {
		return &ParseError{Line: r.Line, Msg: fmt.Sprintf("rule for undeclared chain %q", r.Chain)}
	}
	if rs.NumRules() >= MaxRules {
		return fmt.Errorf("%w: more than %d rules", ErrTooLarge, MaxRules)
	}
	sp, err := r.space(rs.Family)
	if err != nil {
		return &ParseError{Line: r.Line, Msg: err.Error()}
	}
	rs.spaces[r] = sp
	c.Rules = append(c.Rules, r)
	return nil
}

// Finish checks jumps (every target exists and is a user chain) and rejects
// jump cycles. Call it once after the last AddRule.
func (rs *RuleSet) Finish() error {
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			if r.Action != Jump {
				continue
			}
			t := rs.byName[r.Target]
			if t == nil {
				return &ParseError{Line: r.Line, Msg: fmt.Sprintf("jump to unknown chain %q", r.Target)}
			}
			if t.Builtin() {
				return &ParseError{Line: r.Line, Msg: fmt.Sprintf("jump to built-in chain %q", r.Target)}
			}
		}
	}
	return rs.checkLoops()
}

// Observe records a protection or audit note about the configuration.
func (rs *RuleSet) Observe(line int, kind, severity, reason string) {
	rs.Observations = append(rs.Observations, Observation{Line: line, Kind: kind, Severity: severity, Reason: reason})
}

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// IfaceKey returns the name to use in an IfaceMatch or a Flow for a zone or
// interface name. Names up to 15 bytes without a trailing "+" are used as
// they are; longer ones get a stable 15-byte key derived from a hash, kept
// in rs.Names so reports can show the real name.
func (rs *RuleSet) IfaceKey(name string) string {
	if len(name) <= maxIfaceLen && name != "" && !strings.HasSuffix(name, "+") {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	key := "~" + strings.ToLower(keyEncoding.EncodeToString(sum[:]))[:maxIfaceLen-1]
	if rs.Names == nil {
		rs.Names = map[string]string{}
	}
	rs.Names[key] = name
	return key
}

// IfaceName is the inverse of IfaceKey: the real name behind a key.
func (rs *RuleSet) IfaceName(key string) string {
	if n, ok := rs.Names[key]; ok {
		return n
	}
	return key
}
