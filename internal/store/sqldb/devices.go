package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// devices implements store.DeviceStore; every query is scoped by tenant.
type devices struct{ s *Store }

const deviceCols = `d.tenant_id, d.asset_id, a.name, d.vendor, d.model, d.firmware, d.role, d.mgmt_address, d.ssh_port, d.snmp_port,
	d.snmp_version, d.snmp_user, d.ssh_user, d.snmp_secret_id, d.ssh_secret_id, d.profile, d.host_key, d.support_expires,
	d.licence_expires, d.signature_expires, d.contact_id, d.health_state, d.health_note, d.last_polled_at, d.last_backup_at,
	d.backup_error, d.created_at, d.updated_at, d.log_scan_at, d.snmp_auth_proto, d.snmp_priv_proto, d.snmp_priv_secret_id,
	d.backup_method, d.api_port, d.api_secret_id, d.api_fingerprint`

const deviceFrom = ` FROM devices d JOIN assets a ON a.id = d.asset_id`

func scanDevice(r rowScanner) (store.Device, error) {
	var d store.Device
	err := r.Scan(&d.TenantID, &d.AssetID, &d.Name, &d.Vendor, &d.Model, &d.Firmware, &d.Role, &d.MgmtAddress, &d.SSHPort,
		&d.SNMPPort, &d.SNMPVersion, &d.SNMPUser, &d.SSHUser, &d.SNMPSecretID, &d.SSHSecretID, &d.Profile, &d.HostKey,
		timeDest{&d.SupportExpires}, timeDest{&d.LicenceExpires}, timeDest{&d.SignatureExpires}, &d.ContactID,
		&d.HealthState, &d.HealthNote, timeDest{&d.LastPolledAt}, timeDest{&d.LastBackupAt}, &d.BackupError,
		timeDest{&d.CreatedAt}, timeDest{&d.UpdatedAt}, timeDest{&d.LogScanAt}, &d.SNMPAuthProto, &d.SNMPPrivProto,
		&d.SNMPPrivSecretID, &d.BackupMethod, &d.APIPort, &d.APISecretID, &d.APIFingerprint)
	return d, err
}

// PutDevice creates or replaces the device of an asset of the tenant.
func (x devices) PutDevice(ctx context.Context, d *store.Device) error {
	s := x.s
	now := s.stamp()
	if d.SNMPVersion == "" {
		d.SNMPVersion = "2c"
	}
	d.SupportExpires, d.LicenceExpires, d.SignatureExpires = norm(d.SupportExpires), norm(d.LicenceExpires), norm(d.SignatureExpires)
	var created time.Time
	err := s.inTx(ctx, func(c conn) error {
		var name string
		if err := c.queryRow(ctx, `SELECT name FROM assets WHERE tenant_id = ? AND id = ?`, d.TenantID, d.AssetID).Scan(&name); err != nil {
			return err
		}
		d.Name = name
		if _, err := c.exec(ctx, `INSERT INTO devices (asset_id, tenant_id, vendor, model, firmware, role, mgmt_address, ssh_port,
			snmp_port, snmp_version, snmp_user, ssh_user, snmp_secret_id, ssh_secret_id, profile, host_key, support_expires,
			licence_expires, signature_expires, contact_id, created_at, updated_at, snmp_auth_proto, snmp_priv_proto,
			snmp_priv_secret_id, backup_method, api_port, api_secret_id, api_fingerprint)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (asset_id) DO UPDATE SET vendor = excluded.vendor, model = excluded.model, firmware = excluded.firmware,
			role = excluded.role, mgmt_address = excluded.mgmt_address, ssh_port = excluded.ssh_port, snmp_port = excluded.snmp_port,
			snmp_version = excluded.snmp_version, snmp_user = excluded.snmp_user, ssh_user = excluded.ssh_user,
			snmp_secret_id = excluded.snmp_secret_id, ssh_secret_id = excluded.ssh_secret_id, profile = excluded.profile,
			host_key = excluded.host_key, support_expires = excluded.support_expires, licence_expires = excluded.licence_expires,
			signature_expires = excluded.signature_expires, contact_id = excluded.contact_id, updated_at = excluded.updated_at,
			snmp_auth_proto = excluded.snmp_auth_proto, snmp_priv_proto = excluded.snmp_priv_proto,
			snmp_priv_secret_id = excluded.snmp_priv_secret_id, backup_method = excluded.backup_method, api_port = excluded.api_port,
			api_secret_id = excluded.api_secret_id, api_fingerprint = excluded.api_fingerprint`,
			d.AssetID, d.TenantID, d.Vendor, d.Model, d.Firmware, d.Role, d.MgmtAddress, d.SSHPort, d.SNMPPort, d.SNMPVersion,
			d.SNMPUser, d.SSHUser, d.SNMPSecretID, d.SSHSecretID, d.Profile, d.HostKey, s.t(d.SupportExpires),
			s.t(d.LicenceExpires), s.t(d.SignatureExpires), d.ContactID, s.t(now), s.t(now), d.SNMPAuthProto, d.SNMPPrivProto,
			d.SNMPPrivSecretID, d.BackupMethod, d.APIPort, d.APISecretID, d.APIFingerprint); err != nil {
			return err
		}
		got, err := scanDevice(c.queryRow(ctx, `SELECT `+deviceCols+deviceFrom+` WHERE d.tenant_id = ? AND d.asset_id = ?`,
			d.TenantID, d.AssetID))
		if err != nil {
			return err
		}
		created = got.CreatedAt
		d.HealthState, d.HealthNote, d.LastPolledAt, d.LastBackupAt, d.BackupError, d.LogScanAt =
			got.HealthState, got.HealthNote, got.LastPolledAt, got.LastBackupAt, got.BackupError, got.LogScanAt
		return nil
	})
	if err != nil {
		return s.wrap("put device", err)
	}
	d.CreatedAt, d.UpdatedAt = created, now
	return nil
}

