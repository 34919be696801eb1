package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// eventAggregates are the per-source and per-hour counts of one appended
// batch, written once per key at the end of the batch.
type eventAggregates struct {
	sources map[[3]string]*store.EventSource
	hours   map[hourKey]int64
}

type hourKey struct {
	tenantID string
	hour     time.Time
}

func newEventAggregates() *eventAggregates {
	return &eventAggregates{sources: map[[3]string]*store.EventSource{}, hours: map[hourKey]int64{}}
}

// add counts one newly stored event, by the time it was received.
func (a *eventAggregates) add(e *store.Event) {
	at := norm(e.Received)
	k := [3]string{e.TenantID, e.Source, e.Host}
	src := a.sources[k]
	if src == nil {
		src = &store.EventSource{TenantID: e.TenantID, Source: e.Source, Host: e.Host, FirstSeen: at, LastSeen: at}
		a.sources[k] = src
	}
	src.Events++
	if at.Before(src.FirstSeen) {
		src.FirstSeen = at
	}
	if at.After(src.LastSeen) {
		src.LastSeen = at
	}
	a.hours[hourKey{e.TenantID, at.Truncate(time.Hour)}]++
}

func (a *eventAggregates) save(ctx context.Context, s *Store, c conn) error {
	for _, src := range a.sources {
		if _, err := c.exec(ctx, `INSERT INTO event_sources (tenant_id, source, host, first_seen, last_seen, events) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, source, host) DO UPDATE SET
			first_seen = CASE WHEN excluded.first_seen < event_sources.first_seen THEN excluded.first_seen ELSE event_sources.first_seen END,
			last_seen = CASE WHEN excluded.last_seen > event_sources.last_seen THEN excluded.last_seen ELSE event_sources.last_seen END,
			events = event_sources.events + excluded.events`,
			src.TenantID, src.Source, src.Host, s.t(src.FirstSeen), s.t(src.LastSeen), src.Events); err != nil {
			return fmt.Errorf("event source counts: %w", err)
		}
	}
	for k, n := range a.hours {
		if _, err := c.exec(ctx, `INSERT INTO event_hours (tenant_id, hour, events) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, hour) DO UPDATE SET events = event_hours.events + excluded.events`,
			k.tenantID, s.t(k.hour), n); err != nil {
			return fmt.Errorf("event hour counts: %w", err)
		}
	}
	return nil
}

