package sqldb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// baselineStore implements store.BaselineStore; every query but
// DueSchedules is scoped by tenant.
type baselineStore struct{ s *Store }

const baselineRunCols = `id, tenant_id, asset_id, policy_id, policy_title, policy_version, source, started_at, finished_at,
	score, scored, passed, failed, not_applicable, errors, manual, created_by`

func scanBaselineRun(r rowScanner) (store.BaselineRun, error) {
	var x store.BaselineRun
	err := r.Scan(&x.ID, &x.TenantID, &x.AssetID, &x.PolicyID, &x.PolicyTitle, &x.PolicyVersion, &x.Source,
		timeDest{&x.StartedAt}, timeDest{&x.FinishedAt}, &x.Score, &x.Scored, &x.Passed, &x.Failed, &x.NotApplicable,
		&x.Errors, &x.Manual, &x.CreatedBy)
	return x, err
}

// CreateRun stores a run and its checks in one transaction.
func (x baselineStore) CreateRun(ctx context.Context, r *store.BaselineRun, checks []store.BaselineCheck) error {
	s := x.s
	if err := ensureID(&r.ID); err != nil {
		return err
	}
	evidence := make([]string, len(checks))
	for i := range checks {
		e, err := tagsArg(checks[i].Evidence)
		if err != nil {
			return err
		}
		evidence[i] = e
	}
	err := s.inTx(ctx, func(c conn) error {
		// The asset must be the tenant's: a foreign key alone would accept
		// another tenant's asset.
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM assets WHERE tenant_id = ? AND id = ?`, r.TenantID, r.AssetID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if _, err := c.exec(ctx, `INSERT INTO baseline_runs (`+baselineRunCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.TenantID, r.AssetID, r.PolicyID, r.PolicyTitle, r.PolicyVersion, r.Source, s.t(r.StartedAt), s.t(r.FinishedAt),
			r.Score, r.Scored, r.Passed, r.Failed, r.NotApplicable, r.Errors, r.Manual, r.CreatedBy); err != nil {
			return err
		}
		for i := range checks {
			ch := &checks[i]
			if _, err := c.exec(ctx, `INSERT INTO baseline_checks (tenant_id, run_id, seq, check_id, title, result, reason, remediation, evidence)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.TenantID, r.ID, i, ch.CheckID, ch.Title, ch.Result, ch.Reason, ch.Remediation,
				evidence[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap("create baseline run", err)
	}
	r.StartedAt, r.FinishedAt = norm(r.StartedAt), norm(r.FinishedAt)
	for i := range checks {
		checks[i].RunID, checks[i].Seq = r.ID, i
	}
	return nil
}

// GetRun returns one run.
func (x baselineStore) GetRun(ctx context.Context, tenantID, id string) (store.BaselineRun, error) {
	r, err := scanBaselineRun(x.s.conn().queryRow(ctx, `SELECT `+baselineRunCols+` FROM baseline_runs WHERE tenant_id = ? AND id = ?`,
		tenantID, id))
	return r, x.s.wrap("get baseline run", err)
}

// ListRuns returns a page of runs, most recently finished first.
func (x baselineStore) ListRuns(ctx context.Context, tenantID string, f store.BaselineRunFilter) ([]store.BaselineRun, error) {
	limit, offset := PageBounds(f.Page)
	var w where
	w.add("tenant_id = ?", tenantID)
	if f.AssetID != "" {
		w.add("asset_id = ?", f.AssetID)
	}
	if f.PolicyID != "" {
		w.add("policy_id = ?", f.PolicyID)
	}
	rs, err := collect(ctx, x.s.conn(), scanBaselineRun, `SELECT `+baselineRunCols+` FROM baseline_runs`+w.String()+`
		ORDER BY finished_at DESC, id DESC LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	return rs, x.s.wrap("list baseline runs", err)
}

// LatestRuns returns the latest run of each policy on each asset.
func (x baselineStore) LatestRuns(ctx context.Context, tenantID string) ([]store.BaselineRun, error) {
	rs, err := collect(ctx, x.s.conn(), scanBaselineRun, `SELECT `+baselineRunCols+` FROM baseline_runs r
		WHERE tenant_id = ? AND NOT EXISTS (SELECT 1 FROM baseline_runs o WHERE o.tenant_id = r.tenant_id
			AND o.asset_id = r.asset_id AND o.policy_id = r.policy_id
			AND (o.finished_at > r.finished_at OR (o.finished_at = r.finished_at AND o.id > r.id)))
		ORDER BY asset_id, policy_id`, tenantID)
	return rs, x.s.wrap("latest baseline runs", err)
}

// Checks returns a run's checks in report order.
func (x baselineStore) Checks(ctx context.Context, tenantID, runID string, f store.BaselineCheckFilter) ([]store.BaselineCheck, error) {
	if f.Limit <= 0 {
		return nil, fmt.Errorf("baseline checks: %w: limit must be positive", store.ErrInvalid)
	}
	var w where
	w.add("tenant_id = ?", tenantID)
	w.add("run_id = ?", runID)
	if f.Result != "" {
		w.add("result = ?", f.Result)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		p := containsPattern(q)
		w.add("(lower(check_id) LIKE ? ESCAPE '!' OR lower(title) LIKE ? ESCAPE '!')", p, p)
	}
	cs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.BaselineCheck, error) {
		var c store.BaselineCheck
		return c, r.Scan(&c.RunID, &c.Seq, &c.CheckID, &c.Title, &c.Result, &c.Reason, &c.Remediation, jsonDest{&c.Evidence})
	}, `SELECT run_id, seq, check_id, title, result, reason, remediation, evidence FROM baseline_checks`+w.String()+`
		ORDER BY seq LIMIT ?`, append(w.args, min(f.Limit, store.MaxPageSize))...)
	return cs, x.s.wrap("list baseline checks", err)
}

const hardeningCols = `id, tenant_id, asset_id, policy_id, check_id, title, run_id, remediation, fix, state, proposed_by,
	decided_by, decided_at, reason, applied_by, applied_at, verified_run_id, created_at, updated_at, version`

func scanHardening(r rowScanner) (store.HardeningItem, error) {
	var h store.HardeningItem
	err := r.Scan(&h.ID, &h.TenantID, &h.AssetID, &h.PolicyID, &h.CheckID, &h.Title, &h.RunID, &h.Remediation, &h.Fix,
		&h.State, &h.ProposedBy, &h.DecidedBy, timeDest{&h.DecidedAt}, &h.Reason, &h.AppliedBy, timeDest{&h.AppliedAt},
		&h.VerifiedRunID, timeDest{&h.CreatedAt}, timeDest{&h.UpdatedAt}, &h.Version)
	return h, err
}

// CreateHardening stores a new item.
func (x baselineStore) CreateHardening(ctx context.Context, h *store.HardeningItem) error {
	s := x.s
	if err := ensureID(&h.ID); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM assets WHERE tenant_id = ? AND id = ?`, h.TenantID, h.AssetID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		_, err := c.exec(ctx, `INSERT INTO hardening_items (`+hardeningCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			h.ID, h.TenantID, h.AssetID, h.PolicyID, h.CheckID, h.Title, h.RunID, h.Remediation, h.Fix, h.State, h.ProposedBy,
			h.DecidedBy, s.t(h.DecidedAt), h.Reason, h.AppliedBy, s.t(h.AppliedAt), h.VerifiedRunID, s.t(now), s.t(now))
		return err
	})
	if err != nil {
		return s.wrap("create hardening item", err)
	}
	h.CreatedAt, h.UpdatedAt, h.Version = now, now, 1
	h.DecidedAt, h.AppliedAt = norm(h.DecidedAt), norm(h.AppliedAt)
	return nil
}

// GetHardening returns one item.
func (x baselineStore) GetHardening(ctx context.Context, tenantID, id string) (store.HardeningItem, error) {
	h, err := scanHardening(x.s.conn().queryRow(ctx, `SELECT `+hardeningCols+` FROM hardening_items WHERE tenant_id = ? AND id = ?`,
		tenantID, id))
	return h, x.s.wrap("get hardening item", err)
}

// ListHardening returns a page of items, most recently updated first.
func (x baselineStore) ListHardening(ctx context.Context, tenantID string, f store.HardeningFilter) ([]store.HardeningItem, error) {
	limit, offset := PageBounds(f.Page)
	var w where
	w.add("tenant_id = ?", tenantID)
	if f.AssetID != "" {
		w.add("asset_id = ?", f.AssetID)
	}
	if f.State != "" {
		w.add("state = ?", f.State)
	}
	hs, err := collect(ctx, x.s.conn(), scanHardening, `SELECT `+hardeningCols+` FROM hardening_items`+w.String()+`
		ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	return hs, x.s.wrap("list hardening items", err)
}

// UpdateHardening writes an item if it was not changed since it was read.
func (x baselineStore) UpdateHardening(ctx context.Context, h *store.HardeningItem) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE hardening_items SET fix = ?, state = ?, decided_by = ?, decided_at = ?, reason = ?,
			applied_by = ?, applied_at = ?, verified_run_id = ?, updated_at = ?, version = version + 1
			WHERE tenant_id = ? AND id = ? AND version = ?`,
			h.Fix, h.State, h.DecidedBy, s.t(h.DecidedAt), h.Reason, h.AppliedBy, s.t(h.AppliedAt), h.VerifiedRunID, s.t(now),
			h.TenantID, h.ID, h.Version)
		if err := affected(res, err); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			var n int
			if err := c.queryRow(ctx, `SELECT COUNT(*) FROM hardening_items WHERE tenant_id = ? AND id = ?`, h.TenantID, h.ID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return store.ErrNotFound
			}
			return fmt.Errorf("%w: the hardening item was changed by someone else", store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return s.wrap("update hardening item", err)
	}
	h.UpdatedAt = now
	h.DecidedAt, h.AppliedAt = norm(h.DecidedAt), norm(h.AppliedAt)
	h.Version++
	return nil
}

const scheduleCols = `id, tenant_id, asset_id, policy, interval_s, secret_id, username, port, host_key, enabled, next_at, last_at,
	last_error, created_by, created_at`

func scanSchedule(r rowScanner) (store.BaselineSchedule, error) {
	var sc store.BaselineSchedule
	var secs int64
	err := r.Scan(&sc.ID, &sc.TenantID, &sc.AssetID, &sc.Policy, &secs, &sc.SecretID, &sc.Username, &sc.Port, &sc.HostKey,
		&sc.Enabled, timeDest{&sc.NextAt}, timeDest{&sc.LastAt}, &sc.LastError, &sc.CreatedBy, timeDest{&sc.CreatedAt})
	sc.Interval = time.Duration(secs) * time.Second
	return sc, err
}

// SaveSchedule creates or replaces a schedule.
func (x baselineStore) SaveSchedule(ctx context.Context, sc *store.BaselineSchedule) error {
	s := x.s
	now := s.stamp()
	secs := int64(sc.Interval / time.Second)
	err := s.inTx(ctx, func(c conn) error {
		// The asset and the credential must be the tenant's.
		var n int
		if err := c.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM assets WHERE tenant_id = ? AND id = ?)
			* (SELECT COUNT(*) FROM secrets WHERE tenant_id = ? AND id = ?)`, sc.TenantID, sc.AssetID, sc.TenantID, sc.SecretID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if sc.ID == "" {
			if err := ensureID(&sc.ID); err != nil {
				return err
			}
			_, err := c.exec(ctx, `INSERT INTO baseline_schedules (`+scheduleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				sc.ID, sc.TenantID, sc.AssetID, sc.Policy, secs, sc.SecretID, sc.Username, sc.Port, sc.HostKey, sc.Enabled,
				s.t(sc.NextAt), s.t(sc.LastAt), sc.LastError, sc.CreatedBy, s.t(now))
			if err == nil {
				sc.CreatedAt = now
			}
			return err
		}
		return affected(c.exec(ctx, `UPDATE baseline_schedules SET asset_id = ?, policy = ?, interval_s = ?, secret_id = ?, username = ?,
			port = ?, host_key = ?, enabled = ?, next_at = ? WHERE tenant_id = ? AND id = ?`,
			sc.AssetID, sc.Policy, secs, sc.SecretID, sc.Username, sc.Port, sc.HostKey, sc.Enabled, s.t(sc.NextAt), sc.TenantID, sc.ID))
	})
	if err != nil {
		return s.wrap("save baseline schedule", err)
	}
	sc.NextAt, sc.LastAt = norm(sc.NextAt), norm(sc.LastAt)
	return nil
}

// GetSchedule returns one schedule.
func (x baselineStore) GetSchedule(ctx context.Context, tenantID, id string) (store.BaselineSchedule, error) {
	sc, err := scanSchedule(x.s.conn().queryRow(ctx, `SELECT `+scheduleCols+` FROM baseline_schedules WHERE tenant_id = ? AND id = ?`,
		tenantID, id))
	return sc, x.s.wrap("get baseline schedule", err)
}

// ListSchedules returns the tenant's schedules by asset and policy.
func (x baselineStore) ListSchedules(ctx context.Context, tenantID string) ([]store.BaselineSchedule, error) {
	scs, err := collect(ctx, x.s.conn(), scanSchedule, `SELECT `+scheduleCols+` FROM baseline_schedules WHERE tenant_id = ?
		ORDER BY asset_id, policy LIMIT ?`, tenantID, store.MaxPageSize)
	return scs, x.s.wrap("list baseline schedules", err)
}

// DeleteSchedule removes a schedule.
func (x baselineStore) DeleteSchedule(ctx context.Context, tenantID, id string) error {
	err := affected(x.s.conn().exec(ctx, `DELETE FROM baseline_schedules WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return x.s.wrap("delete baseline schedule", err)
}

// DueSchedules returns enabled schedules whose time has come.
func (x baselineStore) DueSchedules(ctx context.Context, now time.Time, limit int) ([]store.BaselineSchedule, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("due baseline schedules: %w: limit must be positive", store.ErrInvalid)
	}
	scs, err := collect(ctx, x.s.conn(), scanSchedule, `SELECT `+scheduleCols+` FROM baseline_schedules
		WHERE enabled = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?`, true, x.s.t(now), min(limit, store.MaxPageSize))
	return scs, x.s.wrap("due baseline schedules", err)
}

// MarkScheduleRun records a run of a schedule.
func (x baselineStore) MarkScheduleRun(ctx context.Context, tenantID, id string, ranAt, next time.Time, runErr string) error {
	err := affected(x.s.conn().exec(ctx, `UPDATE baseline_schedules SET last_at = ?, next_at = ?, last_error = ? WHERE tenant_id = ? AND id = ?`,
		x.s.t(ranAt), x.s.t(next), runErr, tenantID, id))
	return x.s.wrap("mark baseline schedule run", err)
}
