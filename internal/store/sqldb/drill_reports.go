package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// Defender reports of a drill and the links from its gaps to remediation
// work orders (migration 00028).

func (x drills) reports(ctx context.Context, c conn, tenantID, id string) ([]store.DrillReport, error) {
	return collect(ctx, c, func(r rowScanner) (store.DrillReport, error) {
		var v store.DrillReport
		var body string
		err := r.Scan(&v.ID, timeDest{&v.At}, &v.Team, &v.Kind, &v.By, &v.Accepted, &body)
		v.Body = []byte(body)
		return v, err
	}, `SELECT id, at, team, kind, by_user, accepted, body FROM drill_reports WHERE tenant_id = ? AND drill_id = ? ORDER BY at, id LIMIT ?`,
		tenantID, id, maxDrillLog)
}

func (x drills) remediations(ctx context.Context, c conn, tenantID, id string) ([]store.DrillRemediation, error) {
	return collect(ctx, c, func(r rowScanner) (store.DrillRemediation, error) {
		var v store.DrillRemediation
		return v, r.Scan(&v.CaseID, &v.WorkOrderID, &v.CreatedBy, timeDest{&v.CreatedAt})
	}, `SELECT case_id, work_order_id, created_by, created_at FROM drill_remediations WHERE tenant_id = ? AND drill_id = ? ORDER BY case_id LIMIT ?`,
		tenantID, id, maxDrillLog)
}

// AddReport appends a defender report.
func (x drills) AddReport(ctx context.Context, tenantID, drillID string, version int, r *store.DrillReport) (int, error) {
	s := x.s
	return x.add(ctx, "add drill report", tenantID, drillID, version, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO drill_reports (tenant_id, drill_id, id, at, team, kind, by_user, accepted, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tenantID, drillID, r.ID, s.t(r.At), r.Team, r.Kind, r.By, r.Accepted, orJSON(r.Body, "{}"))
		r.At = norm(r.At)
		return err
	})
}

// UpdateReport writes a report's decision and body.
func (x drills) UpdateReport(ctx context.Context, tenantID, drillID string, version int, r *store.DrillReport) (int, error) {
	return x.add(ctx, "update drill report", tenantID, drillID, version, func(c conn) error {
		return affected(c.exec(ctx, `UPDATE drill_reports SET accepted = ?, body = ? WHERE tenant_id = ? AND drill_id = ? AND id = ?`,
			r.Accepted, orJSON(r.Body, "{}"), tenantID, drillID, r.ID))
	})
}

// AddRemediation links a gap's case to a work order, once per case.
func (x drills) AddRemediation(ctx context.Context, tenantID, drillID string, r *store.DrillRemediation) error {
	s := x.s
	if _, err := x.Get(ctx, tenantID, drillID); err != nil {
		return err
	}
	now := s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO drill_remediations (tenant_id, drill_id, case_id, work_order_id, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, tenantID, drillID, r.CaseID, r.WorkOrderID, r.CreatedBy, s.t(now))
	if err != nil {
		return s.wrap("add drill remediation", err)
	}
	r.CreatedAt = now
	return nil
}

// SetRemediationOrder names the work order of a linked case.
func (x drills) SetRemediationOrder(ctx context.Context, tenantID, drillID, caseID, workOrderID string) error {
	s := x.s
	return s.wrap("set drill remediation order", affected(s.conn().exec(ctx,
		`UPDATE drill_remediations SET work_order_id = ? WHERE tenant_id = ? AND drill_id = ? AND case_id = ?`,
		workOrderID, tenantID, drillID, caseID)))
}

// DeleteRemediation removes a case's link.
func (x drills) DeleteRemediation(ctx context.Context, tenantID, drillID, caseID string) error {
	s := x.s
	return s.wrap("delete drill remediation", affected(s.conn().exec(ctx,
		`DELETE FROM drill_remediations WHERE tenant_id = ? AND drill_id = ? AND case_id = ?`, tenantID, drillID, caseID)))
}
