-- Policy reviews (firewall rule-set analyses) and the report archive.

-- +goose Up
CREATE TABLE policy_reviews (
    id            TEXT COLLATE "C" PRIMARY KEY,
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    name          TEXT COLLATE "C" NOT NULL,
    format        TEXT COLLATE "C" NOT NULL,
    family        INTEGER NOT NULL,
    config        BYTEA NOT NULL,
    config_sha256 TEXT COLLATE "C" NOT NULL,
    result        BYTEA NOT NULL,
    findings      INTEGER NOT NULL DEFAULT 0,
    rules         INTEGER NOT NULL DEFAULT 0,
    accepted_by   TEXT COLLATE "C" NOT NULL DEFAULT '',
    accepted_at   TIMESTAMPTZ,
    created_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX policy_reviews_tenant ON policy_reviews (tenant_id, created_at, id);

CREATE TABLE reports (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    service    TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind       TEXT COLLATE "C" NOT NULL,
    source_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    title      TEXT COLLATE "C" NOT NULL,
    format     TEXT COLLATE "C" NOT NULL,
    lang       TEXT COLLATE "C" NOT NULL DEFAULT '',
    content    BYTEA NOT NULL,
    sha256     TEXT COLLATE "C" NOT NULL,
    size       BIGINT NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX reports_tenant ON reports (tenant_id, created_at, id);

-- +goose Down
DROP TABLE reports;
DROP TABLE policy_reviews;
