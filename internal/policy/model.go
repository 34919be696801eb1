// Package policy owns Vigil's firewall rule-set model, the parsers that build
// it from device configurations, and the exact analysis of a rule set:
// shadowed, redundant and over-broad rules, and the decision for one flow.
//
// A rule's match space is a product of interval sets over eight dimensions
// (source and destination address, protocol, source and destination port,
// input and output interface, conntrack state); the analysis computes with
// set algebra on these products, so its findings are proofs over every
// packet, not heuristics over rule pairs.
package policy

import (
	"net/netip"
	"strings"
)

// Action is what a rule does with a packet it matches.
type Action string

// Rule actions.
const (
	Accept Action = "ACCEPT"
	Drop   Action = "DROP"
	Reject Action = "REJECT"
	Return Action = "RETURN"
	Log    Action = "LOG"
	Jump   Action = "JUMP" // to the user chain in Rule.Target
	None   Action = ""     // no -j: the rule only counts packets
)

// terminal reports whether a matching packet's fate is decided by the rule.
func (a Action) terminal() bool { return a == Accept || a == Drop || a == Reject }

// Family is the address family of a rule set.
type Family int

// Address families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// AddrRange is an inclusive address range (iprange).
type AddrRange struct{ From, To netip.Addr }

// AddrMatch is one address condition: the address lies in any of the
// prefixes or ranges, or, with Negate, in none of them.
type AddrMatch struct {
	Prefixes []netip.Prefix
	Ranges   []AddrRange
	Negate   bool
}

// PortRange is an inclusive port range.
type PortRange struct{ From, To uint16 }

// PortMatch is one port condition (--dport, --sport, multiport).
type PortMatch struct {
	Ranges []PortRange
	Negate bool
}

// IfaceMatch is an interface (or zone) condition; a Name ending in "+"
// matches every interface with that prefix. Alt lists further names: the
// condition holds when the interface matches Name or any of Alt (vendor
// policies name several zones in one rule).
type IfaceMatch struct {
	Name   string
	Alt    []string
	Negate bool
}

// ConnState is a conntrack state.
type ConnState uint8

// Conntrack states, in the order of the state dimension.
const (
	StateNew ConnState = iota
	StateEstablished
	StateRelated
	StateInvalid
	StateUntracked
	nStates
)

var stateNames = [...]string{"NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"}

func (s ConnState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "?"
}

// ParseConnState parses a conntrack state name.
func ParseConnState(name string) (ConnState, bool) {
	for i, n := range stateNames {
		if strings.EqualFold(n, name) {
			return ConnState(i), true
		}
	}
	return 0, false
}

// StateMatch is a conntrack state condition.
type StateMatch struct {
	States []ConnState
	Negate bool
}

// ProtoMatch is a protocol condition; Any is "-p all" or no -p.
type ProtoMatch struct {
	Any    bool
	Num    uint8
	Negate bool
}

// Logging says whether a device logs the packets a rule matches.
type Logging int8

// Logging states; LogUnknown where the format does not say.
const (
	LogUnknown Logging = iota
	LogOff
	LogOn
)

// Rule is one rule of a chain. Every condition list is a conjunction: a
// packet matches when it meets all of them.
//
// A vendor rule whose match space is not one product (services of several
// protocols, say "tcp/80 or udp/53") becomes several consecutive Rules with
// the same ID, Line and Text and Part numbered from 1; first-match semantics
// are unchanged by the split.
type Rule struct {
	Chain   string
	Line    int    // line number in the source file
	Text    string // the rule as written
	ID      string // the vendor's rule name or number, when it has one
	Part    int    // 1.. when one vendor rule was split; 0 otherwise
	Logging Logging
	// Profiles are the security profiles (IPS, AV, URL filter, WAF…) the
	// device applies to traffic the rule accepts, as "kind:name".
	Profiles []string
	Action   Action
	Target   string // the jump target chain, or the target name
	Proto    ProtoMatch
	Src      []AddrMatch
	Dst      []AddrMatch
	SrcPort  []PortMatch
	DstPort  []PortMatch
	In       *IfaceMatch
	Out      *IfaceMatch
	State    []StateMatch
	Comment  string
}

// Chain is an ordered list of rules. Built-in chains have a Policy.
type Chain struct {
	Name       string
	Policy     Action // empty for user chains
	PolicyLine int
	Rules      []*Rule
}

// Builtin reports whether the chain is a built-in chain with a policy.
func (c *Chain) Builtin() bool { return c.Policy != None }

// Skipped is a part of the input the parser did not model.
type Skipped struct {
	Line   int
	Reason string
}

// Observation is something a parser saw in a device configuration that is
// not a filter rule but matters to the policy review: an IPS profile in
// detect-only mode, administration allowed from an untrusted zone, a rule
// left disabled.
type Observation struct {
	Line     int    `json:"line"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"` // info, low, medium, high
	Reason   string `json:"reason"`
}

// RuleSet is a parsed filter table, or a vendor device's security policy
// mapped onto chains: one chain per ACL or policy list, each with the
// device's implicit final action as its policy.
type RuleSet struct {
	Family   Family
	Format   string   // the parser that built it, e.g. "iptables-save"
	Hostname string   // the device's name when the configuration gives one
	Chains   []*Chain // in order of declaration
	Skipped  []Skipped
	// Observations are the parser's notes on protection and audit settings.
	Observations []Observation
	// HasProfiles is set by formats that can attach security profiles to
	// rules, so a rule without any is worth a finding.
	HasProfiles bool
	// Names maps the short interface keys made by IfaceKey back to the
	// zone or interface names they stand for.
	Names map[string]string

	byName map[string]*Chain
	spaces map[*Rule]box
}

// Chain returns the named chain, or nil.
func (rs *RuleSet) Chain(name string) *Chain { return rs.byName[name] }

// NumRules counts the rules of every chain.
func (rs *RuleSet) NumRules() int {
	n := 0
	for _, c := range rs.Chains {
		n += len(c.Rules)
	}
	return n
}
