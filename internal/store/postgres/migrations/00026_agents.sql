-- Host agents: enrolment tokens, enrolled agents (credential kept as a
-- SHA-256) and the configuration pushed to them.

-- +goose Up
CREATE TABLE agent_enrolments (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL DEFAULT '',
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE,
    created_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX agent_enrolments_tenant ON agent_enrolments (tenant_id, created_at);

CREATE TABLE agents (
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            TEXT COLLATE "C" NOT NULL,
    hostname      TEXT COLLATE "C" NOT NULL DEFAULT '',
    version       TEXT COLLATE "C" NOT NULL DEFAULT '',
    token_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    status        TEXT COLLATE "C" NOT NULL DEFAULT 'active',
    enrolment_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    enrolled_at   TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    config_etag   TEXT COLLATE "C" NOT NULL DEFAULT '',
    spool_pending BIGINT NOT NULL DEFAULT 0,
    spool_dropped BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE agent_configs (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    agent_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    body       TEXT COLLATE "C" NOT NULL,
    version    BIGINT NOT NULL,
    updated_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, agent_id)
);

-- +goose Down
DROP TABLE agent_configs;
DROP TABLE agents;
DROP TABLE agent_enrolments;
