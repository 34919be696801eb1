-- Application compromise detection: analyses of a system's access logs,
-- the analysts' marks on their hits, and the system's exclusions.

-- +goose Up
CREATE TABLE weblog_runs (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id     TEXT NOT NULL,
    name         TEXT NOT NULL,
    result       BLOB NOT NULL,
    hits         INTEGER NOT NULL DEFAULT 0,
    verdict      TEXT NOT NULL DEFAULT '',
    verdict_note TEXT NOT NULL DEFAULT '',
    verdict_by   TEXT NOT NULL DEFAULT '',
    verdict_at   TEXT,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE INDEX weblog_runs_tenant ON weblog_runs (tenant_id, created_at);

CREATE TABLE weblog_marks (
    run_id     TEXT NOT NULL REFERENCES weblog_runs (id) ON DELETE CASCADE,
    hit        INTEGER NOT NULL,
    mark       TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    marked_by  TEXT NOT NULL DEFAULT '',
    marked_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, hit)
);

CREATE TABLE weblog_exclusions (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    TEXT NOT NULL,
    rule        TEXT NOT NULL,
    path_prefix TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE INDEX weblog_exclusions_asset ON weblog_exclusions (tenant_id, asset_id);

-- +goose Down
DROP TABLE weblog_exclusions;
DROP TABLE weblog_marks;
DROP TABLE weblog_runs;
