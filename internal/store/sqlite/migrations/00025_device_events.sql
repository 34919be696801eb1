-- Device events (SNMP traps, configuration changes found in logs), the
-- reachability probe of each health sample, who changed a backed-up
-- configuration and its sealed raw text, and how far each device's logs
-- were read for changes.

-- +goose Up
CREATE TABLE device_events (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id       TEXT NOT NULL REFERENCES devices (asset_id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    kind           TEXT NOT NULL,
    source_id      TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL DEFAULT '',
    severity       TEXT NOT NULL DEFAULT 'info',
    user_name      TEXT NOT NULL DEFAULT '',
    summary        TEXT NOT NULL DEFAULT '',
    detail         TEXT NOT NULL DEFAULT '[]',
    work_order_id  TEXT NOT NULL DEFAULT '',
    work_order_ref TEXT NOT NULL DEFAULT '',
    authorised     TEXT NOT NULL DEFAULT '',
    backup_id      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_events_at ON device_events (tenant_id, asset_id, at DESC, id DESC);
CREATE INDEX device_events_tenant_at ON device_events (tenant_id, at DESC, id DESC);
CREATE UNIQUE INDEX device_events_source ON device_events (tenant_id, source_id) WHERE source_id <> '';

ALTER TABLE device_health ADD COLUMN probe TEXT NOT NULL DEFAULT '';
ALTER TABLE device_health ADD COLUMN rtt_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE device_backups ADD COLUMN changed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE device_backups ADD COLUMN sealed BLOB;
ALTER TABLE devices ADD COLUMN log_scan_at TEXT;

-- +goose Down
ALTER TABLE devices DROP COLUMN log_scan_at;
ALTER TABLE device_backups DROP COLUMN sealed;
ALTER TABLE device_backups DROP COLUMN changed_by;
ALTER TABLE device_health DROP COLUMN rtt_us;
ALTER TABLE device_health DROP COLUMN probe;
DROP TABLE device_events;
