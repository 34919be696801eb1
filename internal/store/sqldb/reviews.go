package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// policyReviews implements store.PolicyReviewStore; every query is scoped
// by tenant.
type policyReviews struct{ s *Store }

const reviewListCols = `id, tenant_id, asset_id, name, format, family, config_sha256, findings, rules,
	accepted_by, accepted_at, created_by, created_at`

func scanReview(r rowScanner, withBlobs bool) (store.PolicyReview, error) {
	var v store.PolicyReview
	dest := []any{&v.ID, &v.TenantID, &v.AssetID, &v.Name, &v.Format, &v.Family, &v.ConfigSHA256,
		&v.Findings, &v.Rules, &v.AcceptedBy, timeDest{&v.AcceptedAt}, &v.CreatedBy, timeDest{&v.CreatedAt}}
	if withBlobs {
		dest = append(dest, &v.Config, &v.Result)
	}
	err := r.Scan(dest...)
	v.Accepted = !v.AcceptedAt.IsZero()
	return v, err
}

// Create inserts r, setting its ID (when empty) and CreatedAt. An unknown
// tenant gives store.ErrNotFound.
func (x policyReviews) Create(ctx context.Context, r *store.PolicyReview) error {
	s := x.s
	if err := ensureID(&r.ID); err != nil {
		return err
	}
	now := s.stamp()
	r.CreatedAt, r.AcceptedAt, r.AcceptedBy, r.Accepted = now, time.Time{}, "", false
	_, err := s.conn().exec(ctx, `INSERT INTO policy_reviews (`+reviewListCols+`, config, result)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TenantID, r.AssetID, r.Name, r.Format, r.Family, r.ConfigSHA256, r.Findings, r.Rules,
		"", s.t(time.Time{}), r.CreatedBy, s.t(now), nonNil(r.Config), nonNil(r.Result))
	return s.wrap("create policy review", err)
}

// Get returns one review of a tenant with its configuration and result.
func (x policyReviews) Get(ctx context.Context, tenantID, id string) (store.PolicyReview, error) {
	v, err := scanReview(x.s.conn().queryRow(ctx,
		`SELECT `+reviewListCols+`, config, result FROM policy_reviews WHERE tenant_id = ? AND id = ?`, tenantID, id), true)
	return v, x.s.wrap("get policy review", err)
}

func reviewWhere(tenantID string, f store.PolicyReviewFilter) *where {
	w := &where{}
	w.add("tenant_id = ?", tenantID)
	if f.AssetID != "" {
		w.add("asset_id = ?", f.AssetID)
	}
	return w
}

// List returns one page of a tenant's reviews, newest first, without
// configuration or result.
func (x policyReviews) List(ctx context.Context, tenantID string, f store.PolicyReviewFilter) ([]store.PolicyReview, error) {
	w := reviewWhere(tenantID, f)
	limit, offset := PageBounds(f.Page)
	vs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.PolicyReview, error) { return scanReview(r, false) },
		`SELECT `+reviewListCols+` FROM policy_reviews`+w.String()+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(w.args, limit, offset)...)
	return vs, x.s.wrap("list policy reviews", err)
}

// Count returns how many of a tenant's reviews match f (ignoring f.Page).
func (x policyReviews) Count(ctx context.Context, tenantID string, f store.PolicyReviewFilter) (int, error) {
	w := reviewWhere(tenantID, f)
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM policy_reviews`+w.String(), w.args...).Scan(&n)
	return n, x.s.wrap("count policy reviews", err)
}

// Accept records who accepted the review's proposal and when.
func (x policyReviews) Accept(ctx context.Context, tenantID, id, userID string, at time.Time) error {
	s := x.s
	err := affected(s.conn().exec(ctx, `UPDATE policy_reviews SET accepted_by = ?, accepted_at = ? WHERE tenant_id = ? AND id = ?`,
		userID, s.t(norm(at)), tenantID, id))
	return s.wrap("accept policy review", err)
}

// Delete removes one review of a tenant.
func (x policyReviews) Delete(ctx context.Context, tenantID, id string) error {
	err := affected(x.s.conn().exec(ctx, `DELETE FROM policy_reviews WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return x.s.wrap("delete policy review", err)
}

// reports implements store.ReportStore; every query is scoped by tenant.
type reports struct{ s *Store }

const reportListCols = `id, tenant_id, service, kind, source_id, title, format, lang, sha256, size, created_by, created_at`

func scanReport(r rowScanner, withContent bool) (store.Report, error) {
	var v store.Report
	dest := []any{&v.ID, &v.TenantID, &v.Service, &v.Kind, &v.SourceID, &v.Title, &v.Format, &v.Lang,
		&v.SHA256, &v.Size, &v.CreatedBy, timeDest{&v.CreatedAt}}
	if withContent {
		dest = append(dest, &v.Content)
	}
	return v, r.Scan(dest...)
}

// Create archives r, setting its ID (when empty), Size and CreatedAt. The
// caller computes SHA256 over Content.
func (x reports) Create(ctx context.Context, r *store.Report) error {
	s := x.s
	if err := ensureID(&r.ID); err != nil {
		return err
	}
	now := s.stamp()
	r.CreatedAt, r.Size = now, int64(len(r.Content))
	_, err := s.conn().exec(ctx, `INSERT INTO reports (`+reportListCols+`, content)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TenantID, r.Service, r.Kind, r.SourceID, r.Title, r.Format, r.Lang, r.SHA256, r.Size,
		r.CreatedBy, s.t(now), nonNil(r.Content))
	return s.wrap("create report", err)
}

// Get returns one archived report of a tenant with its content.
func (x reports) Get(ctx context.Context, tenantID, id string) (store.Report, error) {
	v, err := scanReport(x.s.conn().queryRow(ctx,
		`SELECT `+reportListCols+`, content FROM reports WHERE tenant_id = ? AND id = ?`, tenantID, id), true)
	return v, x.s.wrap("get report", err)
}

// List returns one page of a tenant's reports, newest first, without content.
func (x reports) List(ctx context.Context, tenantID string, f store.ReportFilter) ([]store.Report, error) {
	w := &where{}
	w.add("tenant_id = ?", tenantID)
	if f.Service != "" {
		w.add("service = ?", f.Service)
	}
	if f.SourceID != "" {
		w.add("source_id = ?", f.SourceID)
	}
	limit, offset := PageBounds(f.Page)
	vs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.Report, error) { return scanReport(r, false) },
		`SELECT `+reportListCols+` FROM reports`+w.String()+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(w.args, limit, offset)...)
	return vs, x.s.wrap("list reports", err)
}

// Delete removes one archived report of a tenant.
func (x reports) Delete(ctx context.Context, tenantID, id string) error {
	err := affected(x.s.conn().exec(ctx, `DELETE FROM reports WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return x.s.wrap("delete report", err)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
