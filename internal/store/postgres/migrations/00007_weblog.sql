-- Application compromise detection: analyses of a system's access logs,
-- the analysts' marks on their hits, and the system's exclusions.

-- +goose Up
CREATE TABLE weblog_runs (
    id           TEXT COLLATE "C" PRIMARY KEY,
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id     TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    result       BYTEA NOT NULL,
    hits         INTEGER NOT NULL DEFAULT 0,
    verdict      TEXT COLLATE "C" NOT NULL DEFAULT '',
    verdict_note TEXT COLLATE "C" NOT NULL DEFAULT '',
    verdict_by   TEXT COLLATE "C" NOT NULL DEFAULT '',
    verdict_at   TIMESTAMPTZ,
    created_by   TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX weblog_runs_tenant ON weblog_runs (tenant_id, created_at);

CREATE TABLE weblog_marks (
    run_id     TEXT COLLATE "C" NOT NULL REFERENCES weblog_runs (id) ON DELETE CASCADE,
    hit        INTEGER NOT NULL,
    mark       TEXT COLLATE "C" NOT NULL,
    note       TEXT COLLATE "C" NOT NULL DEFAULT '',
    marked_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    marked_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, hit)
);

CREATE TABLE weblog_exclusions (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT COLLATE "C" NOT NULL,
    rule        TEXT COLLATE "C" NOT NULL,
    path_prefix TEXT COLLATE "C" NOT NULL DEFAULT '',
    reason      TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX weblog_exclusions_asset ON weblog_exclusions (tenant_id, asset_id);

-- +goose Down
DROP TABLE weblog_exclusions;
DROP TABLE weblog_marks;
DROP TABLE weblog_runs;
