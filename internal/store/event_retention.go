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
