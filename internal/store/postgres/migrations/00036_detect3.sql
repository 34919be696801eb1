-- Detection: correlation snapshots are kept per ingest node (node_id), so
-- that nodes sharing a database no longer overwrite each other's windows.
-- Existing snapshots keep node_id '' and are taken over by a node that has
-- none of its own.

-- +goose Up
ALTER TABLE detection_correlation_state ADD COLUMN node_id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE detection_correlation_state DROP CONSTRAINT detection_correlation_state_pkey;
ALTER TABLE detection_correlation_state ADD PRIMARY KEY (tenant_id, node_id);

-- +goose Down
DELETE FROM detection_correlation_state a USING detection_correlation_state b
    WHERE a.tenant_id = b.tenant_id AND (a.saved_at, a.node_id) < (b.saved_at, b.node_id);
ALTER TABLE detection_correlation_state DROP CONSTRAINT detection_correlation_state_pkey;
ALTER TABLE detection_correlation_state DROP COLUMN node_id;
ALTER TABLE detection_correlation_state ADD PRIMARY KEY (tenant_id);
