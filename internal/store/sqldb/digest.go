package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// Weekly digest runs (store.DigestRunStore, part of the desk) and the key
// figures a digest reports.

const digestRunCols = `tenant_id, period, period_from, period_to, status, messages, error, sent_by, claimed_at, finished_at`

func scanDigestRun(r rowScanner) (store.DigestRun, error) {
	var d store.DigestRun
	err := r.Scan(&d.TenantID, &d.Period, timeDest{&d.From}, timeDest{&d.To}, &d.Status, &d.Messages, &d.Error, &d.SentBy,
		timeDest{&d.ClaimedAt}, timeDest{&d.FinishedAt})
	return d, err
}

// ClaimDigest inserts a run; the primary key makes a second claim of the
// same tenant and period ErrConflict, on any node, unless the run is a
// stale one still sending, which the claim takes over.
func (x desk) ClaimDigest(ctx context.Context, r *store.DigestRun, staleBefore time.Time) error {
	s := x.s
	if r.Status == "" {
		r.Status = store.DigestSending
	}
	r.From, r.To, r.ClaimedAt = norm(r.From), norm(r.To), s.stamp()
	res, err := s.conn().exec(ctx, `INSERT INTO digest_runs (`+digestRunCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, period) DO UPDATE SET period_from = excluded.period_from, period_to = excluded.period_to,
			status = excluded.status, messages = excluded.messages, error = excluded.error, sent_by = excluded.sent_by,
			claimed_at = excluded.claimed_at, finished_at = excluded.finished_at
		WHERE digest_runs.status = ? AND digest_runs.claimed_at < ?`,
		r.TenantID, r.Period, s.t(r.From), s.t(r.To), r.Status, r.Messages, r.Error, r.SentBy, s.t(r.ClaimedAt), s.t(r.FinishedAt),
		store.DigestSending, s.t(norm(staleBefore)))
	if err != nil {
		return s.wrap("claim digest", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap("claim digest", err)
	} else if n == 0 {
		return fmt.Errorf("claim digest: %w: another node has claimed it", store.ErrConflict)
	}
	return nil
}

// FinishDigest records the end of a run; an unknown run is ErrNotFound.
func (x desk) FinishDigest(ctx context.Context, tenantID, period, status string, messages int, errText string, at time.Time) error {
	s := x.s
	res, err := s.conn().exec(ctx, `UPDATE digest_runs SET status = ?, messages = ?, error = ?, finished_at = ?
		WHERE tenant_id = ? AND period = ?`, status, messages, errText, s.t(at), tenantID, period)
	return s.wrap("finish digest", affected(res, err))
}

// DigestRuns lists a tenant's runs, newest first.
func (x desk) DigestRuns(ctx context.Context, tenantID string, p store.Page) ([]store.DigestRun, error) {
	limit, offset := PageBounds(p)
	rs, err := collect(ctx, x.s.conn(), scanDigestRun, `SELECT `+digestRunCols+` FROM digest_runs WHERE tenant_id = ?
		ORDER BY claimed_at DESC, period DESC LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return rs, x.s.wrap("list digest runs", err)
}

// DigestCounts counts the figures of [from, to) with one query each.
func (x desk) DigestCounts(ctx context.Context, tenantID string, from, to time.Time) (store.DigestCounts, error) {
	s := x.s
	var c store.DigestCounts
	f, t := s.t(norm(from)), s.t(norm(to))
	queries := []struct {
		dst  *int
		q    string
		args []any
	}{
		{&c.NewAlerts, `SELECT COUNT(*) FROM alerts WHERE tenant_id = ? AND first_seen >= ? AND first_seen < ?`, []any{tenantID, f, t}},
		{&c.ClosedAlerts, `SELECT COUNT(*) FROM alerts WHERE tenant_id = ? AND status IN ('closed', 'false-positive')
			AND updated_at >= ? AND updated_at < ?`, []any{tenantID, f, t}},
		{&c.NewCases, `SELECT COUNT(*) FROM incidents WHERE tenant_id = ? AND created_at >= ? AND created_at < ?`, []any{tenantID, f, t}},
		{&c.ClosedCases, `SELECT COUNT(*) FROM incidents WHERE tenant_id = ? AND closed_at >= ? AND closed_at < ?`, []any{tenantID, f, t}},
		{&c.NewCritical, `SELECT COUNT(*) FROM vuln_findings WHERE tenant_id = ? AND severity = 'critical'
			AND first_seen >= ? AND first_seen < ?`, []any{tenantID, f, t}},
		{&c.NewKEV, `SELECT COUNT(*) FROM vuln_findings WHERE tenant_id = ? AND kev = ? AND first_seen >= ? AND first_seen < ?`,
			[]any{tenantID, true, f, t}},
	}
	for _, q := range queries {
		if err := s.conn().queryRow(ctx, q.q, q.args...).Scan(q.dst); err != nil {
			return c, s.wrap("count digest figures", err)
		}
	}
	return c, nil
}
