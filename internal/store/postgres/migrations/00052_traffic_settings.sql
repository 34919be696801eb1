-- Traffic analysis settings: each tenant's violation policy and safelist
-- (text in the formats of the offline --policy and --safelist files, with
-- a version for optimistic locking), and the platform's map of flow
-- exporters (an address or prefix) to the tenant that owns their records.

-- +goose Up
CREATE TABLE traffic_settings (
    tenant_id        TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    policy           TEXT NOT NULL DEFAULT '',
    safelist         TEXT NOT NULL DEFAULT '',
    default_safelist BOOLEAN NOT NULL DEFAULT TRUE,
    version          INTEGER NOT NULL,
    updated_by       TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE traffic_exporters (
    prefix     TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE traffic_exporters;
DROP TABLE traffic_settings;
