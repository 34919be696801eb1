package store

import (
	"context"
	"time"
)

// A tenant's weekly digest: each sending of it is a run, claimed in the
// store before anything is sent, so that several nodes running the weekly
// job at once send a period's digest once.

// Digest run states.
const (
	DigestSending = "sending" // claimed, messages being queued
	DigestSent    = "sent"    // queued on at least one channel
	DigestFailed  = "failed"  // no channel took it
	DigestEmpty   = "empty"   // the tenant had nobody to send it to
	// DigestSkipped: nothing was composed or sent, for the reason in
	// Error (the tenant has no channel that carries a digest).
	DigestSkipped = "skipped"
)

// DigestRun is one sending of a tenant's digest. Period is the ISO week
// of a scheduled digest ("2026-W48") or "manual-" and the time of a "send
// now" from the UI.
type DigestRun struct {
	TenantID   string
	Period     string
	From, To   time.Time // the period the digest covers, [From, To)
	Status     string
	Messages   int // messages queued
	Error      string
	SentBy     string // the user of a manual send; "" for the schedule
	ClaimedAt  time.Time
	FinishedAt time.Time // zero while sending
}

// DigestCounts are a tenant's key figures over [from, to).
type DigestCounts struct {
	NewAlerts    int // alerts first seen in the period
	ClosedAlerts int // alerts closed or found false positive in the period
	NewCases     int // incident cases opened in the period
	ClosedCases  int // cases closed in the period
	NewCritical  int // critical vulnerability findings first seen in the period
	NewKEV       int // findings of known exploited vulnerabilities first seen in the period
}

// DigestRunStore persists digest runs; DeskStore embeds it.
type DigestRunStore interface {
	// ClaimDigest records a new run (ClaimedAt set). A run of the same
	// tenant and period is ErrConflict (another node has it), unless it
	// is still sending and was claimed before staleBefore: its node died
	// while sending, and this claim takes the run over.
	ClaimDigest(ctx context.Context, r *DigestRun, staleBefore time.Time) error
	// FinishDigest records how a run ended.
	FinishDigest(ctx context.Context, tenantID, period, status string, messages int, errText string, at time.Time) error
	// DigestRuns returns a page of the tenant's runs, newest first.
	DigestRuns(ctx context.Context, tenantID string, p Page) ([]DigestRun, error)
	// DigestCounts counts the tenant's figures over [from, to).
	DigestCounts(ctx context.Context, tenantID string, from, to time.Time) (DigestCounts, error)
}
