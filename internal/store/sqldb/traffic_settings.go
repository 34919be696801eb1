package sqldb

import (
	"context"
	"errors"

	"github.com/vigil-sec/vigil/internal/store"
)

// Settings returns a tenant's traffic settings.
func (x traffics) Settings(ctx context.Context, tenantID string) (store.TrafficSettings, error) {
	var v store.TrafficSettings
	err := x.s.conn().queryRow(ctx, `SELECT tenant_id, policy, safelist, default_safelist, version, updated_by, updated_at
		FROM traffic_settings WHERE tenant_id = ?`, tenantID).Scan(&v.TenantID, &v.Policy, &v.Safelist, &v.DefaultSafelist,
		&v.Version, &v.UpdatedBy, timeDest{&v.UpdatedAt})
	return v, x.s.wrap("get traffic settings", err)
}

// PutSettings saves a tenant's settings if their version is still version.
func (x traffics) PutSettings(ctx context.Context, v *store.TrafficSettings, version int) error {
	s := x.s
	at := s.stamp()
	var err error
	if version == 0 {
		_, err = s.conn().exec(ctx, `INSERT INTO traffic_settings (tenant_id, policy, safelist, default_safelist, version,
			updated_by, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)`, v.TenantID, v.Policy, v.Safelist, v.DefaultSafelist,
			v.UpdatedBy, s.t(at))
	} else {
		err = affected(s.conn().exec(ctx, `UPDATE traffic_settings SET policy = ?, safelist = ?, default_safelist = ?,
			version = version + 1, updated_by = ?, updated_at = ? WHERE tenant_id = ? AND version = ?`,
			v.Policy, v.Safelist, v.DefaultSafelist, v.UpdatedBy, s.t(at), v.TenantID, version))
		if errors.Is(err, store.ErrNotFound) {
			// The tenant has no settings, or another editor saved first.
			err = store.ErrConflict
		}
	}
	if err != nil {
		return s.wrap("put traffic settings", err)
	}
	v.Version, v.UpdatedAt = version+1, at
	return nil
}

// Exporters lists the exporter map by prefix.
func (x traffics) Exporters(ctx context.Context) ([]store.TrafficExporter, error) {
	vs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.TrafficExporter, error) {
		var e store.TrafficExporter
		return e, r.Scan(&e.Prefix, &e.TenantID, &e.Note, &e.CreatedBy, timeDest{&e.CreatedAt})
	}, `SELECT prefix, tenant_id, note, created_by, created_at FROM traffic_exporters ORDER BY prefix`)
	return vs, x.s.wrap("list traffic exporters", err)
}

// PutExporter adds or replaces an exporter prefix.
func (x traffics) PutExporter(ctx context.Context, e *store.TrafficExporter) error {
	s := x.s
	e.CreatedAt = s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO traffic_exporters (prefix, tenant_id, note, created_by, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (prefix) DO UPDATE SET tenant_id = excluded.tenant_id, note = excluded.note,
		created_by = excluded.created_by, created_at = excluded.created_at`, e.Prefix, e.TenantID, e.Note, e.CreatedBy, s.t(e.CreatedAt))
	return s.wrap("put traffic exporter", err)
}

// DeleteExporter removes an exporter prefix.
func (x traffics) DeleteExporter(ctx context.Context, prefix string) error {
	return x.s.wrap("delete traffic exporter", affected(x.s.conn().exec(ctx, `DELETE FROM traffic_exporters WHERE prefix = ?`, prefix)))
}
