-- Security devices under O&M (an asset of kind device with its management
-- settings), their health samples, configuration backups and O&M records.

-- +goose Up
CREATE TABLE devices (
    asset_id          TEXT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    vendor            TEXT NOT NULL DEFAULT '',
    model             TEXT NOT NULL DEFAULT '',
    firmware          TEXT NOT NULL DEFAULT '',
    role              TEXT NOT NULL DEFAULT '',
    mgmt_address      TEXT NOT NULL DEFAULT '',
    ssh_port          INTEGER NOT NULL DEFAULT 0,
    snmp_port         INTEGER NOT NULL DEFAULT 0,
    snmp_version      TEXT NOT NULL DEFAULT '2c',
    snmp_user         TEXT NOT NULL DEFAULT '',
    ssh_user          TEXT NOT NULL DEFAULT '',
    snmp_secret_id    TEXT NOT NULL DEFAULT '',
    ssh_secret_id     TEXT NOT NULL DEFAULT '',
    profile           TEXT NOT NULL DEFAULT '',
    host_key          TEXT NOT NULL DEFAULT '',
    support_expires   TEXT,
    licence_expires   TEXT,
    signature_expires TEXT,
    contact_id        TEXT NOT NULL DEFAULT '',
    health_state      TEXT NOT NULL DEFAULT 'unknown',
    health_note       TEXT NOT NULL DEFAULT '',
    last_polled_at    TEXT,
    last_backup_at    TEXT,
    backup_error      TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX devices_tenant ON devices (tenant_id);

CREATE TABLE device_health (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id     TEXT NOT NULL REFERENCES devices (asset_id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    reachable    INTEGER NOT NULL,
    uptime_ms    INTEGER NOT NULL DEFAULT 0,
    cpu          REAL NOT NULL DEFAULT 0,
    has_cpu      INTEGER NOT NULL DEFAULT 0,
    memory       REAL NOT NULL DEFAULT 0,
    has_memory   INTEGER NOT NULL DEFAULT 0,
    sessions     INTEGER NOT NULL DEFAULT 0,
    has_sessions INTEGER NOT NULL DEFAULT 0,
    if_up        INTEGER NOT NULL DEFAULT 0,
    if_down      INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,
    problems     TEXT NOT NULL DEFAULT '[]',
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_health_at ON device_health (tenant_id, asset_id, at DESC);
CREATE INDEX device_health_prune ON device_health (tenant_id, at);

CREATE TABLE device_backups (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id  TEXT NOT NULL REFERENCES devices (asset_id) ON DELETE CASCADE,
    taken_at  TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    changed   INTEGER NOT NULL,
    added     INTEGER NOT NULL DEFAULT 0,
    removed   INTEGER NOT NULL DEFAULT 0,
    content   TEXT NOT NULL,
    diff      TEXT NOT NULL DEFAULT '',
    taken_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_backups_taken ON device_backups (tenant_id, asset_id, taken_at DESC, id DESC);
CREATE INDEX device_backups_tenant_taken ON device_backups (tenant_id, taken_at);

CREATE TABLE device_records (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT NOT NULL REFERENCES devices (asset_id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    author      TEXT NOT NULL DEFAULT '',
    author_name TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL,
    resolution  TEXT NOT NULL DEFAULT '',
    work_ref    TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE INDEX device_records_at ON device_records (tenant_id, asset_id, at DESC, id DESC);
CREATE INDEX device_records_tenant_at ON device_records (tenant_id, at DESC, id DESC);

-- +goose Down
DROP TABLE device_records;
DROP TABLE device_backups;
DROP TABLE device_health;
DROP TABLE devices;
