-- Security devices under O&M (an asset of kind device with its management
-- settings), their health samples, configuration backups and O&M records.

-- +goose Up
CREATE TABLE devices (
    asset_id          TEXT COLLATE "C" PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    tenant_id         TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    vendor            TEXT COLLATE "C" NOT NULL DEFAULT '',
    model             TEXT COLLATE "C" NOT NULL DEFAULT '',
    firmware          TEXT COLLATE "C" NOT NULL DEFAULT '',
    role              TEXT COLLATE "C" NOT NULL DEFAULT '',
    mgmt_address      TEXT COLLATE "C" NOT NULL DEFAULT '',
    ssh_port          INTEGER NOT NULL DEFAULT 0,
    snmp_port         INTEGER NOT NULL DEFAULT 0,
    snmp_version      TEXT COLLATE "C" NOT NULL DEFAULT '2c',
    snmp_user         TEXT COLLATE "C" NOT NULL DEFAULT '',
    ssh_user          TEXT COLLATE "C" NOT NULL DEFAULT '',
    snmp_secret_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    ssh_secret_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    profile           TEXT COLLATE "C" NOT NULL DEFAULT '',
    host_key          TEXT COLLATE "C" NOT NULL DEFAULT '',
    support_expires   TIMESTAMPTZ,
    licence_expires   TIMESTAMPTZ,
    signature_expires TIMESTAMPTZ,
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    health_state      TEXT COLLATE "C" NOT NULL DEFAULT 'unknown',
    health_note       TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_polled_at    TIMESTAMPTZ,
    last_backup_at    TIMESTAMPTZ,
    backup_error      TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX devices_tenant ON devices (tenant_id);

CREATE TABLE device_health (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id     TEXT COLLATE "C" NOT NULL REFERENCES devices (asset_id) ON DELETE CASCADE,
    at           TIMESTAMPTZ NOT NULL,
    reachable    BOOLEAN NOT NULL,
    uptime_ms    BIGINT NOT NULL DEFAULT 0,
    cpu          DOUBLE PRECISION NOT NULL DEFAULT 0,
    has_cpu      BOOLEAN NOT NULL DEFAULT FALSE,
    memory       DOUBLE PRECISION NOT NULL DEFAULT 0,
    has_memory   BOOLEAN NOT NULL DEFAULT FALSE,
    sessions     BIGINT NOT NULL DEFAULT 0,
    has_sessions BOOLEAN NOT NULL DEFAULT FALSE,
    if_up        INTEGER NOT NULL DEFAULT 0,
    if_down      INTEGER NOT NULL DEFAULT 0,
    state        TEXT COLLATE "C" NOT NULL,
    problems     TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    error        TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX device_health_at ON device_health (tenant_id, asset_id, at DESC);
CREATE INDEX device_health_prune ON device_health (tenant_id, at);

CREATE TABLE device_backups (
    id        TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id  TEXT COLLATE "C" NOT NULL REFERENCES devices (asset_id) ON DELETE CASCADE,
    taken_at  TIMESTAMPTZ NOT NULL,
    sha256    TEXT COLLATE "C" NOT NULL,
    size      INTEGER NOT NULL,
    changed   BOOLEAN NOT NULL,
    added     INTEGER NOT NULL DEFAULT 0,
    removed   INTEGER NOT NULL DEFAULT 0,
    content   TEXT COLLATE "C" NOT NULL,
    diff      TEXT COLLATE "C" NOT NULL DEFAULT '',
    taken_by  TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX device_backups_taken ON device_backups (tenant_id, asset_id, taken_at DESC, id DESC);
CREATE INDEX device_backups_tenant_taken ON device_backups (tenant_id, taken_at);

CREATE TABLE device_records (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT COLLATE "C" NOT NULL REFERENCES devices (asset_id) ON DELETE CASCADE,
    kind        TEXT COLLATE "C" NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    author      TEXT COLLATE "C" NOT NULL DEFAULT '',
    author_name TEXT COLLATE "C" NOT NULL DEFAULT '',
    summary     TEXT COLLATE "C" NOT NULL,
    resolution  TEXT COLLATE "C" NOT NULL DEFAULT '',
    work_ref    TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX device_records_at ON device_records (tenant_id, asset_id, at DESC, id DESC);
CREATE INDEX device_records_tenant_at ON device_records (tenant_id, at DESC, id DESC);

-- +goose Down
DROP TABLE device_records;
DROP TABLE device_backups;
DROP TABLE device_health;
DROP TABLE devices;
