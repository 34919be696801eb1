package store

import (
	"context"
	"time"
)

// EventSource is one sender of a tenant's logs: a (source, host) pair with
// the span and number of its events, by time received. The event store
// keeps it up to date as events are appended.
type EventSource struct {
	TenantID  string
	Source    string
	Host      string
	FirstSeen time.Time
	LastSeen  time.Time
	Events    int64
}

// PostureSnapshot is a tenant's posture score on one day (UTC); the last
// save of the day wins.
type PostureSnapshot struct {
	TenantID  string
	Day       string // YYYY-MM-DD
	Score     int
	Breakdown []byte // the score's components as JSON
	TakenAt   time.Time
}

// PostureStore keeps the daily posture scores behind a tenant's trend.
type PostureStore interface {
	// Save records the snapshot of its day, replacing an earlier one.
	Save(ctx context.Context, p *PostureSnapshot) error
	// History returns the snapshots from day since (YYYY-MM-DD) on, oldest
	// first.
	History(ctx context.Context, tenantID, since string) ([]PostureSnapshot, error)
	AlertTallier
	// VulnTally reads the vulnerability tile's figures from running
	// totals kept as findings change.
	VulnTally(ctx context.Context, tenantID string, q VulnTallyQuery) (VulnTally, error)
	// IncidentTally counts the incident tile's figures in one statement.
	IncidentTally(ctx context.Context, tenantID string, q IncidentTallyQuery) (IncidentTally, error)
}

// VulnTallyQuery says which findings a vulnerability tally counts as open
// and when overdue is.
type VulnTallyQuery struct {
	Open []string  // the states of an open finding
	Now  time.Time // a finding due before it is overdue, when open
}

// VulnTally is what the dashboard's vulnerability tile counts.
type VulnTally struct {
	// ByState counts findings by state and severity name ("critical",
	// "high", "medium", "low" or "info", as VulnStore.CountBy names them).
	ByState map[[2]string]int
	KEVOpen int // open and KEV-listed
	Overdue int // open and due before Now
}

// IncidentTallyQuery says what an incident tally counts.
type IncidentTallyQuery struct {
	Phases []string  // the open phases, counted one by one
	Now    time.Time // SLA timers due before it are breached
}

// IncidentTally is what the dashboard's incident tile counts.
type IncidentTally struct {
	ByPhase  map[string]int // open cases by phase (every phase of the query is present)
	Breached int            // open cases with a breached SLA timer, as IncidentFilter.Breached counts them
}

// AlertTallyQuery says what an alert tally counts.
type AlertTallyQuery struct {
	Open       []string  // the statuses of an open alert
	RulePrefix string    // counts the open alerts whose rule ID starts with it; "" counts none
	Since      time.Time // counts the alerts last seen at or after it; zero counts none
}

// AlertTally is what the dashboard's alert tile counts, read in one query.
type AlertTally struct {
	Open       map[string]int // open alerts by level (levels without one are absent)
	OpenTotal  int
	Recent     int // alerts of any status last seen at or after Since
	OpenPrefix int // open alerts whose rule ID starts with RulePrefix
}

// AlertTallier counts a tenant's alerts for the dashboard in one query,
// instead of one count per level and figure.
type AlertTallier interface {
	AlertTally(ctx context.Context, tenantID string, q AlertTallyQuery) (AlertTally, error)
}

// EventLoader is what an event store offers for loading many events at
// once, with multi-row statements. It keeps what Append keeps: the events
// (skipping IDs already stored) and, in the same transaction, the
// per-sender and per-hour counters. Benchmarks seed millions of events
// with it.
type EventLoader interface {
	// Load stores evs in one transaction and returns how many were new.
	Load(ctx context.Context, evs []Event) (int, error)
}