// GetDevice returns one device.
func (x devices) GetDevice(ctx context.Context, tenantID, assetID string) (store.Device, error) {
	d, err := scanDevice(x.s.conn().queryRow(ctx, `SELECT `+deviceCols+deviceFrom+` WHERE d.tenant_id = ? AND d.asset_id = ?`,
		tenantID, assetID))
	return d, x.s.wrap("get device", err)
}

// ListDevices returns a page of devices by name.
func (x devices) ListDevices(ctx context.Context, tenantID string, p store.Page) ([]store.Device, error) {
	limit, offset := PageBounds(p)
	ds, err := collect(ctx, x.s.conn(), scanDevice, `SELECT `+deviceCols+deviceFrom+` WHERE d.tenant_id = ?
		ORDER BY a.name, d.asset_id LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return ds, x.s.wrap("list devices", err)
}

// CountDevices counts the tenant's devices.
func (x devices) CountDevices(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM devices WHERE tenant_id = ?`, tenantID).Scan(&n)
	return n, x.s.wrap("count devices", err)
}

// AddHealth stores a sample and updates the device's state.
func (x devices) AddHealth(ctx context.Context, h *store.HealthSample) error {
	s := x.s
	if h.At.IsZero() {
		h.At = s.stamp()
	}
	h.At = norm(h.At)
	problems, err := tagsArg(h.Problems)
	if err != nil {
		return err
	}
	note := h.Error
	if len(h.Problems) > 0 {
		note = h.Problems[0]
	}
	err = s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE devices SET health_state = ?, health_note = ?, last_polled_at = ? WHERE tenant_id = ? AND asset_id = ?`,
			h.State, note, s.t(h.At), h.TenantID, h.AssetID)
		if err := affected(res, err); err != nil {
			return err
		}
		_, err = c.exec(ctx, `INSERT INTO device_health (tenant_id, asset_id, at, reachable, uptime_ms, cpu, has_cpu, memory, has_memory,
			sessions, has_sessions, if_up, if_down, state, problems, error, probe, rtt_us)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			h.TenantID, h.AssetID, s.t(h.At), h.Reachable, h.UpTime.Milliseconds(), h.CPU, h.HasCPU, h.Memory, h.HasMemory,
			h.Sessions, h.HasSessions, h.IfUp, h.IfDown, h.State, problems, h.Error, h.Probe, h.RTT.Microseconds())
		return err
	})
	return s.wrap("add health sample", err)
}

// maxHealthSamples bounds one read of a device's health history.
const maxHealthSamples = 10_000

