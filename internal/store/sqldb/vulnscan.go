package sqldb

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// vulnSettings implements store.VulnSettingsStore; every query is scoped
// by tenant.
type vulnSettings struct{ s *Store }

// Get returns the tenant's settings.
func (x vulnSettings) Get(ctx context.Context, tenantID string) (store.VulnSettings, error) {
	v := store.VulnSettings{SLA: map[string]int{}}
	var c, h, m, l int
	err := x.s.conn().queryRow(ctx, `SELECT tenant_id, last_run_at, sla_critical, sla_high, sla_medium, sla_low, updated_at
		FROM vuln_settings WHERE tenant_id = ?`, tenantID).Scan(&v.TenantID, timeDest{&v.LastRunAt}, &c, &h, &m, &l, timeDest{&v.UpdatedAt})
	if err != nil {
		return store.VulnSettings{}, x.s.wrap("get vulnerability settings", err)
	}
	for k, d := range map[string]int{"critical": c, "high": h, "medium": m, "low": l} {
		if d > 0 {
			v.SLA[k] = d
		}
	}
	return v, nil
}

// PutSLA sets the tenant's SLA days; severities missing from sla are
// reset to the default (0).
func (x vulnSettings) PutSLA(ctx context.Context, tenantID string, sla map[string]int) error {
	s := x.s
	now := s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO vuln_settings (tenant_id, sla_critical, sla_high, sla_medium, sla_low, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET sla_critical = excluded.sla_critical,
		sla_high = excluded.sla_high, sla_medium = excluded.sla_medium, sla_low = excluded.sla_low, updated_at = excluded.updated_at`,
		tenantID, sla["critical"], sla["high"], sla["medium"], sla["low"], s.t(now))
	return s.wrap("put vulnerability SLA", err)
}

// ClaimRun records a scheduled run at `at` unless one ran at or after
// notBefore.
func (x vulnSettings) ClaimRun(ctx context.Context, tenantID string, at, notBefore time.Time) (bool, error) {
	s := x.s
	res, err := s.conn().exec(ctx, `INSERT INTO vuln_settings (tenant_id, last_run_at, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET last_run_at = excluded.last_run_at, updated_at = excluded.updated_at
		WHERE vuln_settings.last_run_at IS NULL OR vuln_settings.last_run_at < ?`,
		tenantID, s.t(at), s.t(s.stamp()), s.t(notBefore))
	if err != nil {
		return false, s.wrap("claim vulnerability scan", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.wrap("claim vulnerability scan", err)
	}
	return n > 0, nil
}
