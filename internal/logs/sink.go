package logs

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives batches of parsed events. A listener treats a batch as
// accepted only when Write returns nil; Write may block, which is how
// backpressure reaches the sender. Write must not keep the slice.
type Sink interface {
	Write(ctx context.Context, events []Event) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, events []Event) error

// Write implements Sink.
func (f SinkFunc) Write(ctx context.Context, events []Event) error { return f(ctx, events) }

// DeadLetterMax bounds DeadLetter.Raw: 4 KiB.
const DeadLetterMax = 4 << 10

// DeadLetter is a record that could not be parsed.
type DeadLetter struct {
	Time   time.Time `json:"time"`
	Source string    `json:"source"`
	// Line is the 1-based record number within the source when known
	// (file tail and the CLI), else 0.
	Line   int64  `json:"line,omitempty"`
	Reason string `json:"reason"`
	// Raw is the start of the record, at most DeadLetterMax bytes.
	Raw string `json:"raw"`
}

// DeadLetterSink receives records that did not parse. It must not block
// for long; the stream goes on whatever it does.
type DeadLetterSink interface {
	DeadLetter(ctx context.Context, dl DeadLetter)
}

// DeadLetterFunc adapts a function to DeadLetterSink.
type DeadLetterFunc func(ctx context.Context, dl DeadLetter)

// DeadLetter implements DeadLetterSink.
func (f DeadLetterFunc) DeadLetter(ctx context.Context, dl DeadLetter) { f(ctx, dl) }

// Counters count what one listener saw. They are safe for concurrent use.
type Counters struct {
	Received     atomic.Uint64
	Parsed       atomic.Uint64
	DeadLettered atomic.Uint64
	Truncated    atomic.Uint64
	// Dropped counts events lost because the Sink failed where the
	// transport cannot push back (UDP).
	Dropped atomic.Uint64
}

// CounterSnapshot is a copy of Counters at one moment.
type CounterSnapshot struct {
	Received, Parsed, DeadLettered, Truncated, Dropped uint64
}

// Snapshot reads the counters.
func (c *Counters) Snapshot() CounterSnapshot {
	return CounterSnapshot{
		Received:     c.Received.Load(),
		Parsed:       c.Parsed.Load(),
		DeadLettered: c.DeadLettered.Load(),
		Truncated:    c.Truncated.Load(),
		Dropped:      c.Dropped.Load(),
	}
}

// MemorySink keeps every event written to it; for tests and tools.
type MemorySink struct {
	mu     sync.Mutex
	events []Event
}

// Write implements Sink.
func (m *MemorySink) Write(_ context.Context, events []Event) error {
	m.mu.Lock()
	m.events = append(m.events, events...)
	m.mu.Unlock()
	return nil
}

// Events returns a copy of what was written.
func (m *MemorySink) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// Len is the number of events written.
func (m *MemorySink) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events)
}

// DeadLetterMemory keeps dead letters; for tests and tools.
type DeadLetterMemory struct {
	mu  sync.Mutex
	dls []DeadLetter
}

// DeadLetter implements DeadLetterSink.
func (m *DeadLetterMemory) DeadLetter(_ context.Context, dl DeadLetter) {
	m.mu.Lock()
	m.dls = append(m.dls, dl)
	m.mu.Unlock()
}

// Letters returns a copy of what was received.
func (m *DeadLetterMemory) Letters() []DeadLetter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]DeadLetter(nil), m.dls...)
}