// Health returns a device's samples since a time, newest first.
func (x devices) Health(ctx context.Context, tenantID, assetID string, since time.Time, limit int) ([]store.HealthSample, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("health samples: %w: limit must be positive", store.ErrInvalid)
	}
	w := where{}
	w.add("tenant_id = ?", tenantID)
	w.add("asset_id = ?", assetID)
	if !since.IsZero() {
		w.add("at >= ?", x.s.t(since))
	}
	hs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.HealthSample, error) {
		var h store.HealthSample
		var ms, us int64
		err := r.Scan(&h.TenantID, &h.AssetID, timeDest{&h.At}, &h.Reachable, &ms, &h.CPU, &h.HasCPU, &h.Memory, &h.HasMemory,
			&h.Sessions, &h.HasSessions, &h.IfUp, &h.IfDown, &h.State, jsonDest{&h.Problems}, &h.Error, &h.Probe, &us)
		h.UpTime = time.Duration(ms) * time.Millisecond
		h.RTT = time.Duration(us) * time.Microsecond
		return h, err
	}, `SELECT tenant_id, asset_id, at, reachable, uptime_ms, cpu, has_cpu, memory, has_memory, sessions, has_sessions, if_up,
		if_down, state, problems, error, probe, rtt_us FROM device_health`+w.String()+` ORDER BY at DESC LIMIT ?`,
		append(w.args, min(limit, maxHealthSamples))...)
	return hs, x.s.wrap("list health samples", err)
}

// PruneHealth deletes samples older than before.
func (x devices) PruneHealth(ctx context.Context, tenantID string, before time.Time) (int64, error) {
	res, err := x.s.conn().exec(ctx, `DELETE FROM device_health WHERE tenant_id = ? AND at < ?`, tenantID, x.s.t(before))
	if err != nil {
		return 0, x.s.wrap("prune health samples", err)
	}
	n, err := res.RowsAffected()
	return n, x.s.wrap("prune health samples", err)
}

const backupListCols = `id, tenant_id, asset_id, taken_at, sha256, size, changed, added, removed, taken_by, changed_by`

// backupHasRaw is the select expression of ConfigBackup.HasRaw.
const backupHasRaw = `, CASE WHEN sealed IS NULL THEN 0 ELSE 1 END`

func scanBackupHead(r rowScanner) (store.ConfigBackup, error) {
	var b store.ConfigBackup
	var raw int
	err := r.Scan(&b.ID, &b.TenantID, &b.AssetID, timeDest{&b.TakenAt}, &b.SHA256, &b.Size, &b.Changed, &b.Added, &b.Removed, &b.TakenBy,
		&b.ChangedBy, &raw)
	b.HasRaw = raw == 1
	return b, err
}

func scanBackup(r rowScanner) (store.ConfigBackup, error) {
	var b store.ConfigBackup
	var raw int
	err := r.Scan(&b.ID, &b.TenantID, &b.AssetID, timeDest{&b.TakenAt}, &b.SHA256, &b.Size, &b.Changed, &b.Added, &b.Removed,
		&b.TakenBy, &b.ChangedBy, &raw, &b.Content, &b.Diff)
	b.HasRaw = raw == 1
	return b, err
}

// AddBackup stores a backup and marks the device backed up.
func (x devices) AddBackup(ctx context.Context, b *store.ConfigBackup) error {
	s := x.s
	if err := ensureID(&b.ID); err != nil {
		return err
	}
	if b.TakenAt.IsZero() {
		b.TakenAt = s.stamp()
	}
	b.TakenAt = norm(b.TakenAt)
	b.Size = len(b.Content)
	err := s.inTx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE devices SET last_backup_at = ?, backup_error = '' WHERE tenant_id = ? AND asset_id = ?`,
			s.t(b.TakenAt), b.TenantID, b.AssetID)
		if err := affected(res, err); err != nil {
			return err
		}
		var sealed any
		if b.Sealed != nil {
			sealed = b.Sealed
		}
		_, err = c.exec(ctx, `INSERT INTO device_backups (`+backupListCols+`, content, diff, sealed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.TenantID, b.AssetID, s.t(b.TakenAt), b.SHA256, b.Size, b.Changed, b.Added, b.Removed, b.TakenBy, b.ChangedBy,
			b.Content, b.Diff, sealed)
		return err
	})
	if err == nil {
		b.HasRaw = b.Sealed != nil
	}
	return s.wrap("add config backup", err)
}

