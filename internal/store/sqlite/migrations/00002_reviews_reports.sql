-- Policy reviews (firewall rule-set analyses) and the report archive.

-- +goose Up
CREATE TABLE policy_reviews (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id      TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL,
    format        TEXT NOT NULL,
    family        INTEGER NOT NULL,
    config        BLOB NOT NULL,
    config_sha256 TEXT NOT NULL,
    result        BLOB NOT NULL,
    findings      INTEGER NOT NULL DEFAULT 0,
    rules         INTEGER NOT NULL DEFAULT 0,
    accepted_by   TEXT NOT NULL DEFAULT '',
    accepted_at   TEXT,
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
);
CREATE INDEX policy_reviews_tenant ON policy_reviews (tenant_id, created_at, id);

CREATE TABLE reports (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    service    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    source_id  TEXT NOT NULL DEFAULT '',
    title      TEXT NOT NULL,
    format     TEXT NOT NULL,
    lang       TEXT NOT NULL DEFAULT '',
    content    BLOB NOT NULL,
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX reports_tenant ON reports (tenant_id, created_at, id);

-- +goose Down
DROP TABLE reports;
DROP TABLE policy_reviews;
