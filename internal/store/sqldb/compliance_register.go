package sqldb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/store"
)

// The risk register, remediation items, communication logs and project
// assets of store.ComplianceRegisterStore, on complianceStore.

const riskCols = `id, tenant_id, name, method, doc, created_by, created_at, updated_at, version`

func scanRisk(r rowScanner) (store.RiskAssessment, error) {
	var x store.RiskAssessment
	var doc string
	err := r.Scan(&x.ID, &x.TenantID, &x.Name, &x.Method, &doc, &x.CreatedBy, timeDest{&x.CreatedAt}, timeDest{&x.UpdatedAt}, &x.Version)
	if doc != "" {
		x.Doc = []byte(doc)
	}
	return x, err
}

// CreateRiskAssessment stores a new risk assessment.
func (x complianceStore) CreateRiskAssessment(ctx context.Context, r *store.RiskAssessment) error {
	s := x.s
	if err := ensureID(&r.ID); err != nil {
		return err
	}
	now := s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO risk_assessments (`+riskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		r.ID, r.TenantID, r.Name, r.Method, string(r.Doc), r.CreatedBy, s.t(now), s.t(now))
	if err != nil {
		return s.wrap("create risk assessment", err)
	}
	r.CreatedAt, r.UpdatedAt, r.Version = now, now, 1
	return nil
}

// GetRiskAssessment returns one risk assessment.
func (x complianceStore) GetRiskAssessment(ctx context.Context, tenantID, id string) (store.RiskAssessment, error) {
	r, err := scanRisk(x.s.conn().queryRow(ctx, `SELECT `+riskCols+` FROM risk_assessments WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return r, x.s.wrap("get risk assessment", err)
}

// ListRiskAssessments returns a page of risk assessments without their doc.
func (x complianceStore) ListRiskAssessments(ctx context.Context, tenantID string, pg store.Page) ([]store.RiskAssessment, error) {
	limit, offset := PageBounds(pg)
	rs, err := collect(ctx, x.s.conn(), scanRisk, `SELECT id, tenant_id, name, method, '', created_by, created_at, updated_at, version
		FROM risk_assessments WHERE tenant_id = ? ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return rs, x.s.wrap("list risk assessments", err)
}

// UpdateRiskAssessment writes a risk assessment if it was not changed
// since it was read.
func (x complianceStore) UpdateRiskAssessment(ctx context.Context, r *store.RiskAssessment) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE risk_assessments SET name = ?, method = ?, doc = ?, updated_at = ?, version = version + 1
			WHERE tenant_id = ? AND id = ? AND version = ?`, r.Name, r.Method, string(r.Doc), s.t(now), r.TenantID, r.ID, r.Version)
		return staleOr(ctx, c, affected(res, err), `SELECT COUNT(*) FROM risk_assessments WHERE tenant_id = ? AND id = ?`,
			r.TenantID, r.ID, "the risk assessment was changed by someone else")
	})
	if err != nil {
		return s.wrap("update risk assessment", err)
	}
	r.UpdatedAt = now
	r.Version++
	return nil
}

// staleOr turns a zero-row optimistic update into ErrConflict when the row
// exists (count query) and leaves ErrNotFound when it does not.
func staleOr(ctx context.Context, c conn, err error, count, tenantID, id, msg string) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var n int
	if err := c.queryRow(ctx, count, tenantID, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return fmt.Errorf("%w: %s", store.ErrConflict, msg)
}

const remediationCols = `id, tenant_id, source_kind, source_id, source_ref, title, detail, level, state, owner, due, work_order_id,
	created_by, created_at, updated_at, version`

func scanRemediation(r rowScanner) (store.RemediationItem, error) {
	var it store.RemediationItem
	err := r.Scan(&it.ID, &it.TenantID, &it.SourceKind, &it.SourceID, &it.SourceRef, &it.Title, &it.Detail, &it.Level, &it.State,
		&it.Owner, timeDest{&it.Due}, &it.WorkOrderID, &it.CreatedBy, timeDest{&it.CreatedAt}, timeDest{&it.UpdatedAt}, &it.Version)
	return it, err
}

