-- Asset discovery runs: what was scanned, when, and what it found.

-- +goose Up
CREATE TABLE discovery_runs (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    targets     TEXT COLLATE "C" NOT NULL,
    ports       TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    error       TEXT COLLATE "C" NOT NULL DEFAULT '',
    result      BYTEA NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX discovery_runs_tenant ON discovery_runs (tenant_id, created_at);

-- +goose Down
DROP TABLE discovery_runs;