// SetBackupStatus records a backup run that stored nothing.
func (x devices) SetBackupStatus(ctx context.Context, tenantID, assetID string, at time.Time, reason string) error {
	if at.IsZero() {
		return x.s.wrap("set backup status", affected(x.s.conn().exec(ctx,
			`UPDATE devices SET backup_error = ? WHERE tenant_id = ? AND asset_id = ?`, reason, tenantID, assetID)))
	}
	return x.s.wrap("set backup status", affected(x.s.conn().exec(ctx,
		`UPDATE devices SET last_backup_at = ?, backup_error = ? WHERE tenant_id = ? AND asset_id = ?`, x.s.t(at), reason, tenantID, assetID)))
}

// SetHostKey pins a device's host key.
func (x devices) SetHostKey(ctx context.Context, tenantID, assetID, key string) error {
	return x.s.wrap("set host key", affected(x.s.conn().exec(ctx,
		`UPDATE devices SET host_key = ? WHERE tenant_id = ? AND asset_id = ?`, key, tenantID, assetID)))
}

// Backups lists a device's backups newest first.
func (x devices) Backups(ctx context.Context, tenantID, assetID string, p store.Page) ([]store.ConfigBackup, error) {
	limit, offset := PageBounds(p)
	bs, err := collect(ctx, x.s.conn(), scanBackupHead, `SELECT `+backupListCols+backupHasRaw+` FROM device_backups
		WHERE tenant_id = ? AND asset_id = ? ORDER BY taken_at DESC, id DESC LIMIT ? OFFSET ?`, tenantID, assetID, limit, offset)
	return bs, x.s.wrap("list config backups", err)
}

