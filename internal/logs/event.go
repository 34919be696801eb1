package logs

import (
	"maps"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxRecordSize is the largest log record kept whole: 64 KiB. A longer
// record is cut to this size and its event carries Truncated; it is never
// dropped for its size.
const MaxRecordSize = 64 << 10

// Event is one normalised log record.
type Event struct {
	// ID is a UUIDv7: unique and ordered by the time it was minted.
	ID string `json:"id"`
	// Time is the record's own timestamp (@timestamp), or Received when
	// the record has none.
	Time time.Time `json:"@timestamp"`
	// Received is when Vigil read the record.
	Received time.Time `json:"received"`
	// Tenant owns the event.
	Tenant string `json:"tenant,omitempty"`
	// Source is where the record came from: a listener's peer address or
	// a file path.
	Source string `json:"source,omitempty"`
	// Format is the name of the parser that produced the event.
	Format string `json:"format"`
	// LogSource is the Sigma logsource the event belongs to, when known.
	LogSource LogSource `json:"logsource,omitzero"`
	// Fields holds the parsed data under ECS-style dotted names
	// (source.ip, user.name, event.outcome, …); formats with their own
	// well-known names (Windows EventID, Image, CommandLine) keep them and
	// gain ECS aliases.
	Fields map[string]any `json:"fields"`
	// Original is the record as received, at most MaxRecordSize bytes.
	Original string `json:"original"`
	// Truncated is set when the record was longer than MaxRecordSize.
	Truncated bool `json:"truncated,omitempty"`
}

// LogSource is the Sigma logsource (product, category, service) of an event.
type LogSource struct {
	Product  string `json:"product,omitempty"`
	Category string `json:"category,omitempty"`
	Service  string `json:"service,omitempty"`
}

// Meta is what a listener knows about a record besides its bytes.
type Meta struct {
	// Source is the peer address or file path.
	Source string
	// Tenant owns the record.
	Tenant string
	// Received is when the record was read; parsers use it for the event
	// time when the record has none and to infer the year of RFC 3164
	// timestamps. Zero means time.Now().
	Received time.Time
}

func (m Meta) received() time.Time {
	if m.Received.IsZero() {
		return time.Now().UTC()
	}
	return m.Received
}

// newEvent starts an event for a record: ID, times, tenant, source, format
// and the bounded original.
func newEvent(format string, line []byte, meta Meta) Event {
	rcv := meta.received()
	ev := Event{
		ID:       newID(),
		Time:     rcv,
		Received: rcv,
		Tenant:   meta.Tenant,
		Source:   meta.Source,
		Format:   format,
		Fields:   make(map[string]any, 16),
	}
	ev.Original, ev.Truncated = bound(line, MaxRecordSize)
	return ev
}

// newID mints a UUIDv7, falling back to a random UUID if the clock source
// fails (uuid.NewV7 only fails when the random source does).
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// bound returns b as a string of at most n bytes, cut on a UTF-8 boundary,
// and whether it was cut.
func bound(b []byte, n int) (string, bool) {
	if len(b) <= n {
		return string(b), false
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]), true
}

// DetectFields returns the event in the form the Sigma engine takes
// (detect.NewEvent): a map whose keys are the field names, plus a
// "logsource" object when the event's logsource is known, and
// "@timestamp". The map is a copy; changing it leaves the event alone.
func (e *Event) DetectFields() map[string]any {
	m := make(map[string]any, len(e.Fields)+2)
	maps.Copy(m, e.Fields)
	for k, v := range m {
		// The engine reads lists as []any.
		if ss, ok := v.([]string); ok {
			l := make([]any, len(ss))
			for i, s := range ss {
				l[i] = s
			}
			m[k] = l
		}
	}
	if e.LogSource != (LogSource{}) {
		ls := map[string]any{}
		if e.LogSource.Product != "" {
			ls["product"] = e.LogSource.Product
		}
		if e.LogSource.Category != "" {
			ls["category"] = e.LogSource.Category
		}
		if e.LogSource.Service != "" {
			ls["service"] = e.LogSource.Service
		}
		m["logsource"] = ls
	}
	if _, ok := m["@timestamp"]; !ok {
		m["@timestamp"] = e.Time.UTC().Format(time.RFC3339Nano)
	}
	return m
}
