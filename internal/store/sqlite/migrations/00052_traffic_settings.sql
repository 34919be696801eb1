-- Traffic analysis settings: each tenant's violation policy and safelist
-- (text in the formats of the offline --policy and --safelist files, with
-- a version for optimistic locking), and the platform's map of flow
-- exporters (an address or prefix) to the tenant that owns their records.

-- +goose Up
CREATE TABLE traffic_settings (
    tenant_id        TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    policy           TEXT NOT NULL DEFAULT '',
    safelist         TEXT NOT NULL DEFAULT '',
    default_safelist INTEGER NOT NULL DEFAULT 1,
    version          INTEGER NOT NULL,
    updated_by       TEXT NOT NULL DEFAULT '',
    updated_at       TEXT NOT NULL
);

CREATE TABLE traffic_exporters (
    prefix     TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

-- +goose Down
DROP TABLE traffic_exporters;
DROP TABLE traffic_settings;
