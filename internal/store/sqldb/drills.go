package sqldb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// drills implements store.DrillStore; every query is scoped by tenant.
type drills struct{ s *Store }

const drillCols = `id, tenant_id, name, state, start_at, end_at, rules_of_engagement, scope, teams, scheme, cases,
	created_by, created_at, updated_at, version`

func scanDrill(r rowScanner) (store.Drill, error) {
	var d store.Drill
	var scope, teams, scheme, cases string
	err := r.Scan(&d.ID, &d.TenantID, &d.Name, &d.State, timeDest{&d.Start}, timeDest{&d.End}, &d.RulesOfEngagement,
		&scope, &teams, &scheme, &cases, &d.CreatedBy, timeDest{&d.CreatedAt}, timeDest{&d.UpdatedAt}, &d.Version)
	d.Scope, d.Teams, d.Cases = []byte(scope), []byte(teams), []byte(cases)
	if scheme != "" {
		d.Scheme = []byte(scheme)
	}
	return d, err
}

// orJSON returns b as text, or def when b is empty.
func orJSON(b []byte, def string) string {
	if len(b) == 0 {
		return def
	}
	return string(b)
}

// Create stores a new drill at version 1.
func (x drills) Create(ctx context.Context, d *store.Drill) error {
	s := x.s
	if err := ensureID(&d.ID); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO drills (`+drillCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			d.ID, d.TenantID, d.Name, d.State, s.t(d.Start), s.t(d.End), d.RulesOfEngagement, orJSON(d.Scope, "{}"),
			orJSON(d.Teams, "[]"), string(d.Scheme), orJSON(d.Cases, "[]"), d.CreatedBy, s.t(now), s.t(now)); err != nil {
			return err
		}
		return x.setParticipants(ctx, c, d)
	})
	if err != nil {
		return s.wrap("create drill", err)
	}
	d.Start, d.End = norm(d.Start), norm(d.End)
	d.CreatedAt, d.UpdatedAt, d.Version = now, now, 1
	return nil
}

// Get returns one drill.
func (x drills) Get(ctx context.Context, tenantID, id string) (store.Drill, error) {
	d, err := scanDrill(x.s.conn().queryRow(ctx, `SELECT `+drillCols+` FROM drills WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err == nil {
		d.Participants, err = x.participants(ctx, x.s.conn(), tenantID, id)
	}
	return d, x.s.wrap("get drill", err)
}

// List returns a page of drills, latest start first.
func (x drills) List(ctx context.Context, tenantID string, p store.Page) ([]store.Drill, error) {
	limit, offset := PageBounds(p)
	ds, err := collect(ctx, x.s.conn(), scanDrill, `SELECT `+drillCols+` FROM drills WHERE tenant_id = ?
		OR id IN (SELECT drill_id FROM drill_participants WHERE tenant_id = ?)
		ORDER BY start_at DESC, id DESC LIMIT ? OFFSET ?`, tenantID, tenantID, limit, offset)
	return ds, x.s.wrap("list drills", err)
}

// bump moves a drill from version to version+1, or says why it cannot:
// ErrNotFound when the tenant has no such drill, ErrConflict when it
// changed since version was read.
func (x drills) bump(ctx context.Context, c conn, tenantID, id string, version int, now time.Time) error {
	res, err := c.exec(ctx, `UPDATE drills SET version = version + 1, updated_at = ? WHERE tenant_id = ? AND id = ? AND version = ?`,
		x.s.t(now), tenantID, id, version)
	if err := affected(res, err); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM drills WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return fmt.Errorf("%w: the drill was changed by someone else", store.ErrConflict)
	}
	return nil
}

