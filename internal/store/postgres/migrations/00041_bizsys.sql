-- Business systems (应用系统): a tenant's assets grouped by the business
-- purpose they serve, with owner, application contact, MLPS grade, data
-- sensitivity and security needs; an asset may belong to several systems.

-- +goose Up
CREATE TABLE business_systems (
    id               TEXT COLLATE "C" PRIMARY KEY,
    tenant_id        TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    owner            TEXT NOT NULL DEFAULT '',
    contact_id       TEXT COLLATE "C" REFERENCES contacts (id) ON DELETE SET NULL,
    mlps_level       INTEGER NOT NULL DEFAULT 0,
    data_sensitivity TEXT COLLATE "C" NOT NULL,
    confidentiality  INTEGER NOT NULL,
    integrity        INTEGER NOT NULL,
    availability     INTEGER NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE business_system_members (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    system_id TEXT COLLATE "C" NOT NULL REFERENCES business_systems (id) ON DELETE CASCADE,
    asset_id  TEXT COLLATE "C" NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (system_id, asset_id)
);
CREATE INDEX business_system_members_asset ON business_system_members (tenant_id, asset_id);

-- +goose Down
DROP TABLE business_system_members;
DROP TABLE business_systems;
