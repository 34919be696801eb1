-- Compliance inspections (合规检查): a checklist from the standards library
-- run against a tenant's assigned objects, with the results kept as the
-- inspection service's JSON document.

-- +goose Up
CREATE TABLE compliance_inspections (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    campaign   TEXT NOT NULL DEFAULT '',
    framework  TEXT NOT NULL,
    state      TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX compliance_inspections_updated ON compliance_inspections (tenant_id, updated_at DESC, id DESC);

-- +goose Down
DROP TABLE compliance_inspections;
