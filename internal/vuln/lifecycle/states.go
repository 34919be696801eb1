// Package lifecycle owns the vulnerability lifecycle of a tenant: imports
// of scanner output into tracked findings (deduplicated by fingerprint,
// reopened when they reappear, marked fixed when a full rescan no longer
// sees them), the state machine from new to verified-closed — including
// risk-accepted and mitigated-not-fixed ("unfixed, protected") with their
// expiry —, SLA due dates per severity, and priority from CVSS, CISA KEV,
// EPSS and the asset's importance.
package lifecycle

import "slices"

// States of a finding.
const (
	StateNew          = "new"
	StateConfirmed    = "confirmed"
	StateAssigned     = "assigned"
	StateFixing       = "fixing"
	StateFixedPending = "fixed-pending-verification"
	StateClosed       = "verified-closed"
	StateFalsePos     = "false-positive"
	StateRiskAccepted = "risk-accepted"
	// StateMitigated is "unfixed, protected": the vulnerability is still
	// there, a compensating control (recorded) blocks its exploitation
	// until the expiry date.
	StateMitigated = "mitigated"
	StateReopened  = "reopened"
)

// States lists every state in lifecycle order.
func States() []string {
	return []string{StateNew, StateConfirmed, StateAssigned, StateFixing, StateFixedPending, StateClosed,
		StateReopened, StateMitigated, StateRiskAccepted, StateFalsePos}
}

// OpenStates are the states that still need work; only they can be
// overdue.
func OpenStates() []string {
	return []string{StateNew, StateConfirmed, StateAssigned, StateFixing, StateFixedPending, StateReopened}
}

// transitions is the state machine: the states each state may move to by
// hand. Imports move findings too (reopening, absence from a full rescan),
// outside this table.
var transitions = map[string][]string{
	StateNew:          {StateConfirmed, StateFalsePos, StateAssigned, StateRiskAccepted, StateMitigated},
	StateConfirmed:    {StateAssigned, StateFixing, StateFalsePos, StateRiskAccepted, StateMitigated},
	StateAssigned:     {StateAssigned, StateFixing, StateRiskAccepted, StateMitigated, StateConfirmed},
	StateFixing:       {StateFixedPending, StateMitigated, StateRiskAccepted, StateAssigned},
	StateFixedPending: {StateClosed, StateReopened},
	StateClosed:       {StateReopened},
	StateFalsePos:     {StateReopened},
	StateRiskAccepted: {StateReopened},
	StateMitigated:    {StateReopened, StateFixing},
	StateReopened:     {StateConfirmed, StateAssigned, StateFixing, StateFalsePos, StateRiskAccepted, StateMitigated},
}

// Next lists the states a finding in state may move to by hand.
func Next(state string) []string { return slices.Clone(transitions[state]) }

// Allowed reports whether a finding may move from one state to another.
func Allowed(from, to string) bool { return slices.Contains(transitions[from], to) }

// reopenStates are left for StateReopened when an import sees the finding
// again; absentStates for StateFixedPending when a full rescan of its asset
// no longer does.
var (
	reopenStates = []string{StateClosed, StateFixedPending}
	absentStates = []string{StateNew, StateConfirmed, StateAssigned, StateFixing, StateReopened}
)
