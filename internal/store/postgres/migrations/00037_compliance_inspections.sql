-- Compliance inspections (合规检查): a checklist from the standards library
-- run against a tenant's assigned objects, with the results kept as the
-- inspection service's JSON document.

-- +goose Up
CREATE TABLE compliance_inspections (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    campaign   TEXT COLLATE "C" NOT NULL DEFAULT '',
    framework  TEXT COLLATE "C" NOT NULL,
    state      TEXT COLLATE "C" NOT NULL,
    doc        TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX compliance_inspections_updated ON compliance_inspections (tenant_id, updated_at DESC, id DESC);

-- +goose Down
DROP TABLE compliance_inspections;
