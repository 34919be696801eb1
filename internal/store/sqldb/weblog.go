package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// weblogs implements store.WeblogStore; every query is scoped by tenant.
type weblogs struct{ s *Store }

const weblogRunCols = `id, tenant_id, asset_id, name, hits, verdict, verdict_note, verdict_by, verdict_at, created_by, created_at`

func scanWeblogRun(r rowScanner, withResult bool) (store.WeblogRun, error) {
	var v store.WeblogRun
	dest := []any{&v.ID, &v.TenantID, &v.AssetID, &v.Name, &v.Hits, &v.Verdict, &v.VerdictNote, &v.VerdictBy,
		timeDest{&v.VerdictAt}, &v.CreatedBy, timeDest{&v.CreatedAt}}
	if withResult {
		dest = append(dest, &v.Result)
	}
	return v, r.Scan(dest...)
}

// CreateRun stores a finished analysis.
func (x weblogs) CreateRun(ctx context.Context, r *store.WeblogRun) error {
	s := x.s
	if err := ensureID(&r.ID); err != nil {
		return err
	}
	r.CreatedAt = s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO weblog_runs (`+weblogRunCols+`, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TenantID, r.AssetID, r.Name, r.Hits, r.Verdict, r.VerdictNote, r.VerdictBy, s.t(norm(r.VerdictAt)), r.CreatedBy,
		s.t(r.CreatedAt), nonNil(r.Result))
	return s.wrap("create weblog run", err)
}

// GetRun returns one run with its result.
func (x weblogs) GetRun(ctx context.Context, tenantID, id string) (store.WeblogRun, error) {
	v, err := scanWeblogRun(x.s.conn().queryRow(ctx, `SELECT `+weblogRunCols+`, result FROM weblog_runs WHERE tenant_id = ? AND id = ?`,
		tenantID, id), true)
	return v, x.s.wrap("get weblog run", err)
}

// ListRuns returns a page of runs, newest first.
func (x weblogs) ListRuns(ctx context.Context, tenantID string, p store.Page) ([]store.WeblogRun, error) {
	limit, offset := PageBounds(p)
	vs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.WeblogRun, error) { return scanWeblogRun(r, false) },
		`SELECT `+weblogRunCols+` FROM weblog_runs WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		tenantID, limit, offset)
	return vs, x.s.wrap("list weblog runs", err)
}

// SetVerdict records the expert's verdict.
func (x weblogs) SetVerdict(ctx context.Context, tenantID, id, verdict, note, userID string, at time.Time) error {
	s := x.s
	err := affected(s.conn().exec(ctx, `UPDATE weblog_runs SET verdict = ?, verdict_note = ?, verdict_by = ?, verdict_at = ?
		WHERE tenant_id = ? AND id = ?`, verdict, note, userID, s.t(norm(at)), tenantID, id))
	return s.wrap("set weblog verdict", err)
}

// Mark records marks on a run's hits, replacing earlier ones.
func (x weblogs) Mark(ctx context.Context, tenantID, runID string, marks []store.WeblogMark) error {
	s := x.s
	err := s.inTx(ctx, func(c conn) error {
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM weblog_runs WHERE tenant_id = ? AND id = ?`, tenantID, runID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		for _, m := range marks {
			at := norm(m.MarkedAt)
			if at.IsZero() {
				at = s.stamp()
			}
			if _, err := c.exec(ctx, `INSERT INTO weblog_marks (run_id, hit, mark, note, marked_by, marked_at) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (run_id, hit) DO UPDATE SET mark = excluded.mark, note = excluded.note,
				marked_by = excluded.marked_by, marked_at = excluded.marked_at`,
				runID, m.Hit, m.Mark, m.Note, m.MarkedBy, s.t(at)); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("mark weblog hits", err)
}

// Marks returns a run's marks by hit.
func (x weblogs) Marks(ctx context.Context, tenantID, runID string) ([]store.WeblogMark, error) {
	ms, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.WeblogMark, error) {
		var m store.WeblogMark
		return m, r.Scan(&m.Hit, &m.Mark, &m.Note, &m.MarkedBy, timeDest{&m.MarkedAt})
	}, `SELECT m.hit, m.mark, m.note, m.marked_by, m.marked_at FROM weblog_marks m JOIN weblog_runs r ON r.id = m.run_id
		WHERE r.tenant_id = ? AND m.run_id = ? ORDER BY m.hit`, tenantID, runID)
	return ms, x.s.wrap("list weblog marks", err)
}

// AddExclusion stores an exclusion of a system.
func (x weblogs) AddExclusion(ctx context.Context, e *store.WeblogExclusion) error {
	s := x.s
	if err := ensureID(&e.ID); err != nil {
		return err
	}
	e.CreatedAt = s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO weblog_exclusions (id, tenant_id, asset_id, rule, path_prefix, reason, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.TenantID, e.AssetID, e.Rule, e.PathPrefix, e.Reason, e.CreatedBy, s.t(e.CreatedAt))
	return s.wrap("add weblog exclusion", err)
}

// Exclusions returns a system's exclusions.
func (x weblogs) Exclusions(ctx context.Context, tenantID, assetID string) ([]store.WeblogExclusion, error) {
	es, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.WeblogExclusion, error) {
		var e store.WeblogExclusion
		return e, r.Scan(&e.ID, &e.TenantID, &e.AssetID, &e.Rule, &e.PathPrefix, &e.Reason, &e.CreatedBy, timeDest{&e.CreatedAt})
	}, `SELECT id, tenant_id, asset_id, rule, path_prefix, reason, created_by, created_at FROM weblog_exclusions
		WHERE tenant_id = ? AND asset_id = ? ORDER BY created_at, id`, tenantID, assetID)
	return es, x.s.wrap("list weblog exclusions", err)
}

// Claim takes the lease on analysing one system's logs under name: a new
// row, or an expired one taken over.
func (x weblogs) Claim(ctx context.Context, tenantID, assetID, name string, at, expires time.Time) (bool, error) {
	s := x.s
	res, err := s.conn().exec(ctx, `INSERT INTO weblog_claims (tenant_id, asset_id, name, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, asset_id, name) DO UPDATE SET expires_at = excluded.expires_at
		WHERE weblog_claims.expires_at <= ?`, tenantID, assetID, name, s.t(expires), s.t(at))
	if err != nil {
		return false, s.wrap("claim weblog analysis", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.wrap("claim weblog analysis", err)
	}
	return n > 0, nil
}

// Release drops a lease.
func (x weblogs) Release(ctx context.Context, tenantID, assetID, name string) error {
	_, err := x.s.conn().exec(ctx, `DELETE FROM weblog_claims WHERE tenant_id = ? AND asset_id = ? AND name = ?`, tenantID, assetID, name)
	return x.s.wrap("release weblog analysis", err)
}
