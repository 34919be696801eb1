package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// events implements store.EventStore; every query is scoped by tenant.
type events struct{ s *Store }

const eventCols = `id, tenant_id, at, received, source, format, host, source_ip, user_name, message, fields, original, truncated`

func scanEvent(r rowScanner) (store.Event, error) {
	var e store.Event
	var fields []byte
	var fieldsText string
	dest := []any{&e.ID, &e.TenantID, timeDest{&e.Time}, timeDest{&e.Received}, &e.Source, &e.Format, &e.Host, &e.SourceIP,
		&e.User, &e.Message, &fieldsText, &e.Original, &e.Truncated}
	if err := r.Scan(dest...); err != nil {
		return e, err
	}
	fields = []byte(fieldsText)
	if len(fields) > 0 {
		if err := json.Unmarshal(fields, &e.Fields); err != nil {
			return e, fmt.Errorf("event %s fields: %w", e.ID, err)
		}
	}
	return e, nil
}

// Append stores events in one transaction, skipping IDs already stored.
// The insert is prepared once per batch and the fields are encoded
// without reflection (fieldsEncoder): this is the hot path of ingest.
func (x events) Append(ctx context.Context, evs []store.Event) ([]string, error) {
	s := x.s
	var added []string
	err := s.inTx(ctx, func(c conn) error {
		ins, err := c.prepare(ctx, `INSERT INTO events (`+eventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer func() { _ = ins.Close() }()
		agg := newEventAggregates()
		var enc fieldsEncoder
		added = make([]string, 0, len(evs))
		for i := range evs {
			e := &evs[i]
			b, err := enc.encode(e.Fields)
			if err != nil {
				return fmt.Errorf("event %s fields: %w", e.ID, err)
			}
			res, err := ins.ExecContext(ctx, e.ID, e.TenantID, s.t(norm(e.Time)), s.t(norm(e.Received)), e.Source, e.Format,
				e.Host, e.SourceIP, e.User, e.Message, string(b), e.Original, e.Truncated)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if k > 0 {
				added = append(added, e.ID)
				agg.add(e)
			}
		}
		return agg.save(ctx, s, c)
	})
	if err != nil {
		return nil, s.wrap("append events", err)
	}
	return added, nil
}

// prepare prepares a ?-placeholder statement on the database or
// transaction of c.
func (c conn) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	p, ok := c.q.(interface {
		PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	})
	if !ok {
		return nil, fmt.Errorf("prepare: %T cannot prepare statements", c.q)
	}
	return p.PrepareContext(ctx, c.d.rebind(query))
}

// columnTerms are the search fields kept in their own columns.
var columnTerms = map[string]string{"host": "host", "host.name": "host", "source_ip": "source_ip", "source.ip": "source_ip",
	"user": "user_name", "user.name": "user_name", "format": "format", "source": "source"}

func (x events) where(tenantID string, q store.EventQuery) *where {
	s := x.s
	w := &where{}
	w.add("tenant_id = ?", tenantID)
	if !q.Since.IsZero() {
		w.add("at >= ?", s.t(norm(q.Since)))
	}
	if !q.Until.IsZero() {
		w.add("at < ?", s.t(norm(q.Until)))
	}
	for _, t := range q.Terms {
		if col, ok := columnTerms[t.Field]; ok {
			w.add(col+" = ?", t.Value)
			continue
		}
		if s.d.Name == "postgres" {
			w.add("fields->>? = ?", t.Field, t.Value)
		} else {
			w.add("CAST(json_extract(fields, ?) AS TEXT) = ?", `$."`+strings.ReplaceAll(t.Field, `"`, ``)+`"`, t.Value)
		}
	}
	if q.Text != "" {
		w.add(`lower(original) LIKE ? ESCAPE '!'`, containsPattern(q.Text))
	}
	return w
}

// Search returns a page of matching events, newest first.
func (x events) Search(ctx context.Context, tenantID string, q store.EventQuery) ([]store.Event, error) {
	w := x.where(tenantID, q)
	limit, offset := PageBounds(q.Page)
	es, err := collect(ctx, x.s.conn(), scanEvent, `SELECT `+eventCols+` FROM events`+w.String()+
		` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	return es, x.s.wrap("search events", err)
}

// Count counts matching events.
func (x events) Count(ctx context.Context, tenantID string, q store.EventQuery) (int, error) {
	w := x.where(tenantID, q)
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM events`+w.String(), w.args...).Scan(&n)
	return n, x.s.wrap("count events", err)
}

