package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/store"
)

// complianceStore implements store.ComplianceStore; every query is scoped
// by tenant.
type complianceStore struct{ s *Store }

const projectCols = `id, tenant_id, name, system, level, framework, agency, phase, created_by, created_at, updated_at, version`

func scanProject(r rowScanner) (store.AssessmentProject, error) {
	var p store.AssessmentProject
	err := r.Scan(&p.ID, &p.TenantID, &p.Name, &p.System, &p.Level, &p.Framework, &p.Agency, &p.Phase, &p.CreatedBy,
		timeDest{&p.CreatedAt}, timeDest{&p.UpdatedAt}, &p.Version)
	return p, err
}

// CreateProject stores a new project.
func (x complianceStore) CreateProject(ctx context.Context, p *store.AssessmentProject) error {
	s := x.s
	if err := ensureID(&p.ID); err != nil {
		return err
	}
	now := s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO assessment_projects (`+projectCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		p.ID, p.TenantID, p.Name, p.System, p.Level, p.Framework, p.Agency, p.Phase, p.CreatedBy, s.t(now), s.t(now))
	if err != nil {
		return s.wrap("create assessment project", err)
	}
	p.CreatedAt, p.UpdatedAt, p.Version = now, now, 1
	return nil
}

// GetProject returns one project.
func (x complianceStore) GetProject(ctx context.Context, tenantID, id string) (store.AssessmentProject, error) {
	p, err := scanProject(x.s.conn().queryRow(ctx, `SELECT `+projectCols+` FROM assessment_projects WHERE tenant_id = ? AND id = ?`,
		tenantID, id))
	return p, x.s.wrap("get assessment project", err)
}

// ListProjects returns a page of projects, most recently updated first.
func (x complianceStore) ListProjects(ctx context.Context, tenantID string, pg store.Page) ([]store.AssessmentProject, error) {
	limit, offset := PageBounds(pg)
	ps, err := collect(ctx, x.s.conn(), scanProject, `SELECT `+projectCols+` FROM assessment_projects WHERE tenant_id = ?
		ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return ps, x.s.wrap("list assessment projects", err)
}

// UpdateProject writes a project if it was not changed since it was read.
func (x complianceStore) UpdateProject(ctx context.Context, p *store.AssessmentProject) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE assessment_projects SET name = ?, system = ?, agency = ?, phase = ?, updated_at = ?,
			version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?`,
			p.Name, p.System, p.Agency, p.Phase, s.t(now), p.TenantID, p.ID, p.Version)
		if err := affected(res, err); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := projectExists(ctx, c, p.TenantID, p.ID); err != nil {
				return err
			}
			return fmt.Errorf("%w: the project was changed by someone else", store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return s.wrap("update assessment project", err)
	}
	p.UpdatedAt = now
	p.Version++
	return nil
}

// projectExists checks a project is the tenant's.
func projectExists(ctx context.Context, c conn, tenantID, id string) error {
	var n int
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM assessment_projects WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// PutItems inserts or replaces item results, all or none.
func (x complianceStore) PutItems(ctx context.Context, tenantID, projectID string, items []store.AssessmentItem) error {
	s := x.s
	now := s.stamp()
	links := make([]string, len(items))
	for i := range items {
		l, err := tagsArg(items[i].Links)
		if err != nil {
			return err
		}
		links[i] = l
	}
	err := s.inTx(ctx, func(c conn) error {
		if err := projectExists(ctx, c, tenantID, projectID); err != nil {
			return err
		}
		for i := range items {
			it := &items[i]
			if _, err := c.exec(ctx, `INSERT INTO assessment_items (tenant_id, project_id, item, object, result, high_risk, resolved,
				compensation, adjustment, evidence, links, note, remediation, assessor, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (project_id, item, object) DO UPDATE SET result = excluded.result, high_risk = excluded.high_risk,
				resolved = excluded.resolved, compensation = excluded.compensation, adjustment = excluded.adjustment, evidence = excluded.evidence, links = excluded.links, note = excluded.note,
				remediation = excluded.remediation, assessor = excluded.assessor, updated_at = excluded.updated_at`,
				tenantID, projectID, it.Item, it.Object, it.Result, it.HighRisk, it.Resolved, it.Compensation, it.Adjustment, it.Evidence, links[i], it.Note,
				it.Remediation, it.Assessor, s.t(now)); err != nil {
				return err
			}
		}
		_, err := c.exec(ctx, `UPDATE assessment_projects SET updated_at = ? WHERE tenant_id = ? AND id = ?`, s.t(now), tenantID, projectID)
		return err
	})
	if err != nil {
		return s.wrap("put assessment items", err)
	}
	for i := range items {
		items[i].TenantID, items[i].ProjectID, items[i].UpdatedAt = tenantID, projectID, now
	}
	return nil
}

// Items returns a project's item results by item id and object.
func (x complianceStore) Items(ctx context.Context, tenantID, projectID string, limit int) ([]store.AssessmentItem, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("assessment items: %w: limit must be positive", store.ErrInvalid)
	}
	its, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.AssessmentItem, error) {
		var it store.AssessmentItem
		return it, r.Scan(&it.TenantID, &it.ProjectID, &it.Item, &it.Object, &it.Result, &it.HighRisk, &it.Resolved, &it.Compensation, &it.Adjustment, &it.Evidence,
			jsonDest{&it.Links}, &it.Note, &it.Remediation, &it.Assessor, timeDest{&it.UpdatedAt})
	}, `SELECT tenant_id, project_id, item, object, result, high_risk, resolved, compensation, adjustment, evidence, links, note, remediation, assessor, updated_at
		FROM assessment_items WHERE tenant_id = ? AND project_id = ? ORDER BY item, object LIMIT ?`, tenantID, projectID, limit)
	return its, x.s.wrap("list assessment items", err)
}

// CountItems counts a project's item results.
func (x complianceStore) CountItems(ctx context.Context, tenantID, projectID string) (int, error) {
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM assessment_items WHERE tenant_id = ? AND project_id = ?`, tenantID, projectID).Scan(&n)
	return n, x.s.wrap("count assessment items", err)
}

// DeleteItem removes one item result.
func (x complianceStore) DeleteItem(ctx context.Context, tenantID, projectID, item, object string) error {
	s := x.s
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `DELETE FROM assessment_items WHERE tenant_id = ? AND project_id = ? AND item = ? AND object = ?`,
			tenantID, projectID, item, object)
		if err := affected(res, err); err != nil {
			return err
		}
		_, err = c.exec(ctx, `UPDATE assessment_projects SET updated_at = ? WHERE tenant_id = ? AND id = ?`, s.t(now), tenantID, projectID)
		return err
	})
	return s.wrap("delete assessment item", err)
}
