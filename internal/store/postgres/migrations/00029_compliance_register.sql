-- The compliance register: risk assessments (GB/T 20984) of a tenant,
-- remediation items raised from assessment gaps and high risks with their
-- re-verifications, the append-only communication log of an assessment
-- project, and the assets an assessment project covers.

-- +goose Up
CREATE TABLE risk_assessments (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    method     TEXT COLLATE "C" NOT NULL,
    doc        TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX risk_assessments_updated ON risk_assessments (tenant_id, updated_at DESC, id DESC);

CREATE TABLE remediation_items (
    id            TEXT COLLATE "C" PRIMARY KEY,
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source_kind   TEXT COLLATE "C" NOT NULL,
    source_id     TEXT COLLATE "C" NOT NULL,
    source_ref    TEXT COLLATE "C" NOT NULL,
    title         TEXT COLLATE "C" NOT NULL,
    detail        TEXT COLLATE "C" NOT NULL DEFAULT '',
    level         TEXT COLLATE "C" NOT NULL DEFAULT '',
    state         TEXT COLLATE "C" NOT NULL,
    owner         TEXT COLLATE "C" NOT NULL DEFAULT '',
    due           TIMESTAMPTZ,
    work_order_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, source_kind, source_id, source_ref)
);
CREATE INDEX remediation_items_updated ON remediation_items (tenant_id, updated_at DESC, id DESC);

CREATE TABLE remediation_verifications (
    id           TEXT COLLATE "C" PRIMARY KEY,
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    item_id      TEXT COLLATE "C" NOT NULL REFERENCES remediation_items (id) ON DELETE CASCADE,
    before_value TEXT COLLATE "C" NOT NULL,
    after_value  TEXT COLLATE "C" NOT NULL,
    passed       BOOLEAN NOT NULL DEFAULT FALSE,
    note         TEXT COLLATE "C" NOT NULL DEFAULT '',
    verified_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    verified_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX remediation_verifications_item ON remediation_verifications (tenant_id, item_id, verified_at, id);
CREATE INDEX remediation_verifications_at ON remediation_verifications (tenant_id, verified_at, id);

CREATE TABLE assessment_communications (
    id           TEXT COLLATE "C" PRIMARY KEY,
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    project_id   TEXT COLLATE "C" NOT NULL REFERENCES assessment_projects (id) ON DELETE CASCADE,
    kind         TEXT COLLATE "C" NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    participants TEXT COLLATE "C" NOT NULL DEFAULT '',
    body         TEXT COLLATE "C" NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX assessment_communications_project ON assessment_communications (tenant_id, project_id, occurred_at, id);

CREATE TABLE assessment_project_assets (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES assessment_projects (id) ON DELETE CASCADE,
    asset_id   TEXT COLLATE "C" NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, asset_id)
);

-- +goose Down
DROP TABLE assessment_project_assets;
DROP TABLE assessment_communications;
DROP TABLE remediation_verifications;
DROP TABLE remediation_items;
DROP TABLE risk_assessments;