// CreateRemediation stores a new remediation item.
func (x complianceStore) CreateRemediation(ctx context.Context, it *store.RemediationItem) error {
	s := x.s
	if err := ensureID(&it.ID); err != nil {
		return err
	}
	now := s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO remediation_items (`+remediationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		it.ID, it.TenantID, it.SourceKind, it.SourceID, it.SourceRef, it.Title, it.Detail, it.Level, it.State, it.Owner, s.t(it.Due),
		it.WorkOrderID, it.CreatedBy, s.t(now), s.t(now))
	if err != nil {
		return s.wrap("create remediation item", err)
	}
	it.Due = norm(it.Due)
	it.CreatedAt, it.UpdatedAt, it.Version = now, now, 1
	return nil
}

// GetRemediation returns one remediation item.
func (x complianceStore) GetRemediation(ctx context.Context, tenantID, id string) (store.RemediationItem, error) {
	it, err := scanRemediation(x.s.conn().queryRow(ctx, `SELECT `+remediationCols+` FROM remediation_items WHERE tenant_id = ? AND id = ?`,
		tenantID, id))
	return it, x.s.wrap("get remediation item", err)
}

// ListRemediation returns a page of remediation items.
func (x complianceStore) ListRemediation(ctx context.Context, tenantID string, f store.RemediationFilter) ([]store.RemediationItem, error) {
	limit, offset := PageBounds(f.Page)
	where, args := []string{"tenant_id = ?"}, []any{tenantID}
	for _, c := range []struct{ col, v string }{{"source_kind", f.SourceKind}, {"source_id", f.SourceID}, {"state", f.State}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	args = append(args, limit, offset)
	its, err := collect(ctx, x.s.conn(), scanRemediation, `SELECT `+remediationCols+` FROM remediation_items WHERE `+
		strings.Join(where, " AND ")+` ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, args...)
	return its, x.s.wrap("list remediation items", err)
}

