package logs

import (
	"context"
	"log/slog"
	"time"
)

// DefaultBatchSize is the largest batch a listener hands to its Sink when
// Options.BatchSize is zero.
const DefaultBatchSize = 1024

// Options configures a listener.
type Options struct {
	// Parser decodes records; nil means the registry's "auto".
	Parser Parser
	// Sink receives the parsed events. Required.
	Sink Sink
	// DeadLetters receives records that did not parse; nil discards
	// them (they are still counted).
	DeadLetters DeadLetterSink
	// Tenant is stamped on every event.
	Tenant string
	// BatchSize bounds a batch; zero means DefaultBatchSize.
	BatchSize int
	// Counters, when set, is where the listener counts; otherwise it
	// keeps its own (see the listener's Counters method).
	Counters *Counters
	// Logger receives operational messages; nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Parser == nil {
		p, _ := NewRegistry().Lookup("auto")
		o.Parser = p
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Counters == nil {
		o.Counters = &Counters{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// batcher parses records and collects events for one stream (one
// connection, file or request). It is not safe for concurrent use.
type batcher struct {
	o      *Options
	source string
	tenant string
	line   int64
	events []Event
}

func newBatcher(o *Options, source, tenant string) *batcher {
	return &batcher{o: o, source: source, tenant: tenant, events: make([]Event, 0, o.BatchSize)}
}

// add parses one record; a record that does not parse goes to the dead
// letters. It reports whether the batch is full.
func (b *batcher) add(ctx context.Context, rec []byte, truncated bool) bool {
	b.line++
	c := b.o.Counters
	c.Received.Add(1)
	meta := Meta{Source: b.source, Tenant: b.tenant, Received: time.Now().UTC()}
	ev, err := ParseRecord(b.o.Parser, rec, meta, truncated)
	if err != nil {
		c.DeadLettered.Add(1)
		if b.o.DeadLetters != nil {
			b.o.DeadLetters.DeadLetter(ctx, NewDeadLetter(meta, b.line, err, rec))
		}
		return len(b.events) >= b.o.BatchSize
	}
	c.Parsed.Add(1)
	if ev.Truncated {
		c.Truncated.Add(1)
	}
	b.events = append(b.events, ev)
	return len(b.events) >= b.o.BatchSize
}

// flush writes the batch to the Sink; on success the batch is emptied.
func (b *batcher) flush(ctx context.Context) error {
	if len(b.events) == 0 {
		return nil
	}
	if err := b.o.Sink.Write(ctx, b.events); err != nil {
		return err
	}
	clear(b.events)
	b.events = b.events[:0]
	return nil
}

// ParseRecord parses one record with p. A record longer than MaxRecordSize
// is cut first; truncated says the caller already cut it. A cut record
// that no longer parses is kept as a "raw" event holding the text as its
// message, so an oversized record is never dropped.
func ParseRecord(p Parser, rec []byte, meta Meta, truncated bool) (Event, error) {
	if len(rec) > MaxRecordSize {
		rec, truncated = rec[:MaxRecordSize], true
	}
	ev, err := p.Parse(rec, meta)
	if err != nil {
		if !truncated {
			return Event{}, err
		}
		ev = newEvent("raw", trimRecord(rec), meta)
		ev.Fields["message"] = ev.Original
		ev.Fields["error.message"] = err.Error()
	}
	if truncated {
		ev.Truncated = true
		ev.Fields["event.original_truncated"] = true
	}
	return ev, nil
}

// NewDeadLetter builds the dead letter for a record that failed with err.
func NewDeadLetter(meta Meta, line int64, err error, rec []byte) DeadLetter {
	raw, _ := bound(rec, DeadLetterMax)
	return DeadLetter{Time: meta.received(), Source: meta.Source, Line: line, Reason: err.Error(), Raw: raw}
}
