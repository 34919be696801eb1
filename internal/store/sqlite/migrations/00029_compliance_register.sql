-- The compliance register: risk assessments (GB/T 20984) of a tenant,
-- remediation items raised from assessment gaps and high risks with their
-- re-verifications, the append-only communication log of an assessment
-- project, and the assets an assessment project covers.

-- +goose Up
CREATE TABLE risk_assessments (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    method     TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX risk_assessments_updated ON risk_assessments (tenant_id, updated_at DESC, id DESC);

CREATE TABLE remediation_items (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source_kind   TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    source_ref    TEXT NOT NULL,
    title         TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    level         TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT '',
    due           TEXT,
    work_order_id TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, source_kind, source_id, source_ref)
);
CREATE INDEX remediation_items_updated ON remediation_items (tenant_id, updated_at DESC, id DESC);

CREATE TABLE remediation_verifications (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    item_id      TEXT NOT NULL REFERENCES remediation_items (id) ON DELETE CASCADE,
    before_value TEXT NOT NULL,
    after_value  TEXT NOT NULL,
    passed       INTEGER NOT NULL DEFAULT 0,
    note         TEXT NOT NULL DEFAULT '',
    verified_by  TEXT NOT NULL DEFAULT '',
    verified_at  TEXT NOT NULL
);
CREATE INDEX remediation_verifications_item ON remediation_verifications (tenant_id, item_id, verified_at, id);
CREATE INDEX remediation_verifications_at ON remediation_verifications (tenant_id, verified_at, id);

CREATE TABLE assessment_communications (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL REFERENCES assessment_projects (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    participants TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE INDEX assessment_communications_project ON assessment_communications (tenant_id, project_id, occurred_at, id);

CREATE TABLE assessment_project_assets (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES assessment_projects (id) ON DELETE CASCADE,
    asset_id   TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, asset_id)
);

-- +goose Down
DROP TABLE assessment_project_assets;
DROP TABLE assessment_communications;
DROP TABLE remediation_verifications;
DROP TABLE remediation_items;
DROP TABLE risk_assessments;
