-- Host agents: enrolment tokens, enrolled agents (credential kept as a
-- SHA-256) and the configuration pushed to them.

-- +goose Up
CREATE TABLE agent_enrolments (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX agent_enrolments_tenant ON agent_enrolments (tenant_id, created_at);

CREATE TABLE agents (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    hostname      TEXT NOT NULL DEFAULT '',
    version       TEXT NOT NULL DEFAULT '',
    token_hash    TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL DEFAULT 'active',
    enrolment_id  TEXT NOT NULL DEFAULT '',
    enrolled_at   TEXT NOT NULL,
    last_seen_at  TEXT,
    revoked_at    TEXT,
    config_etag   TEXT NOT NULL DEFAULT '',
    spool_pending INTEGER NOT NULL DEFAULT 0,
    spool_dropped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE agent_configs (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, agent_id)
);

-- +goose Down
DROP TABLE agent_configs;
DROP TABLE agents;
DROP TABLE agent_enrolments;
