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
}