// Get returns one event.
func (x events) Get(ctx context.Context, tenantID, id string) (store.Event, error) {
	e, err := scanEvent(x.s.conn().queryRow(ctx, `SELECT `+eventCols+` FROM events WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return e, x.s.wrap("get event", err)
}

// maxHistogramRows bounds the events a histogram reads.
const maxHistogramRows = 500_000

// Histogram counts matching events per bucket, reading their times (at
// most maxHistogramRows of them).
func (x events) Histogram(ctx context.Context, tenantID string, q store.EventQuery, step time.Duration) ([]int, error) {
	if q.Since.IsZero() || q.Until.IsZero() || step <= 0 || !q.Until.After(q.Since) {
		return nil, fmt.Errorf("histogram: %w: since, until and step are required", store.ErrInvalid)
	}
	n := int(q.Until.Sub(q.Since)/step) + 1
	if n > 1000 {
		return nil, fmt.Errorf("histogram: %w: more than 1000 buckets", store.ErrInvalid)
	}
	w := x.where(tenantID, q)
	ts, err := collect(ctx, x.s.conn(), func(r rowScanner) (time.Time, error) {
		var t time.Time
		return t, r.Scan(timeDest{&t})
	}, `SELECT at FROM events`+w.String()+` LIMIT ?`, append(w.args, maxHistogramRows)...)
	if err != nil {
		return nil, x.s.wrap("event histogram", err)
	}
	out := make([]int, n)
	since := norm(q.Since) // as stored: microseconds, UTC
	for _, t := range ts {
		if i := int(t.Sub(since) / step); i >= 0 && i < n {
			out[i]++
		}
	}
	return out, nil
}

// alerts implements store.AlertStore; every query is scoped by tenant.
type alerts struct{ s *Store }

const alertCols = `id, tenant_id, group_key, rule_id, rule_title, level, tags, host, asset_id, event_ids, count, status, note,
	first_seen, last_seen, updated_by, updated_at`

func scanAlert(r rowScanner) (store.Alert, error) {
	var a store.Alert
	err := r.Scan(&a.ID, &a.TenantID, &a.GroupKey, &a.RuleID, &a.RuleTitle, &a.Level, jsonDest{&a.Tags}, &a.Host, &a.AssetID,
		jsonDest{&a.EventIDs}, &a.Count, &a.Status, &a.Note, timeDest{&a.FirstSeen}, timeDest{&a.LastSeen}, &a.UpdatedBy,
		timeDest{&a.UpdatedAt})
	return a, err
}

// Raise joins a to an open alert of its group seen within window, or
// creates it.
func (x alerts) Raise(ctx context.Context, a *store.Alert, window time.Duration, openStatuses []string, maxEvents int) (bool, error) {
	s := x.s
	created := false
	at := norm(a.LastSeen)
	if at.IsZero() {
		at = s.stamp()
	}
	err := s.inTx(ctx, func(c conn) error {
		// Writers raising the same group (several ingest or hunting
		// nodes) take turns, so the read below sees the other's insert
		// or update instead of racing it.
		if err := c.lock(ctx, "alert|"+a.TenantID+"|"+a.GroupKey); err != nil {
			return err
		}
		args := []any{a.TenantID, a.GroupKey, s.t(at.Add(-window))}
		for _, st := range openStatuses {
			args = append(args, st)
		}
		cur, err := scanAlert(c.queryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE tenant_id = ? AND group_key = ?
			AND last_seen >= ? AND status IN (`+placeholders(len(openStatuses))+`) ORDER BY last_seen DESC LIMIT 1`, args...))
		if err != nil && !isNoRows(err) {
			return err
		}
		if err == nil {
			// An event already in the alert (a redelivered message, a
			// second node hunting the same window) is not counted again.
			ids := cur.EventIDs
			seen := make(map[string]bool, len(ids))
			for _, id := range ids {
				seen[id] = true
			}
			dup := 0
			for _, id := range a.EventIDs {
				switch {
				case seen[id]:
					dup++
				case len(ids) < maxEvents:
					ids = append(ids, id)
				}
				seen[id] = true
			}
			inc := max(a.Count, 1) - dup
			if dup > 0 && inc <= 0 {
				*a = cur
				return nil
			}
			inc = max(inc, 1)
			idsArg, err := tagsArg(ids)
			if err != nil {
				return err
			}
			last := cur.LastSeen
			if at.After(last) {
				last = at
			}
			if _, err := c.exec(ctx, `UPDATE alerts SET count = count + ?, event_ids = ?, last_seen = ? WHERE id = ?`,
				inc, idsArg, s.t(last), cur.ID); err != nil {
				return err
			}
			cur.Count += inc
			cur.EventIDs, cur.LastSeen = ids, last
			*a = cur
			return nil
		}
		if err := ensureID(&a.ID); err != nil {
			return err
		}
		if len(a.EventIDs) > maxEvents {
			a.EventIDs = a.EventIDs[:maxEvents]
		}
		tags, err := tagsArg(a.Tags)
		if err != nil {
			return err
		}
		ids, err := tagsArg(a.EventIDs)
		if err != nil {
			return err
		}
		a.Count = max(a.Count, 1)
		first := norm(a.FirstSeen)
		if first.IsZero() {
			first = at
		}
		a.FirstSeen, a.LastSeen, a.UpdatedAt = first, at, s.stamp()
		_, err = c.exec(ctx, `INSERT INTO alerts (`+alertCols+`, level_rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.TenantID, a.GroupKey, a.RuleID, a.RuleTitle, a.Level, tags, a.Host, a.AssetID, ids, a.Count, a.Status, a.Note,
			s.t(a.FirstSeen), s.t(a.LastSeen), a.UpdatedBy, s.t(a.UpdatedAt), store.SeverityRank(a.Level))
		created = err == nil
		return err
	})
	return created, s.wrap("raise alert", err)
}

// Get returns one alert.
func (x alerts) Get(ctx context.Context, tenantID, id string) (store.Alert, error) {
	a, err := scanAlert(x.s.conn().queryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return a, x.s.wrap("get alert", err)
}

func (x alerts) where(tenantID string, f store.AlertFilter) *where {
	w := &where{}
	w.add("tenant_id = ?", tenantID)
	w.in("status", f.Statuses)
	if f.Level != "" {
		w.add("level = ?", f.Level)
	}
	if f.RuleID != "" {
		w.add("rule_id = ?", f.RuleID)
	}
	if f.RulePrefix != "" {
		w.add(`rule_id LIKE ? ESCAPE '!'`, likeEscaper.Replace(f.RulePrefix)+"%")
	}
	if !f.Since.IsZero() {
		w.add("last_seen >= ?", x.s.t(norm(f.Since)))
	}
	if !f.Until.IsZero() {
		w.add("first_seen < ?", x.s.t(norm(f.Until)))
	}
	if f.Query != "" {
		p := containsPattern(f.Query)
		w.add(`(lower(rule_title) LIKE ? ESCAPE '!' OR lower(host) LIKE ? ESCAPE '!')`, p, p)
	}
	return w
}

// List returns a page of alerts, most severe and latest first.
func (x alerts) List(ctx context.Context, tenantID string, f store.AlertFilter) ([]store.Alert, error) {
	w := x.where(tenantID, f)
	limit, offset := PageBounds(f.Page)
	as, err := collect(ctx, x.s.conn(), scanAlert, `SELECT `+alertCols+` FROM alerts`+w.String()+
		` ORDER BY level_rank DESC, last_seen DESC, id LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	return as, x.s.wrap("list alerts", err)
}

// Count counts matching alerts.
func (x alerts) Count(ctx context.Context, tenantID string, f store.AlertFilter) (int, error) {
	w := x.where(tenantID, f)
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM alerts`+w.String(), w.args...).Scan(&n)
	return n, x.s.wrap("count alerts", err)
}

// SetStatus changes an alert's status.
func (x alerts) SetStatus(ctx context.Context, tenantID, id, status, note, userID string, at time.Time) error {
	s := x.s
	err := affected(s.conn().exec(ctx, `UPDATE alerts SET status = ?, note = ?, updated_by = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		status, note, userID, s.t(norm(at)), tenantID, id))
	return s.wrap("set alert status", err)
}
