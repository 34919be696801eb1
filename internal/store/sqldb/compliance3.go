package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// Compliance inspections, on complianceStore.

const inspectionCols = `id, tenant_id, name, campaign, framework, state, doc, created_by, created_at, updated_at, version`

func scanInspection(r rowScanner) (store.Inspection, error) {
	var x store.Inspection
	var doc string
	err := r.Scan(&x.ID, &x.TenantID, &x.Name, &x.Campaign, &x.Framework, &x.State, &doc, &x.CreatedBy,
		timeDest{&x.CreatedAt}, timeDest{&x.UpdatedAt}, &x.Version)
	if doc != "" {
		x.Doc = []byte(doc)
	}
	return x, err
}

// CreateInspection stores a new inspection.
func (x complianceStore) CreateInspection(ctx context.Context, in *store.Inspection) error {
	s := x.s
	if err := ensureID(&in.ID); err != nil {
		return err
	}
	now := s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO compliance_inspections (`+inspectionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		in.ID, in.TenantID, in.Name, in.Campaign, in.Framework, in.State, string(in.Doc), in.CreatedBy, s.t(now), s.t(now))
	if err != nil {
		return s.wrap("create inspection", err)
	}
	in.CreatedAt, in.UpdatedAt, in.Version = now, now, 1
	return nil
}

// GetInspection returns one inspection.
func (x complianceStore) GetInspection(ctx context.Context, tenantID, id string) (store.Inspection, error) {
	in, err := scanInspection(x.s.conn().queryRow(ctx, `SELECT `+inspectionCols+` FROM compliance_inspections WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return in, x.s.wrap("get inspection", err)
}

// ListInspections returns a page of inspections without their doc.
func (x complianceStore) ListInspections(ctx context.Context, tenantID string, pg store.Page) ([]store.Inspection, error) {
	limit, offset := PageBounds(pg)
	rs, err := collect(ctx, x.s.conn(), scanInspection, `SELECT id, tenant_id, name, campaign, framework, state, '', created_by, created_at, updated_at, version
		FROM compliance_inspections WHERE tenant_id = ? ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return rs, x.s.wrap("list inspections", err)
}

// UpdateInspection writes an inspection if it was not changed since it was
// read.
func (x complianceStore) UpdateInspection(ctx context.Context, in *store.Inspection) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE compliance_inspections SET name = ?, state = ?, doc = ?, updated_at = ?, version = version + 1
			WHERE tenant_id = ? AND id = ? AND version = ?`, in.Name, in.State, string(in.Doc), s.t(now), in.TenantID, in.ID, in.Version)
		return staleOr(ctx, c, affected(res, err), `SELECT COUNT(*) FROM compliance_inspections WHERE tenant_id = ? AND id = ?`,
			in.TenantID, in.ID, "the inspection was changed by someone else")
	})
	if err != nil {
		return s.wrap("update inspection", err)
	}
	in.UpdatedAt = now
	in.Version++
	return nil
}