// Update writes the plan and state of a drill if its version is current.
func (x drills) Update(ctx context.Context, d *store.Drill) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		if err := x.bump(ctx, c, d.TenantID, d.ID, d.Version, now); err != nil {
			return err
		}
		_, err := c.exec(ctx, `UPDATE drills SET name = ?, state = ?, start_at = ?, end_at = ?, rules_of_engagement = ?, scope = ?,
			teams = ?, scheme = ?, cases = ? WHERE tenant_id = ? AND id = ?`,
			d.Name, d.State, s.t(d.Start), s.t(d.End), d.RulesOfEngagement, orJSON(d.Scope, "{}"), orJSON(d.Teams, "[]"),
			string(d.Scheme), orJSON(d.Cases, "[]"), d.TenantID, d.ID)
		if err != nil {
			return err
		}
		return x.setParticipants(ctx, c, d)
	})
	if err != nil {
		return s.wrap("update drill", err)
	}
	d.Start, d.End = norm(d.Start), norm(d.End)
	d.UpdatedAt = now
	d.Version++
	return nil
}

// Delete removes a drill and its log.
func (x drills) Delete(ctx context.Context, tenantID, id string) error {
	s := x.s
	return s.wrap("delete drill", s.inTx(ctx, func(c conn) error {
		for _, q := range []string{
			`DELETE FROM drill_observations WHERE tenant_id = ? AND drill_id = ?`,
			`DELETE FROM drill_records WHERE tenant_id = ? AND drill_id = ?`,
			`DELETE FROM drill_announcements WHERE tenant_id = ? AND drill_id = ?`,
			`DELETE FROM drill_state_changes WHERE tenant_id = ? AND drill_id = ?`,
			`DELETE FROM drill_reports WHERE tenant_id = ? AND drill_id = ?`,
			`DELETE FROM drill_remediations WHERE tenant_id = ? AND drill_id = ?`,
			`DELETE FROM drill_participants WHERE drill_tenant_id = ? AND drill_id = ?`,
		} {
			if _, err := c.exec(ctx, q, tenantID, id); err != nil {
				return err
			}
		}
		return affected(c.exec(ctx, `DELETE FROM drills WHERE tenant_id = ? AND id = ?`, tenantID, id))
	}))
}

// maxDrillLog bounds each list of a drill's log read at once; the engine
// refuses more.
const maxDrillLog = 50_000

// Log returns a drill's records, observations, announcements and state
// history.
func (x drills) Log(ctx context.Context, tenantID, id string) (store.DrillLog, error) {
	s := x.s
	var l store.DrillLog
	if _, err := x.Get(ctx, tenantID, id); err != nil {
		return l, err
	}
	c := s.conn()
	var err error
	l.Records, err = collect(ctx, c, func(r rowScanner) (store.DrillRecord, error) {
		var v store.DrillRecord
		var body string
		err := r.Scan(&v.ID, timeDest{&v.At}, &v.Team, &v.Technique, &body)
		v.Body = []byte(body)
		return v, err
	}, `SELECT id, at, team, technique, body FROM drill_records WHERE tenant_id = ? AND drill_id = ? ORDER BY at, id LIMIT ?`,
		tenantID, id, maxDrillLog)
	if err != nil {
		return l, s.wrap("drill records", err)
	}
	l.Observations, err = collect(ctx, c, func(r rowScanner) (store.DrillObservation, error) {
		var v store.DrillObservation
		var body string
		err := r.Scan(&v.Seq, &v.RecordID, &v.AlertID, timeDest{&v.At}, &v.By, &body)
		v.Body = []byte(body)
		return v, err
	}, `SELECT seq, record_id, alert_id, at, by_user, body FROM drill_observations WHERE tenant_id = ? AND drill_id = ? ORDER BY seq LIMIT ?`,
		tenantID, id, maxDrillLog)
	if err != nil {
		return l, s.wrap("drill observations", err)
	}
	l.Announcements, err = collect(ctx, c, func(r rowScanner) (store.DrillAnnouncement, error) {
		var v store.DrillAnnouncement
		return v, r.Scan(&v.Seq, timeDest{&v.At}, &v.By, &v.To, &v.Text)
	}, `SELECT seq, at, by_user, to_role, body FROM drill_announcements WHERE tenant_id = ? AND drill_id = ? ORDER BY seq LIMIT ?`,
		tenantID, id, maxDrillLog)
	if err != nil {
		return l, s.wrap("drill announcements", err)
	}
	l.StateChanges, err = collect(ctx, c, func(r rowScanner) (store.DrillStateChange, error) {
		var v store.DrillStateChange
		return v, r.Scan(&v.Seq, &v.From, &v.To, timeDest{&v.At}, &v.By, &v.Reason)
	}, `SELECT seq, from_state, to_state, at, by_user, reason FROM drill_state_changes WHERE tenant_id = ? AND drill_id = ? ORDER BY seq LIMIT ?`,
		tenantID, id, maxDrillLog)
	if err != nil {
		return l, s.wrap("drill state changes", err)
	}
	if l.Reports, err = x.reports(ctx, c, tenantID, id); err != nil {
		return l, s.wrap("drill reports", err)
	}
	l.Remediations, err = x.remediations(ctx, c, tenantID, id)
	return l, s.wrap("drill remediations", err)
}

