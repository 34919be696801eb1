-- Asset discovery runs: what was scanned, when, and what it found.

-- +goose Up
CREATE TABLE discovery_runs (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    targets     TEXT NOT NULL,
    ports       TEXT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    result      BLOB NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX discovery_runs_tenant ON discovery_runs (tenant_id, created_at);

-- +goose Down
DROP TABLE discovery_runs;
