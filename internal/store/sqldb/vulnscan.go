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

// VulnScanRuns returns the OpenVAS connections and scan history.
func (s *Store) VulnScanRuns() store.VulnScanRunStore { return vulnScanRuns{s} }

// vulnScanRuns implements store.VulnScanRunStore; every query is scoped
// by tenant.
type vulnScanRuns struct{ s *Store }

// GetGMP returns the tenant's OpenVAS connection.
func (x vulnScanRuns) GetGMP(ctx context.Context, tenantID string) (store.VulnGMP, error) {
	var g store.VulnGMP
	err := x.s.conn().queryRow(ctx, `SELECT tenant_id, address, username, secret_id, ca_pem, server_name, config_id,
		port_list_id, scanner_id, updated_at FROM vuln_gmp WHERE tenant_id = ?`, tenantID).Scan(&g.TenantID, &g.Address,
		&g.Username, &g.SecretID, &g.CAPEM, &g.ServerName, &g.ConfigID, &g.PortListID, &g.ScannerID, timeDest{&g.UpdatedAt})
	if err != nil {
		return store.VulnGMP{}, x.s.wrap("get openvas connection", err)
	}
	return g, nil
}

// PutGMP creates or replaces the tenant's OpenVAS connection.
func (x vulnScanRuns) PutGMP(ctx context.Context, g *store.VulnGMP) error {
	s := x.s
	g.UpdatedAt = s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO vuln_gmp (tenant_id, address, username, secret_id, ca_pem, server_name, config_id,
		port_list_id, scanner_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET
		address = excluded.address, username = excluded.username, secret_id = excluded.secret_id, ca_pem = excluded.ca_pem,
		server_name = excluded.server_name, config_id = excluded.config_id, port_list_id = excluded.port_list_id,
		scanner_id = excluded.scanner_id, updated_at = excluded.updated_at`,
		g.TenantID, g.Address, g.Username, g.SecretID, g.CAPEM, g.ServerName, g.ConfigID, g.PortListID, g.ScannerID, s.t(g.UpdatedAt))
	return s.wrap("put openvas connection", err)
}

// DeleteGMP removes the tenant's OpenVAS connection.
func (x vulnScanRuns) DeleteGMP(ctx context.Context, tenantID string) error {
	return x.s.wrap("delete openvas connection", affected(x.s.conn().exec(ctx, `DELETE FROM vuln_gmp WHERE tenant_id = ?`, tenantID)))
}

// AddRun records a scan run.
func (x vulnScanRuns) AddRun(ctx context.Context, r *store.VulnScanRun) error {
	s := x.s
	if err := ensureID(&r.ID); err != nil {
		return s.wrap("add vulnerability scan run", err)
	}
	r.StartedAt, r.FinishedAt = norm(r.StartedAt), norm(r.FinishedAt)
	var lists [3]string
	for i, l := range [][]string{r.ScanIDs, r.Skipped, r.Errors} {
		if l == nil {
			l = []string{}
		}
		b, err := jsonArg(l)
		if err != nil {
			return s.wrap("add vulnerability scan run", err)
		}
		lists[i] = b
	}
	_, err := s.conn().exec(ctx, `INSERT INTO vuln_scan_runs (id, tenant_id, kind, status, started_at, finished_at, targets,
		findings, scan_ids, skipped, errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.TenantID, r.Kind, r.Status,
		s.t(r.StartedAt), s.t(r.FinishedAt), r.Targets, r.Findings, lists[0], lists[1], lists[2])
	return s.wrap("add vulnerability scan run", err)
}

// Runs returns the tenant's newest scan runs.
func (x vulnScanRuns) Runs(ctx context.Context, tenantID string, limit int) ([]store.VulnScanRun, error) {
	limit = max(1, min(limit, store.MaxPageSize))
	rs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.VulnScanRun, error) {
		var v store.VulnScanRun
		err := r.Scan(&v.ID, &v.TenantID, &v.Kind, &v.Status, timeDest{&v.StartedAt}, timeDest{&v.FinishedAt}, &v.Targets,
			&v.Findings, jsonDest{&v.ScanIDs}, jsonDest{&v.Skipped}, jsonDest{&v.Errors})
		return v, err
	}, `SELECT id, tenant_id, kind, status, started_at, finished_at, targets, findings, scan_ids, skipped, errors
		FROM vuln_scan_runs WHERE tenant_id = ? ORDER BY started_at DESC, id DESC LIMIT ?`, tenantID, limit)
	return rs, x.s.wrap("list vulnerability scan runs", err)
}
