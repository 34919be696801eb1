-- Notification channels of a tenant and the delivery log.

-- +goose Up
CREATE TABLE notify_channels (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    config     TEXT COLLATE "C" NOT NULL,
    secret_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    min_level  TEXT COLLATE "C" NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX notify_channels_tenant ON notify_channels (tenant_id, name);

CREATE TABLE notify_deliveries (
    id         TEXT COLLATE "C" PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel_id TEXT COLLATE "C" NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL DEFAULT '',
    attempt    INTEGER NOT NULL,
    status     TEXT COLLATE "C" NOT NULL,
    error      TEXT COLLATE "C" NOT NULL DEFAULT '',
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX notify_deliveries_tenant ON notify_deliveries (tenant_id, at);

-- +goose Down
DROP TABLE notify_deliveries;
DROP TABLE notify_channels;
