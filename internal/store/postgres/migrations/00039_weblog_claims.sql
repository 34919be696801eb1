-- Claims on the daily analysis of a web system's collected access logs,
-- so two nodes running the daily job at once analyse each system once. A
-- claim is a lease: a node that dies holding one frees it at expires_at.

-- +goose Up
CREATE TABLE weblog_claims (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id   TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, name)
);

-- +goose Down
DROP TABLE weblog_claims;
