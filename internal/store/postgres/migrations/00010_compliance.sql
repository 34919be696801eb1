-- MLPS 2.0 assessment projects of a tenant and the result of each
-- requirement item on each assessed object.

-- +goose Up
CREATE TABLE assessment_projects (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    system     TEXT COLLATE "C" NOT NULL,
    level      INTEGER NOT NULL,
    framework  TEXT COLLATE "C" NOT NULL,
    agency     TEXT COLLATE "C" NOT NULL DEFAULT '',
    phase      TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX assessment_projects_updated ON assessment_projects (tenant_id, updated_at DESC, id DESC);

CREATE TABLE assessment_items (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    project_id   TEXT COLLATE "C" NOT NULL REFERENCES assessment_projects (id) ON DELETE CASCADE,
    item         TEXT COLLATE "C" NOT NULL,
    object       TEXT COLLATE "C" NOT NULL DEFAULT '',
    result       TEXT COLLATE "C" NOT NULL,
    high_risk    BOOLEAN NOT NULL DEFAULT FALSE,
    resolved     BOOLEAN NOT NULL DEFAULT FALSE,
    compensation TEXT COLLATE "C" NOT NULL DEFAULT '',
    adjustment   DOUBLE PRECISION NOT NULL DEFAULT 0,
    evidence     TEXT COLLATE "C" NOT NULL DEFAULT '',
    links        JSONB NOT NULL DEFAULT '[]',
    note         TEXT COLLATE "C" NOT NULL DEFAULT '',
    remediation  TEXT COLLATE "C" NOT NULL DEFAULT '',
    assessor     TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, item, object)
);

-- +goose Down
DROP TABLE assessment_items;
DROP TABLE assessment_projects;
