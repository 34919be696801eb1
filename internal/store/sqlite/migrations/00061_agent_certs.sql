-- Client certificates issued to host agents, by serial, with their
-- revocation: every node sharing the store refuses a revoked serial at
-- the TLS handshake of the agent listener.

-- +goose Up
CREATE TABLE agent_certs (
    serial     TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after  TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX agent_certs_agent ON agent_certs (tenant_id, agent_id, issued_at);

-- +goose Down
DROP TABLE agent_certs;