// Sources lists a tenant's log senders, longest silent first.
func (x events) Sources(ctx context.Context, tenantID string, p store.Page) ([]store.EventSource, error) {
	limit, offset := PageBounds(p)
	vs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.EventSource, error) {
		var v store.EventSource
		return v, r.Scan(&v.TenantID, &v.Source, &v.Host, timeDest{&v.FirstSeen}, timeDest{&v.LastSeen}, &v.Events)
	}, `SELECT tenant_id, source, host, first_seen, last_seen, events FROM event_sources WHERE tenant_id = ?
		ORDER BY last_seen, source, host LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return vs, x.s.wrap("list event sources", err)
}

// maxHours bounds an hourly series.
const maxHours = 24 * 93

// Hourly counts the events received per hour from since's hour to until.
func (x events) Hourly(ctx context.Context, tenantID string, since, until time.Time) ([]int, error) {
	from := norm(since).Truncate(time.Hour)
	if since.IsZero() || !until.After(since) {
		return nil, fmt.Errorf("hourly events: %w: since must be before until", store.ErrInvalid)
	}
	n := int((norm(until).Sub(from) + time.Hour - 1) / time.Hour)
	if n > maxHours {
		return nil, fmt.Errorf("hourly events: %w: more than %d hours", store.ErrInvalid, maxHours)
	}
	type row struct {
		hour time.Time
		n    int
	}
	rows, err := collect(ctx, x.s.conn(), func(r rowScanner) (row, error) {
		var v row
		return v, r.Scan(timeDest{&v.hour}, &v.n)
	}, `SELECT hour, events FROM event_hours WHERE tenant_id = ? AND hour >= ? AND hour < ?`,
		tenantID, x.s.t(from), x.s.t(norm(until)))
	if err != nil {
		return nil, x.s.wrap("hourly events", err)
	}
	out := make([]int, n)
	for _, r := range rows {
		if i := int(r.hour.Sub(from) / time.Hour); i >= 0 && i < n {
			out[i] += r.n
		}
	}
	return out, nil
}

// postures implements store.PostureStore; every query is scoped by tenant.
type postures struct{ s *Store }

// Save records a day's snapshot, replacing an earlier one of that day.
func (x postures) Save(ctx context.Context, p *store.PostureSnapshot) error {
	s := x.s
	if _, err := time.Parse(time.DateOnly, p.Day); err != nil {
		return store.NewFieldError("day", store.CodeInvalidDate, nil, "day %q is not YYYY-MM-DD", p.Day)
	}
	if p.TakenAt.IsZero() {
		p.TakenAt = s.stamp()
	}
	breakdown := p.Breakdown
	if len(breakdown) == 0 {
		breakdown = []byte("{}")
	}
	_, err := s.conn().exec(ctx, `INSERT INTO posture_snapshots (tenant_id, day, score, breakdown, taken_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, day) DO UPDATE SET score = excluded.score, breakdown = excluded.breakdown, taken_at = excluded.taken_at`,
		p.TenantID, p.Day, p.Score, string(breakdown), s.t(p.TakenAt))
	return s.wrap("save posture snapshot", err)
}

// History returns a tenant's snapshots from a day on, oldest first.
func (x postures) History(ctx context.Context, tenantID, since string) ([]store.PostureSnapshot, error) {
	vs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.PostureSnapshot, error) {
		var v store.PostureSnapshot
		var b string
		err := r.Scan(&v.TenantID, &v.Day, &v.Score, &b, timeDest{&v.TakenAt})
		v.Breakdown = []byte(b)
		return v, err
	}, `SELECT tenant_id, day, score, breakdown, taken_at FROM posture_snapshots WHERE tenant_id = ? AND day >= ?
		ORDER BY day LIMIT ?`, tenantID, since, maxHistoryDays)
	return vs, x.s.wrap("posture history", err)
}

// maxHistoryDays bounds a posture history: a little over a year.
const maxHistoryDays = 400

// AlertTally counts a tenant's open alerts by level, the open ones of a
// rule prefix and the recent ones in one statement: two branches, each of
// which can use the (tenant_id, status, last_seen) index.
func (x postures) AlertTally(ctx context.Context, tenantID string, q store.AlertTallyQuery) (store.AlertTally, error) {
	s := x.s
	out := store.AlertTally{Open: map[string]int{}}
	var sb strings.Builder
	var args []any
	prefix := "0"
	if q.RulePrefix != "" {
		prefix = `CASE WHEN rule_id LIKE ? ESCAPE '!' THEN 1 ELSE 0 END`
		args = append(args, likeEscaper.Replace(q.RulePrefix)+"%")
	}
	if len(q.Open) > 0 {
		sb.WriteString(`SELECT 'open', level, COUNT(*), SUM(` + prefix + `) FROM alerts WHERE tenant_id = ? AND status IN (?` +
			strings.Repeat(", ?", len(q.Open)-1) + `) GROUP BY level`)
		args = append(args, tenantID)
		for _, st := range q.Open {
			args = append(args, st)
		}
	} else {
		args = args[:0]
	}
	if !q.Since.IsZero() {
		if sb.Len() > 0 {
			sb.WriteString(` UNION ALL `)
		}
		sb.WriteString(`SELECT 'recent', '', COUNT(*), 0 FROM alerts WHERE tenant_id = ? AND last_seen >= ?`)
		args = append(args, tenantID, s.t(norm(q.Since)))
	}
	if sb.Len() == 0 {
		return out, nil
	}
	type row struct {
		kind, level string
		n, prefixed int64
	}
	rows, err := collect(ctx, s.conn(), func(r rowScanner) (row, error) {
		var v row
		return v, r.Scan(&v.kind, &v.level, &v.n, &v.prefixed)
	}, sb.String(), args...)
	if err != nil {
		return out, s.wrap("alert tally", err)
	}
	for _, r := range rows {
		if r.kind == "recent" {
			out.Recent = int(r.n)
			continue
		}
		out.Open[r.level] += int(r.n)
		out.OpenTotal += int(r.n)
		out.OpenPrefix += int(r.prefixed)
	}
	return out, nil
}

// maxLoadRows is the rows of one multi-row INSERT in Load: 13 parameters
// each stay well below both drivers' limits.
const maxLoadRows = 500

// Load stores many events in one transaction with multi-row inserts,
// skipping IDs already stored, and keeps the per-sender and per-hour
// counters as Append does.
func (x events) Load(ctx context.Context, evs []store.Event) (int, error) {
	s := x.s
	added := 0
	err := s.inTx(ctx, func(c conn) error {
		agg := newEventAggregates()
		args := make([]any, 0, maxLoadRows*13)
		for start := 0; start < len(evs); start += maxLoadRows {
			chunk := evs[start:min(start+maxLoadRows, len(evs))]
			// The events of each ID in order; a repeated ID that is stored
			// once is the first of them, as with Append.
			byID := make(map[string][]*store.Event, len(chunk))
			args = args[:0]
			for i := range chunk {
				e := &chunk[i]
				fields := e.Fields
				if fields == nil {
					fields = map[string]any{}
				}
				b, err := json.Marshal(fields)
				if err != nil {
					return fmt.Errorf("event %s fields: %w", e.ID, err)
				}
				byID[e.ID] = append(byID[e.ID], e)
				args = append(args, e.ID, e.TenantID, s.t(norm(e.Time)), s.t(norm(e.Received)), e.Source, e.Format, e.Host,
					e.SourceIP, e.User, e.Message, string(b), e.Original, e.Truncated)
			}
			q := `INSERT INTO events (` + eventCols + `) VALUES ` +
				strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", len(chunk)-1) +
				`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`
			ids, err := collect(ctx, c, func(r rowScanner) (string, error) {
				var id string
				return id, r.Scan(&id)
			}, q, args...)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if es := byID[id]; len(es) > 0 {
					agg.add(es[0])
					byID[id] = es[1:]
					added++
				}
			}
		}
		return agg.save(ctx, s, c)
	})
	if err != nil {
		return 0, s.wrap("load events", err)
	}
	return added, nil
}
