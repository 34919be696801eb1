package sqldb

import (
	"context"
	"errors"

	"github.com/vigil-sec/vigil/internal/store"
)

// Drills over several tenants (migration 00033) and the deletion of
// attack records.

// maxDrillParticipants bounds the participants read with a drill; the
// engine refuses more.
const maxDrillParticipants = 1_000

func (x drills) participants(ctx context.Context, c conn, tenantID, id string) ([]store.DrillParticipant, error) {
	ps, err := collect(ctx, c, func(r rowScanner) (store.DrillParticipant, error) {
		var p store.DrillParticipant
		var scope string
		err := r.Scan(&p.TenantID, &scope)
		p.Scope = []byte(scope)
		return p, err
	}, `SELECT tenant_id, scope FROM drill_participants WHERE drill_tenant_id = ? AND drill_id = ? ORDER BY position LIMIT ?`,
		tenantID, id, maxDrillParticipants)
	if len(ps) == 0 {
		return nil, err
	}
	return ps, err
}

// setParticipants replaces the participants of d.
func (x drills) setParticipants(ctx context.Context, c conn, d *store.Drill) error {
	if _, err := c.exec(ctx, `DELETE FROM drill_participants WHERE drill_tenant_id = ? AND drill_id = ?`, d.TenantID, d.ID); err != nil {
		return err
	}
	for i, p := range d.Participants {
		if _, err := c.exec(ctx, `INSERT INTO drill_participants (drill_tenant_id, drill_id, tenant_id, position, scope) VALUES (?, ?, ?, ?, ?)`,
			d.TenantID, d.ID, p.TenantID, i, orJSON(p.Scope, "{}")); err != nil {
			return err
		}
	}
	return nil
}

// Owner returns the tenant running a drill the tenant runs or takes part
// in.
func (x drills) Owner(ctx context.Context, tenantID, id string) (string, error) {
	var owner string
	err := x.s.conn().queryRow(ctx, `SELECT tenant_id FROM drills WHERE id = ? AND (tenant_id = ?
		OR EXISTS (SELECT 1 FROM drill_participants p WHERE p.drill_id = drills.id AND p.drill_tenant_id = drills.tenant_id AND p.tenant_id = ?))`,
		id, tenantID, tenantID).Scan(&owner)
	return owner, x.s.wrap("drill owner", err)
}

// DeleteRecord removes an attack record and its observations.
func (x drills) DeleteRecord(ctx context.Context, tenantID, drillID string, version int, recordID string) (int, error) {
	return x.add(ctx, "delete drill record", tenantID, drillID, version, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM drill_observations WHERE tenant_id = ? AND drill_id = ? AND record_id = ?`,
			tenantID, drillID, recordID); err != nil {
			return err
		}
		err := affected(c.exec(ctx, `DELETE FROM drill_records WHERE tenant_id = ? AND drill_id = ? AND id = ?`, tenantID, drillID, recordID))
		if errors.Is(err, store.ErrNotFound) {
			return store.ErrNotFound
		}
		return err
	})
}
