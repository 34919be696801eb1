-- Notification channels of a tenant and the delivery log.

-- +goose Up
CREATE TABLE notify_channels (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    config     TEXT NOT NULL,
    secret_id  TEXT NOT NULL DEFAULT '',
    min_level  TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE INDEX notify_channels_tenant ON notify_channels (tenant_id, name);

CREATE TABLE notify_deliveries (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    attempt    INTEGER NOT NULL,
    status     TEXT NOT NULL,
    error      TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL
);
CREATE INDEX notify_deliveries_tenant ON notify_deliveries (tenant_id, at);

-- +goose Down
DROP TABLE notify_deliveries;
DROP TABLE notify_channels;
