-- MLPS 2.0 assessment projects of a tenant and the result of each
-- requirement item on each assessed object.

-- +goose Up
CREATE TABLE assessment_projects (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    system     TEXT NOT NULL,
    level      INTEGER NOT NULL,
    framework  TEXT NOT NULL,
    agency     TEXT NOT NULL DEFAULT '',
    phase      TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX assessment_projects_updated ON assessment_projects (tenant_id, updated_at DESC, id DESC);

CREATE TABLE assessment_items (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL REFERENCES assessment_projects (id) ON DELETE CASCADE,
    item         TEXT NOT NULL,
    object       TEXT NOT NULL DEFAULT '',
    result       TEXT NOT NULL,
    high_risk    INTEGER NOT NULL DEFAULT 0,
    resolved     INTEGER NOT NULL DEFAULT 0,
    compensation TEXT NOT NULL DEFAULT '',
    adjustment   REAL NOT NULL DEFAULT 0,
    evidence     TEXT NOT NULL DEFAULT '',
    links        TEXT NOT NULL DEFAULT '[]',
    note         TEXT NOT NULL DEFAULT '',
    remediation  TEXT NOT NULL DEFAULT '',
    assessor     TEXT NOT NULL DEFAULT '',
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (project_id, item, object)
);

-- +goose Down
DROP TABLE assessment_items;
DROP TABLE assessment_projects;
