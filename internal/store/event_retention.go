package store

import (
	"context"
	"time"
)

// EventRetention is implemented by stores that can prepare and prune the
// storage of log events. Callers type-assert the Store.
//
// On PostgreSQL events live in one partition per UTC day (plus a default
// partition for times outside every day partition): PrepareEventDays
// creates the day partitions ahead, and DropEventsBefore drops whole days.
// On SQLite PrepareEventDays does nothing and DropEventsBefore deletes rows.
type EventRetention interface {
	// PrepareEventDays makes sure every UTC day from from to to (both
	// included) has its own storage, and returns how many days it added.
	// Events already in the default partition for such a day move in.
	PrepareEventDays(ctx context.Context, from, to time.Time) (int, error)
	// DropEventsBefore removes the events older than before, for every
	// tenant: whole day partitions that end at or before it, and older
	// rows of the default partition (on SQLite, the older rows).
	DropEventsBefore(ctx context.Context, before time.Time) (EventDrop, error)
}

// EventDrop is what DropEventsBefore removed.
type EventDrop struct {
	// Days are the day partitions dropped (their first day, UTC).
	Days []time.Time
	// Rows deleted one by one (the default partition, or SQLite).
	Rows int64
}

// TenantEventRetention is implemented by stores that keep a retention per
// tenant besides the global one. Callers type-assert the Store.
//
// A tenant's retention only shortens how long its events are kept: the
// global retention (which drops whole day partitions of every tenant on
// PostgreSQL) still applies to it, so a tenant retention longer than the
// global one has no effect, and the service refuses to set one.
type TenantEventRetention interface {
	// SetTenantEventRetention sets the tenant's retention; 0 removes it
	// (the global retention applies). ErrNotFound for an unknown tenant,
	// ErrInvalid for a negative duration or one under an hour.
	SetTenantEventRetention(ctx context.Context, tenantID string, d time.Duration) error
	// TenantEventRetentions returns every tenant retention that is set,
	// by tenant ID.
	TenantEventRetentions(ctx context.Context) (map[string]time.Duration, error)
	// DropTenantEventsBefore deletes the tenant's events older than before
	// (on PostgreSQL only in the day partitions that hold such events, and
	// the default partition) and returns how many it deleted. It deletes
	// in bounded batches, so other writers are not held up for long.
	DropTenantEventsBefore(ctx context.Context, tenantID string, before time.Time) (int64, error)
}