// nextSeq returns the next sequence number of a drill's log table.
func nextSeq(ctx context.Context, c conn, table, drillID string) (int64, error) {
	var n int64
	// table is one of the constants of this file, never user input.
	err := c.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM `+table+` WHERE drill_id = ?`, drillID).Scan(&n) // #nosec G202 -- table is a constant
	return n, err
}

// add runs fn after moving the drill to the next version, in one
// transaction, and returns the new version.
func (x drills) add(ctx context.Context, op, tenantID, drillID string, version int, fn func(c conn) error) (int, error) {
	s := x.s
	err := s.inTx(ctx, func(c conn) error {
		if err := x.bump(ctx, c, tenantID, drillID, version, s.stamp()); err != nil {
			return err
		}
		return fn(c)
	})
	if err != nil {
		return version, s.wrap(op, err)
	}
	return version + 1, nil
}

// AddRecord appends an attack record.
func (x drills) AddRecord(ctx context.Context, tenantID, drillID string, version int, r *store.DrillRecord) (int, error) {
	s := x.s
	return x.add(ctx, "add drill record", tenantID, drillID, version, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO drill_records (tenant_id, drill_id, id, at, team, technique, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			tenantID, drillID, r.ID, s.t(r.At), r.Team, r.Technique, orJSON(r.Body, "{}"))
		r.At = norm(r.At)
		return err
	})
}

// AddObservation appends a confirmed defence observation.
func (x drills) AddObservation(ctx context.Context, tenantID, drillID string, version int, o *store.DrillObservation) (int, error) {
	s := x.s
	return x.add(ctx, "add drill observation", tenantID, drillID, version, func(c conn) error {
		seq, err := nextSeq(ctx, c, "drill_observations", drillID)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO drill_observations (tenant_id, drill_id, seq, record_id, alert_id, at, by_user, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, tenantID, drillID, seq, o.RecordID, o.AlertID, s.t(o.At), o.By, orJSON(o.Body, "{}")); err != nil {
			return err
		}
		o.Seq, o.At = seq, norm(o.At)
		return nil
	})
}

// AddAnnouncement appends an announcement.
func (x drills) AddAnnouncement(ctx context.Context, tenantID, drillID string, version int, a *store.DrillAnnouncement) (int, error) {
	s := x.s
	return x.add(ctx, "add drill announcement", tenantID, drillID, version, func(c conn) error {
		seq, err := nextSeq(ctx, c, "drill_announcements", drillID)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO drill_announcements (tenant_id, drill_id, seq, at, by_user, to_role, body)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, tenantID, drillID, seq, s.t(a.At), a.By, a.To, a.Text); err != nil {
			return err
		}
		a.Seq, a.At = seq, norm(a.At)
		return nil
	})
}

// ChangeState appends a state change and sets the drill's state.
func (x drills) ChangeState(ctx context.Context, tenantID, drillID string, version int, ch *store.DrillStateChange) (int, error) {
	s := x.s
	return x.add(ctx, "change drill state", tenantID, drillID, version, func(c conn) error {
		seq, err := nextSeq(ctx, c, "drill_state_changes", drillID)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO drill_state_changes (tenant_id, drill_id, seq, from_state, to_state, at, by_user, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, tenantID, drillID, seq, ch.From, ch.To, s.t(ch.At), ch.By, ch.Reason); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE drills SET state = ? WHERE tenant_id = ? AND id = ?`, ch.To, tenantID, drillID); err != nil {
			return err
		}
		ch.Seq, ch.At = seq, norm(ch.At)
		return nil
	})
}
