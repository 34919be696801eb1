-- Detection: correlation snapshots are kept per ingest node (node_id), so
-- that nodes sharing a database no longer overwrite each other's windows.
-- Existing snapshots keep node_id '' and are taken over by a node that has
-- none of its own.

-- +goose Up
CREATE TABLE detection_correlation_state_new (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    node_id   TEXT NOT NULL DEFAULT '',
    state     TEXT NOT NULL, -- the engine's snapshot as JSON
    saved_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, node_id)
);
INSERT INTO detection_correlation_state_new (tenant_id, node_id, state, saved_at)
    SELECT tenant_id, '', state, saved_at FROM detection_correlation_state;
DROP TABLE detection_correlation_state;
ALTER TABLE detection_correlation_state_new RENAME TO detection_correlation_state;

-- +goose Down
CREATE TABLE detection_correlation_state_old (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    state     TEXT NOT NULL,
    saved_at  TEXT NOT NULL
);
INSERT INTO detection_correlation_state_old (tenant_id, state, saved_at)
    SELECT tenant_id, state, MAX(saved_at) FROM detection_correlation_state GROUP BY tenant_id;
DROP TABLE detection_correlation_state;
ALTER TABLE detection_correlation_state_old RENAME TO detection_correlation_state;