// GetBackup returns one backup with content.
func (x devices) GetBackup(ctx context.Context, tenantID, id string) (store.ConfigBackup, error) {
	b, err := scanBackup(x.s.conn().queryRow(ctx, `SELECT `+backupListCols+backupHasRaw+`, content, diff FROM device_backups
		WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return b, x.s.wrap("get config backup", err)
}

// LatestBackup returns a device's newest backup.
func (x devices) LatestBackup(ctx context.Context, tenantID, assetID string) (store.ConfigBackup, error) {
	b, err := scanBackup(x.s.conn().queryRow(ctx, `SELECT `+backupListCols+backupHasRaw+`, content, diff FROM device_backups
		WHERE tenant_id = ? AND asset_id = ? ORDER BY taken_at DESC, id DESC LIMIT 1`, tenantID, assetID))
	return b, x.s.wrap("latest config backup", err)
}

// CountBackups counts backups in a period and the changed ones.
func (x devices) CountBackups(ctx context.Context, tenantID string, since, until time.Time) (int, int, error) {
	var total, changed int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN changed THEN 1 ELSE 0 END), 0) FROM device_backups
		WHERE tenant_id = ? AND taken_at >= ? AND taken_at < ?`, tenantID, x.s.t(since), x.s.t(until)).Scan(&total, &changed)
	return total, changed, x.s.wrap("count config backups", err)
}

// AddRecord stores an O&M record.
func (x devices) AddRecord(ctx context.Context, r *store.DeviceRecord) error {
	s := x.s
	if err := ensureID(&r.ID); err != nil {
		return err
	}
	now := s.stamp()
	if r.At.IsZero() {
		r.At = now
	}
	r.At = norm(r.At)
	err := s.inTx(ctx, func(c conn) error {
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM devices WHERE tenant_id = ? AND asset_id = ?`, r.TenantID, r.AssetID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		_, err := c.exec(ctx, `INSERT INTO device_records (id, tenant_id, asset_id, kind, at, author, author_name, summary, resolution,
			work_ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.TenantID, r.AssetID, r.Kind, s.t(r.At), r.Author,
			r.AuthorName, r.Summary, r.Resolution, r.WorkRef, s.t(now))
		return err
	})
	if err != nil {
		return s.wrap("add device record", err)
	}
	r.CreatedAt = now
	return nil
}

// Records lists O&M records newest first.
func (x devices) Records(ctx context.Context, tenantID, assetID string, since, until time.Time, p store.Page) ([]store.DeviceRecord, error) {
	limit, offset := PageBounds(p)
	w := where{}
	w.add("tenant_id = ?", tenantID)
	if assetID != "" {
		w.add("asset_id = ?", assetID)
	}
	if !since.IsZero() {
		w.add("at >= ?", x.s.t(since))
	}
	if !until.IsZero() {
		w.add("at < ?", x.s.t(until))
	}
	rs, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.DeviceRecord, error) {
		var v store.DeviceRecord
		return v, r.Scan(&v.ID, &v.TenantID, &v.AssetID, &v.Kind, timeDest{&v.At}, &v.Author, &v.AuthorName, &v.Summary,
			&v.Resolution, &v.WorkRef, timeDest{&v.CreatedAt})
	}, `SELECT id, tenant_id, asset_id, kind, at, author, author_name, summary, resolution, work_ref, created_at FROM device_records`+
		w.String()+` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	return rs, x.s.wrap("list device records", err)
}

const deviceEventCols = `id, tenant_id, asset_id, at, kind, source_id, name, severity, user_name, summary, detail, work_order_id,
	work_order_ref, authorised, backup_id`

func scanDeviceEvent(r rowScanner) (store.DeviceEvent, error) {
	var e store.DeviceEvent
	err := r.Scan(&e.ID, &e.TenantID, &e.AssetID, timeDest{&e.At}, &e.Kind, &e.SourceID, &e.Name, &e.Severity, &e.User, &e.Summary,
		jsonDest{&e.Detail}, &e.WorkOrderID, &e.WorkOrderRef, &e.Authorised, &e.BackupID)
	return e, err
}

// AddDeviceEvent stores a device event of a device of the tenant.
func (x devices) AddDeviceEvent(ctx context.Context, e *store.DeviceEvent) error {
	s := x.s
	if err := ensureID(&e.ID); err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = s.stamp()
	}
	e.At = norm(e.At)
	if e.Severity == "" {
		e.Severity = "info"
	}
	if e.Detail == nil {
		e.Detail = []store.DeviceEventField{}
	}
	detail, err := jsonArg(e.Detail)
	if err != nil {
		return err
	}
	var n int
	if err := s.conn().queryRow(ctx, `SELECT COUNT(*) FROM devices WHERE tenant_id = ? AND asset_id = ?`, e.TenantID, e.AssetID).Scan(&n); err != nil {
		return s.wrap("add device event", err)
	}
	if n == 0 {
		return s.wrap("add device event", store.ErrNotFound)
	}
	_, err = s.conn().exec(ctx, `INSERT INTO device_events (`+deviceEventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.TenantID, e.AssetID, s.t(e.At), e.Kind, e.SourceID, e.Name, e.Severity, e.User, e.Summary, detail, e.WorkOrderID,
		e.WorkOrderRef, e.Authorised, e.BackupID)
	return s.wrap("add device event", err)
}

// DeviceEvents lists device events newest first.
func (x devices) DeviceEvents(ctx context.Context, tenantID string, f store.DeviceEventFilter) ([]store.DeviceEvent, error) {
	limit, offset := PageBounds(f.Page)
	w := where{}
	w.add("tenant_id = ?", tenantID)
	if f.AssetID != "" {
		w.add("asset_id = ?", f.AssetID)
	}
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if !f.Since.IsZero() {
		w.add("at >= ?", x.s.t(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("at < ?", x.s.t(f.Until))
	}
	es, err := collect(ctx, x.s.conn(), scanDeviceEvent, `SELECT `+deviceEventCols+` FROM device_events`+w.String()+
		` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	return es, x.s.wrap("list device events", err)
}

// LinkChangeBackup links unlinked change events up to at to a backup.
func (x devices) LinkChangeBackup(ctx context.Context, tenantID, assetID, backupID string, at time.Time) (int64, error) {
	res, err := x.s.conn().exec(ctx, `UPDATE device_events SET backup_id = ? WHERE tenant_id = ? AND asset_id = ? AND kind = 'config_change'
		AND backup_id = '' AND at <= ?`, backupID, tenantID, assetID, x.s.t(norm(at)))
	if err != nil {
		return 0, x.s.wrap("link change events", err)
	}
	n, err := res.RowsAffected()
	return n, x.s.wrap("link change events", err)
}

// SetLogScan records the device's change-log cursor.
func (x devices) SetLogScan(ctx context.Context, tenantID, assetID string, at time.Time) error {
	return x.s.wrap("set log scan", affected(x.s.conn().exec(ctx,
		`UPDATE devices SET log_scan_at = ? WHERE tenant_id = ? AND asset_id = ?`, x.s.t(norm(at)), tenantID, assetID)))
}

// BackupSealed returns a backup's sealed raw configuration.
func (x devices) BackupSealed(ctx context.Context, tenantID, id string) ([]byte, error) {
	var b []byte
	err := x.s.conn().queryRow(ctx, `SELECT sealed FROM device_backups WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&b)
	return b, x.s.wrap("sealed config backup", err)
}