// UpdateRemediation writes a remediation item if it was not changed since
// it was read.
func (x complianceStore) UpdateRemediation(ctx context.Context, it *store.RemediationItem) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE remediation_items SET title = ?, detail = ?, state = ?, owner = ?, due = ?, work_order_id = ?,
			updated_at = ?, version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?`,
			it.Title, it.Detail, it.State, it.Owner, s.t(it.Due), it.WorkOrderID, s.t(now), it.TenantID, it.ID, it.Version)
		return staleOr(ctx, c, affected(res, err), `SELECT COUNT(*) FROM remediation_items WHERE tenant_id = ? AND id = ?`,
			it.TenantID, it.ID, "the remediation item was changed by someone else")
	})
	if err != nil {
		return s.wrap("update remediation item", err)
	}
	it.Due = norm(it.Due)
	it.UpdatedAt = now
	it.Version++
	return nil
}

// AddVerification stores a re-verification of a remediation item.
func (x complianceStore) AddVerification(ctx context.Context, v *store.RemediationVerification) error {
	s := x.s
	if err := ensureID(&v.ID); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM remediation_items WHERE tenant_id = ? AND id = ?`, v.TenantID, v.ItemID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		_, err := c.exec(ctx, `INSERT INTO remediation_verifications (id, tenant_id, item_id, before_value, after_value, passed, note,
			verified_by, verified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.ID, v.TenantID, v.ItemID, v.Before, v.After, v.Passed, v.Note, v.VerifiedBy, s.t(now))
		return err
	})
	if err != nil {
		return s.wrap("add remediation verification", err)
	}
	v.VerifiedAt = now
	return nil
}

// Verifications returns re-verifications oldest first.
func (x complianceStore) Verifications(ctx context.Context, tenantID string, f store.VerificationFilter) ([]store.RemediationVerification, error) {
	if f.Limit <= 0 {
		return nil, fmt.Errorf("remediation verifications: %w: limit must be positive", store.ErrInvalid)
	}
	s := x.s
	where, args := []string{"tenant_id = ?"}, []any{tenantID}
	if f.ItemID != "" {
		where = append(where, "item_id = ?")
		args = append(args, f.ItemID)
	}
	if !f.From.IsZero() {
		where = append(where, "verified_at >= ?")
		args = append(args, s.t(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "verified_at < ?")
		args = append(args, s.t(f.To))
	}
	args = append(args, f.Limit)
	vs, err := collect(ctx, s.conn(), func(r rowScanner) (store.RemediationVerification, error) {
		var v store.RemediationVerification
		return v, r.Scan(&v.ID, &v.TenantID, &v.ItemID, &v.Before, &v.After, &v.Passed, &v.Note, &v.VerifiedBy, timeDest{&v.VerifiedAt})
	}, `SELECT id, tenant_id, item_id, before_value, after_value, passed, note, verified_by, verified_at FROM remediation_verifications
		WHERE `+strings.Join(where, " AND ")+` ORDER BY verified_at, id LIMIT ?`, args...)
	return vs, s.wrap("list remediation verifications", err)
}

// AddCommunication appends to a project's communication log.
func (x complianceStore) AddCommunication(ctx context.Context, cm *store.ProjectCommunication) error {
	s := x.s
	if err := ensureID(&cm.ID); err != nil {
		return err
	}
	now := s.stamp()
	if cm.OccurredAt.IsZero() {
		cm.OccurredAt = now
	}
	err := s.inTx(ctx, func(c conn) error {
		if err := projectExists(ctx, c, cm.TenantID, cm.ProjectID); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO assessment_communications (id, tenant_id, project_id, kind, occurred_at, participants, body,
			created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			cm.ID, cm.TenantID, cm.ProjectID, cm.Kind, s.t(cm.OccurredAt), cm.Participants, cm.Text, cm.CreatedBy, s.t(now))
		return err
	})
	if err != nil {
		return s.wrap("add project communication", err)
	}
	cm.OccurredAt, cm.CreatedAt = norm(cm.OccurredAt), now
	return nil
}

// Communications returns a project's communication log, oldest first.
func (x complianceStore) Communications(ctx context.Context, tenantID, projectID string, limit int) ([]store.ProjectCommunication, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("project communications: %w: limit must be positive", store.ErrInvalid)
	}
	cs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.ProjectCommunication, error) {
		var c store.ProjectCommunication
		return c, r.Scan(&c.ID, &c.TenantID, &c.ProjectID, &c.Kind, timeDest{&c.OccurredAt}, &c.Participants, &c.Text, &c.CreatedBy,
			timeDest{&c.CreatedAt})
	}, `SELECT id, tenant_id, project_id, kind, occurred_at, participants, body, created_by, created_at FROM assessment_communications
		WHERE tenant_id = ? AND project_id = ? ORDER BY occurred_at, created_at, id LIMIT ?`, tenantID, projectID, limit)
	return cs, x.s.wrap("list project communications", err)
}

// SetProjectAssets replaces the assets a project covers.
func (x complianceStore) SetProjectAssets(ctx context.Context, tenantID, projectID string, assetIDs []string) error {
	s := x.s
	ids := slices.Clone(assetIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	err := s.inTx(ctx, func(c conn) error {
		if err := projectExists(ctx, c, tenantID, projectID); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM assessment_project_assets WHERE tenant_id = ? AND project_id = ?`, tenantID, projectID); err != nil {
			return err
		}
		for _, id := range ids {
			var n int
			if err := c.queryRow(ctx, `SELECT COUNT(*) FROM assets WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("asset %s: %w", id, store.ErrNotFound)
			}
			if _, err := c.exec(ctx, `INSERT INTO assessment_project_assets (tenant_id, project_id, asset_id) VALUES (?, ?, ?)`,
				tenantID, projectID, id); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("set project assets", err)
}

// ProjectAssets returns the IDs of the assets a project covers.
func (x complianceStore) ProjectAssets(ctx context.Context, tenantID, projectID string) ([]string, error) {
	ids, err := collect(ctx, x.s.conn(), func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT asset_id FROM assessment_project_assets WHERE tenant_id = ? AND project_id = ? ORDER BY asset_id`, tenantID, projectID)
	return ids, x.s.wrap("list project assets", err)
}

// EvidenceCounts counts the files attached to each item of a project.
func (x complianceStore) EvidenceCounts(ctx context.Context, tenantID, projectID string) (map[string]int, error) {
	prefix := projectID + "/"
	type row struct {
		owner string
		n     int
	}
	rows, err := collect(ctx, x.s.conn(), func(r rowScanner) (row, error) {
		var x row
		return x, r.Scan(&x.owner, &x.n)
	}, `SELECT owner_id, COUNT(*) FROM attachments WHERE tenant_id = ? AND owner_kind = ? AND substr(owner_id, 1, ?) = ?
		GROUP BY owner_id`, tenantID, store.RemediationFromAssessment, len(prefix), prefix)
	if err != nil {
		return nil, x.s.wrap("count evidence files", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[strings.TrimPrefix(r.owner, prefix)] = r.n
	}
	return out, nil
}
