package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// discoveryRuns implements store.DiscoveryRunStore, scoped by tenant.
type discoveryRuns struct{ s *Store }

const runCols = `id, tenant_id, targets, ports, status, error, created_by, created_at, finished_at, options`

func scanRun(r rowScanner, withResult bool) (store.DiscoveryRun, error) {
	var v store.DiscoveryRun
	dest := []any{&v.ID, &v.TenantID, &v.Targets, &v.Ports, &v.Status, &v.Error, &v.CreatedBy,
		timeDest{&v.CreatedAt}, timeDest{&v.FinishedAt}, &v.Options}
	if withResult {
		dest = append(dest, &v.Result)
	}
	return v, r.Scan(dest...)
}

// Create inserts a run, setting its ID (when empty) and CreatedAt.
func (x discoveryRuns) Create(ctx context.Context, r *store.DiscoveryRun) error {
	s := x.s
	if err := ensureID(&r.ID); err != nil {
		return err
	}
	now := s.stamp()
	r.CreatedAt, r.FinishedAt = now, norm(r.FinishedAt)
	_, err := s.conn().exec(ctx, `INSERT INTO discovery_runs (`+runCols+`, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TenantID, r.Targets, r.Ports, r.Status, r.Error, r.CreatedBy, s.t(now), s.t(r.FinishedAt), r.Options, nonNil(r.Result))
	return s.wrap("create discovery run", err)
}

// Get returns one run with its result.
func (x discoveryRuns) Get(ctx context.Context, tenantID, id string) (store.DiscoveryRun, error) {
	v, err := scanRun(x.s.conn().queryRow(ctx, `SELECT `+runCols+`, result FROM discovery_runs WHERE tenant_id = ? AND id = ?`,
		tenantID, id), true)
	return v, x.s.wrap("get discovery run", err)
}

// List returns a page of a tenant's runs, newest first, without results.
func (x discoveryRuns) List(ctx context.Context, tenantID string, p store.Page) ([]store.DiscoveryRun, error) {
	limit, offset := PageBounds(p)
	vs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.DiscoveryRun, error) { return scanRun(r, false) },
		`SELECT `+runCols+` FROM discovery_runs WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		tenantID, limit, offset)
	return vs, x.s.wrap("list discovery runs", err)
}

// Start moves a pending run to running.
func (x discoveryRuns) Start(ctx context.Context, tenantID, id string) error {
	s := x.s
	res, err := s.conn().exec(ctx, `UPDATE discovery_runs SET status = 'running' WHERE tenant_id = ? AND id = ? AND status = 'pending'`,
		tenantID, id)
	if err != nil {
		return s.wrap("start discovery run", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if _, gerr := x.Get(ctx, tenantID, id); gerr != nil {
			return gerr
		}
		return s.wrap("start discovery run", store.ErrConflict)
	}
	return nil
}

// Finish records a run's outcome.
func (x discoveryRuns) Finish(ctx context.Context, tenantID, id, status, errText string, result []byte, at time.Time) error {
	s := x.s
	err := affected(s.conn().exec(ctx, `UPDATE discovery_runs SET status = ?, error = ?, result = ?, finished_at = ?
		WHERE tenant_id = ? AND id = ?`, status, errText, nonNil(result), s.t(norm(at)), tenantID, id))
	return s.wrap("finish discovery run", err)
}
