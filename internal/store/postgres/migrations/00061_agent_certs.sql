-- Client certificates issued to host agents, by serial, with their
-- revocation: every node sharing the store refuses a revoked serial at
-- the TLS handshake of the agent listener.

-- +goose Up
CREATE TABLE agent_certs (
    serial     TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    agent_id   TEXT COLLATE "C" NOT NULL,
    not_before TIMESTAMPTZ NOT NULL,
    not_after  TIMESTAMPTZ NOT NULL,
    issued_at  TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX agent_certs_agent ON agent_certs (tenant_id, agent_id, issued_at);

-- +goose Down
DROP TABLE agent_certs;
